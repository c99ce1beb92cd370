import CMergeKernels
import Numerics
import Store

/// SLERP's two passes straight from the stored bytes (see `Linear+Stored.swift`).
///
/// The statistics pass sums exactly as `Kernels.dotAndSquares` does over widened blocks:
/// the same partial sums per `Kernels.reductionBlock` elements, in the same lanes, added in
/// the same order by the caller. Both branches of `Slerp.combine` are w₀·v₀ + w₁·v₁ in
/// Float32 (`Kernels.lerp` with w₀ = 1 − t, `Kernels.weightedSum` with the SLERP weights),
/// computed here in the same order, so the bits are `combine`'s followed by `DType.narrow`'s.
extension Slerp {
    /// Σ v0·v1, Σ v0², Σ v1² of each `Kernels.reductionBlock` elements of `range` (which
    /// starts on a multiple of it; `v0`, `v1` hold its elements), written as (xy, xx, yy) triples at `partials` + 3 × the
    /// global block index, on the calling thread; summing them as `Kernels.dotAndSquares`
    /// sums its blocks gives its bits.
    /// F32 and BF16 blocks run `mf_dot_and_squares` on a CPU with AVX2 (the same sums in
    /// the same order, 4 Double lanes per instruction); `portable` forces the Swift loop.
    static func partialDotAndSquares(stored v0: StoredElements, _ v1: StoredElements, range: Range<Int>,
                                     into partials: UnsafeMutablePointer<Double>, portable: Bool = false) {
        precondition(v0.dtype == v1.dtype && range.lowerBound % Kernels.reductionBlock == 0, "slerp: stored blocks")
        if !portable, mergeKernelsAvailable, let input = v0.dtype.kernelCode {
            let size = v0.dtype.size
            for start in stride(from: range.lowerBound, to: range.upperBound, by: Kernels.reductionBlock) {
                let end = min(range.upperBound, start + Kernels.reductionBlock), offset = (start - range.lowerBound) * size
                _ = mf_dot_and_squares(v0.start + offset, v1.start + offset, end - start, input,
                                       partials + 3 * (start / Kernels.reductionBlock))
            }
            return
        }
        let kernel = PartialDotAndSquares(v0: v0.start, v1: v1.start, range: range, partials: partials)
        _ = kernel.run(input: v0.dtype, output: .f32)
    }

    /// `combine(v0, v1, c, t:)` for `count` stored elements of each, rounded to `output` at
    /// `out`, on the calling thread.
    /// - Returns: whether every result was finite before rounding.
    /// F32 and BF16 run `mf_pair_sum` on a CPU with AVX2 (the same operations, 8 lanes at a
    /// time); `portable` forces the Swift loop.
    static func combine(stored v0: StoredElements, _ v1: StoredElements, _ c: (lerp: Bool, s0: Double, s1: Double), t: Double,
                        count: Int, output: DType, into out: UnsafeMutableRawPointer, portable: Bool = false) -> Bool {
        precondition(v0.dtype == v1.dtype, "slerp: stored inputs of different dtypes")
        let (w0, w1): (Float, Float) = c.lerp ? (1 - Float(t), Float(t)) : (Float(c.s0), Float(c.s1))
        if !portable, mergeKernelsAvailable, let input = v0.dtype.kernelCode, let outCode = output.kernelCode {
            var finite: Int32 = 0
            if mf_pair_sum(v0.start, v1.start, count, w0, w1, input, outCode, out, &finite) == 1 { return finite == 1 }
        }
        return PairSum(v0: v0.start, v1: v1.start, w0: w0, w1: w1, count: count, out: out).run(input: v0.dtype, output: output)
    }
}

/// out = w₀·v₀ + w₁·v₁, each product and the sum rounded to Float32.
private struct PairSum: StoredKernel {
    let v0: UnsafeRawPointer, v1: UnsafeRawPointer
    let w0: Float, w1: Float
    let count: Int
    let out: UnsafeMutableRawPointer

    func run<In: StoredLanes, Out: StoredLanes>(_: In.Type, _: Out.Type) -> Bool {
        // |x|'s bits + 2²³ set the sign bit exactly when x is NaN or infinite.
        var lanes = SIMD8<Int32>(), tail = false
        var i = 0
        while i + 8 <= count {
            let sum = w0 * In.load8(v0, i) + w1 * In.load8(v1, i)
            let bits = unsafeBitCast(sum, to: SIMD8<UInt32>.self)
            lanes |= SIMD8<Int32>(truncatingIfNeeded: bits & 0x7FFF_FFFF) &+ 0x0080_0000
            Out.store8(bits, out, i)
            i += 8
        }
        while i < count {
            let sum = w0 * In.load1(v0, i) + w1 * In.load1(v1, i)
            if !sum.isFinite { tail = true }
            Out.store1(sum, out, i)
            i += 1
        }
        return lanes & Int32.min == SIMD8<Int32>() && !tail
    }
}

/// The loop of `Slerp.partialDotAndSquares`: `Kernels.dotAndSquaresBlock` over stored lanes.
private struct PartialDotAndSquares: StoredKernel {
    /// `v0`, `v1` hold elements `range` of the tensor.
    let v0: UnsafeRawPointer, v1: UnsafeRawPointer
    let range: Range<Int>
    let partials: UnsafeMutablePointer<Double>

    func run<In: StoredLanes, Out: StoredLanes>(_: In.Type, _: Out.Type) -> Bool {
        for start in stride(from: range.lowerBound, to: range.upperBound, by: Kernels.reductionBlock) {
            let end = min(range.upperBound, start + Kernels.reductionBlock), b = start / Kernels.reductionBlock
            let lo = range.lowerBound
            let s = Kernels.dotAndSquaresBlock(start..<end, load8: { i in (In.load8(v0, i - lo), In.load8(v1, i - lo)) },
                                               load1: { i in (In.load1(v0, i - lo), In.load1(v1, i - lo)) })
            partials[3 * b] = s.xy; partials[3 * b + 1] = s.xx; partials[3 * b + 2] = s.yy
        }
        return true
    }
}
