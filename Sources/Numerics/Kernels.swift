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
        binary(x, y, out) { $0 + $1 }
    }

    /// out[i] = x[i] − y[i]. `out` may alias either input.
    public static func subtract(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        binary(x, y, out) { $0 - $1 }
    }

    /// out[i] = x[i] · y[i]. `out` may alias either input.
    public static func multiply(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        binary(x, y, out) { $0 * $1 }
    }

    /// out[i] = (1 − t) · x[i] + t · y[i]. `out` may alias either input.
    public static func lerp(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, t: Float, into out: UnsafeMutableBufferPointer<Float>) {
        let s = 1 - t
        binary(x, y, out) { s * $0 + t * $1 }
    }

    @inline(__always)
    static func binary(
        _ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, _ out: UnsafeMutableBufferPointer<Float>,
        _ op: @escaping @Sendable (Float, Float) -> Float
    ) {
        precondition(x.count == y.count && x.count == out.count, "elementwise: length mismatch")
        let xs = SharedFloats(x), ys = SharedFloats(y), o = SharedFloats(out)
        Parallel.forEachRange(x.count) { r in
            for i in r { o.base[i] = op(xs.base[i], ys.base[i]) }
        }
    }

    // MARK: Reductions

    /// Σ x[i], accumulated in Double.
    public static func sum(_ x: UnsafeBufferPointer<Float>) -> Double {
        reduce(x.count) { [xs = SharedFloats(x)] r in
            var acc = 0.0
            for i in r { acc += Double(xs.base[i]) }
            return acc
        }
    }

    /// Σ x[i]·y[i], accumulated in Double.
    public static func dot(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>) -> Double {
        precondition(x.count == y.count, "dot: length mismatch")
        return reduce(x.count) { [xs = SharedFloats(x), ys = SharedFloats(y)] r in
            var acc = 0.0
            for i in r { acc += Double(xs.base[i]) * Double(ys.base[i]) }
            return acc
        }
    }

    /// Σ |x[i]|, accumulated in Double.
    public static func sumOfMagnitudes(_ x: UnsafeBufferPointer<Float>) -> Double {
        reduce(x.count) { [xs = SharedFloats(x)] r in
            var acc = 0.0
            for i in r { acc += Double(abs(xs.base[i])) }
            return acc
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
