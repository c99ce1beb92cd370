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

    /// out[i] = (Σₖ weights[k] · xs[k][i]) · scale, in one pass over every input (the sum
    /// runs in k order from weights[0] · xs[0][i], so it rounds as a chain of axpys would).
    public static func weightedSum(_ xs: [UnsafeBufferPointer<Float>], weights: [Float], scale: Float? = nil,
                                   into out: UnsafeMutableBufferPointer<Float>) {
        precondition(!xs.isEmpty && xs.count == weights.count && xs.allSatisfy { $0.count == out.count }, "weightedSum: length mismatch")
        let inputs = SharedFloatLists(xs), o = SharedFloats(out), w = weights
        Parallel.forEachRange(out.count) { r in
            let c = UnsafeMutableRawPointer(o.base)
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                var acc = w[0] * UnsafeRawPointer(inputs.bases[0]).loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                for k in 1..<w.count {
                    acc += w[k] * UnsafeRawPointer(inputs.bases[k]).loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                }
                if let scale { acc *= scale }
                c.storeBytes(of: acc, toByteOffset: 4 * i, as: SIMD8<Float>.self)
                i += 8
            }
            while i < r.upperBound {
                var acc = w[0] * inputs.bases[0][i]
                for k in 1..<w.count { acc += w[k] * inputs.bases[k][i] }
                if let scale { acc *= scale }
                o.base[i] = acc
                i += 1
            }
        }
    }

    /// Whether every element is finite (no NaN, no ±infinity).
    public static func allFinite(_ x: UnsafeBufferPointer<Float>) -> Bool {
        // x − x is 0 for finite x and NaN otherwise; summing those in Double keeps the NaN.
        reduce(x.count) { [xs = SharedFloats(x)] r in sumBlock(xs.base, r) { $0 - $0 } }.isFinite
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

    /// One block of `dotAndSquares`: (Σ x·y, Σ x², Σ y²) over `range`, reading eight lanes of
    /// x and of y at an index with `load8` and one of each with `load1`. Callers that read
    /// other storage (`Slerp`'s pass over stored bf16 bytes) sum through this too, so they get
    /// `dotAndSquares`' bits by construction.
    @inlinable @inline(__always)
    public static func dotAndSquaresBlock(_ range: Range<Int>, load8: (Int) -> (SIMD8<Float>, SIMD8<Float>),
                                          load1: (Int) -> (Float, Float)) -> (xy: Double, xx: Double, yy: Double) {
        var xy0 = SIMD4<Double>(), xy1 = SIMD4<Double>(), xx0 = SIMD4<Double>(), xx1 = SIMD4<Double>()
        var yy0 = SIMD4<Double>(), yy1 = SIMD4<Double>()
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let (u, v) = load8(i)
            let ul = SIMD4<Double>(u.lowHalf), uh = SIMD4<Double>(u.highHalf)
            let vl = SIMD4<Double>(v.lowHalf), vh = SIMD4<Double>(v.highHalf)
            xy0 += ul * vl; xy1 += uh * vh
            xx0 += ul * ul; xx1 += uh * uh
            yy0 += vl * vl; yy1 += vh * vh
            i += 8
        }
        var xy = (xy0 + xy1).sum(), xx = (xx0 + xx1).sum(), yy = (yy0 + yy1).sum()
        while i < range.upperBound {
            let (x, y) = load1(i)
            let u = Double(x), v = Double(y)
            xy += u * v; xx += u * u; yy += v * v
            i += 1
        }
        return (xy, xx, yy)
    }

    /// (Σ x·y, Σ x², Σ y²) in one pass, each accumulated as `dot` does (same bits).
    public static func dotAndSquares(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>) -> (xy: Double, xx: Double, yy: Double) {
        precondition(x.count == y.count, "dotAndSquares: length mismatch")
        let blocks = blockCount(x.count)
        var partial = [Double](repeating: 0, count: 3 * blocks)
        partial.withUnsafeMutableBufferPointer { p in
            let ps = SharedPointer(p.baseAddress!), xs = SharedFloats(x), ys = SharedFloats(y)
            let body: @Sendable (Int) -> Void = { b in
                let a = UnsafeRawPointer(xs.base), c = UnsafeRawPointer(ys.base)
                let s = dotAndSquaresBlock(blockRange(b, xs.count),
                                           load8: { i in (a.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self),
                                                          c.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)) },
                                           load1: { i in (xs.base[i], ys.base[i]) })
                ps.base[3 * b] = s.xy; ps.base[3 * b + 1] = s.xx; ps.base[3 * b + 2] = s.yy
            }
            if x.count < Parallel.minimumParallelCount { for b in 0..<blocks { body(b) } } else { Parallel.forEach(blocks, body) }
        }
        var xy = 0.0, xx = 0.0, yy = 0.0
        for b in 0..<blocks { xy += partial[3 * b]; xx += partial[3 * b + 1]; yy += partial[3 * b + 2] }
        return (xy, xx, yy)
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
            let ps = SharedPointer(p.baseAddress!)
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

/// Several read-only inputs' base addresses, for kernels that combine a variable number of
/// buffers inside `concurrentPerform` workers.
struct SharedFloatLists: @unchecked Sendable {
    let bases: [UnsafePointer<Float>]
    init(_ buffers: [UnsafeBufferPointer<Float>]) {
        bases = buffers.map { $0.baseAddress ?? UnsafePointer(bitPattern: 16)! }
    }
}

