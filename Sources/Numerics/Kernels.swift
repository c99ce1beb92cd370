/// Elementwise and reduction kernels over contiguous Float buffers, split across the
/// thread budget for large buffers.
///
/// Reductions are deterministic whatever the thread count: the buffer is cut into fixed
/// blocks of `reductionBlock` elements, each block is summed in Double in index order, and
/// the block sums are added in block order. The same input therefore gives the same bits
/// on 1 or 64 threads.
public enum Kernels {
    /// Elements per reduction block (fixed, so results do not depend on the thread count).
    public static let reductionBlock = 1 << 14

    // MARK: Elementwise

    /// out[i] = value.
    public static func fill(_ out: UnsafeMutableBufferPointer<Float>, with value: Float) {
        let o = SharedFloats(out)
        Parallel.forEachRange(out.count) { r in
            (o.base + r.lowerBound).update(repeating: value, count: r.count)
        }
    }

    /// out[i] = x[i] · alpha. `out` may alias `x`.
    public static func scale(_ x: UnsafeBufferPointer<Float>, by alpha: Float, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == out.count, "scale: length mismatch")
        let xs = SharedFloats(x), o = SharedFloats(out)
        Parallel.forEachRange(x.count) { r in
            for i in r { o.base[i] = xs.base[i] * alpha }
        }
    }

    /// y[i] += alpha · x[i].
    public static func axpy(_ alpha: Float, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count, "axpy: length mismatch")
        let xs = SharedFloats(x), ys = SharedFloats(y)
        Parallel.forEachRange(x.count) { r in
            for i in r { ys.base[i] += alpha * xs.base[i] }
        }
    }

    /// out[i] = x[i] + y[i]. `out` may alias either input.
    public static func add(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        binary(.add, x, y, out, t: 0)
    }

    /// out[i] = x[i] − y[i]. `out` may alias either input.
    public static func subtract(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        binary(.subtract, x, y, out, t: 0)
    }

    /// out[i] = x[i] · y[i]. `out` may alias either input.
    public static func multiply(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        binary(.multiply, x, y, out, t: 0)
    }

    /// out[i] = (1 − t) · x[i] + t · y[i]. `out` may alias either input.
    public static func lerp(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, t: Float, into out: UnsafeMutableBufferPointer<Float>) {
        binary(.lerp, x, y, out, t: t)
    }

    enum BinaryOp { case add, subtract, multiply, lerp }

    /// One loop per operation, 8 lanes at a time: a closure per element would not vectorise.
    static func binary(_ op: BinaryOp, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>,
                       _ out: UnsafeMutableBufferPointer<Float>, t: Float) {
        precondition(x.count == y.count && x.count == out.count, "elementwise: length mismatch")
        let xs = SharedFloats(x), ys = SharedFloats(y), o = SharedFloats(out)
        Parallel.forEachRange(x.count) { r in
            let a = UnsafeRawPointer(xs.base), b = UnsafeRawPointer(ys.base), c = UnsafeMutableRawPointer(o.base)
            var i = r.lowerBound
            let s = 1 - t
            switch op {
            case .add:
                while i + 8 <= r.upperBound {
                    c.storeBytes(of: a.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) + b.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), toByteOffset: 4 * i, as: SIMD8<Float>.self)
                    i += 8
                }
                while i < r.upperBound { o.base[i] = xs.base[i] + ys.base[i]; i += 1 }
            case .subtract:
                while i + 8 <= r.upperBound {
                    c.storeBytes(of: a.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) - b.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), toByteOffset: 4 * i, as: SIMD8<Float>.self)
                    i += 8
                }
                while i < r.upperBound { o.base[i] = xs.base[i] - ys.base[i]; i += 1 }
            case .multiply:
                while i + 8 <= r.upperBound {
                    c.storeBytes(of: a.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * b.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), toByteOffset: 4 * i, as: SIMD8<Float>.self)
                    i += 8
                }
                while i < r.upperBound { o.base[i] = xs.base[i] * ys.base[i]; i += 1 }
            case .lerp:
                while i + 8 <= r.upperBound {
                    let v = s * a.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) + t * b.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                    c.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD8<Float>.self)
                    i += 8
                }
                while i < r.upperBound { o.base[i] = s * xs.base[i] + t * ys.base[i]; i += 1 }
            }
        }
    }

    // MARK: Reductions

    /// Σ x[i], accumulated in Double.
    public static func sum(_ x: UnsafeBufferPointer<Float>) -> Double {
        reduce(x.count) { [xs = SharedFloats(x)] r in
            sumBlock(xs.base, r) { $0 }
        }
    }

    /// Σ x[i]·y[i], accumulated in Double.
    public static func dot(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>) -> Double {
        precondition(x.count == y.count, "dot: length mismatch")
        return reduce(x.count) { [xs = SharedFloats(x), ys = SharedFloats(y)] r in
            var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
            let a = UnsafeRawPointer(xs.base), b = UnsafeRawPointer(ys.base)
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let u = a.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                let v = b.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                a0 += SIMD4<Double>(u.lowHalf) * SIMD4<Double>(v.lowHalf)
                a1 += SIMD4<Double>(u.highHalf) * SIMD4<Double>(v.highHalf)
                i += 8
            }
            var acc = (a0 + a1).sum()
            while i < r.upperBound { acc += Double(xs.base[i]) * Double(ys.base[i]); i += 1 }
            return acc
        }
    }

    /// Σ |x[i]|, accumulated in Double.
    public static func sumOfMagnitudes(_ x: UnsafeBufferPointer<Float>) -> Double {
        reduce(x.count) { [xs = SharedFloats(x)] r in
            sumBlock(xs.base, r) { $0.replacing(with: -$0, where: $0 .< 0) }
        }
    }

    /// √(Σ x[i]²).
    public static func norm(_ x: UnsafeBufferPointer<Float>) -> Double {
        dot(x, x).squareRoot()
    }

    /// max |x[i]| (0 for an empty buffer; NaN propagates as NaN).
    public static func maxMagnitude(_ x: UnsafeBufferPointer<Float>) -> Float {
        let xs = SharedFloats(x)
        let blocks = blockCount(x.count)
        var partial = [Float](repeating: 0, count: blocks)
        partial.withUnsafeMutableBufferPointer { p in
            let ps = SharedFloats(p)
            Parallel.forEach(blocks) { b in
                var m: Float = 0
                for i in blockRange(b, xs.count) {
                    let v = abs(xs.base[i])
                    if v > m || v.isNaN { m = v }
                }
                ps.base[b] = m
            }
        }
        return partial.reduce(0) { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }
    }

    /// Σ f(x[i]) over one block, 8 lanes at a time in Double (lane order is fixed, so the
    /// result is deterministic).
    @inline(__always)
    static func sumBlock(_ base: UnsafeMutablePointer<Float>, _ r: Range<Int>, _ f: (SIMD8<Float>) -> SIMD8<Float>) -> Double {
        var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
        let a = UnsafeRawPointer(base)
        var i = r.lowerBound
        while i + 8 <= r.upperBound {
            let v = f(a.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            a0 += SIMD4<Double>(v.lowHalf)
            a1 += SIMD4<Double>(v.highHalf)
            i += 8
        }
        var acc = (a0 + a1).sum()
        while i < r.upperBound {
            var v = SIMD8<Float>()
            v[0] = base[i]
            acc += Double(f(v)[0])
            i += 1
        }
        return acc
    }

    /// Sums `blockSum` over fixed blocks in block order, computing blocks in parallel.
    static func reduce(_ count: Int, _ blockSum: @escaping @Sendable (Range<Int>) -> Double) -> Double {
        let blocks = blockCount(count)
        if blocks == 1 { return blockSum(0..<count) }
        var partial = [Double](repeating: 0, count: blocks)
        partial.withUnsafeMutableBufferPointer { p in
            let ps = SharedDoubles(base: p.baseAddress!)
            if count < Parallel.minimumParallelCount {
                for b in 0..<blocks { ps.base[b] = blockSum(blockRange(b, count)) }
            } else {
                Parallel.forEach(blocks) { b in ps.base[b] = blockSum(blockRange(b, count)) }
            }
        }
        var total = 0.0
        for v in partial { total += v }
        return total
    }

    @inline(__always) static func blockCount(_ count: Int) -> Int {
        max(1, (count + reductionBlock - 1) / reductionBlock)
    }

    @inline(__always) static func blockRange(_ b: Int, _ count: Int) -> Range<Int> {
        (b * reductionBlock)..<min(count, (b + 1) * reductionBlock)
    }
}

/// Per-block partial results written by disjoint workers.
struct SharedDoubles: @unchecked Sendable {
    let base: UnsafeMutablePointer<Double>
}
