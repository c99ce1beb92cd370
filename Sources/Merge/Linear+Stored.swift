import CMergeKernels
import Numerics
import Store

/// Linear straight from the stored bytes to the output dtype: one pass per block that widens
/// each input's 8 lanes in registers, runs `fusedWeightedSum`'s chain, checks finiteness and
/// rounds, instead of widening every input into a Float32 buffer, merging into another,
/// checking it and rounding it in four passes over memory. The bits are `fusedWeightedSum`'s
/// followed by `DType.narrow`'s: the same operations in the same order, lane by lane.
extension Linear {
    /// out = round(fma(xₙ, wₙ, … fma(x₁, w₁, x₀·w₀)) / divisor) for `count` elements of each
    /// input as stored, written as `output`'s little-endian elements at `out`, on the calling
    /// thread (callers split a tensor into pieces across threads).
    ///
    /// On a CPU with FMA (and AVX2), F32 and BF16 run `mf_linear_fma`, whose fused
    /// multiply-add instruction rounds each step once, as torch's addcmul does; the Swift
    /// loop below (`portable`, and every other CPU and dtype) computes the same rounding
    /// exactly in Double (`Linear.fusedStep`). `StoredKernelPathTests` holds both to a
    /// scalar `fma` chain.
    /// - Returns: whether every result was finite before rounding (a NaN or infinity is an
    ///   error the caller explains; what was written for it is then meaningless).
    static func fusedWeightedSum(stored xs: [StoredElements], count: Int, weights: [Float], divisor: Float?,
                                 output: DType, into out: UnsafeMutableRawPointer, portable: Bool = false) -> Bool {
        precondition(!xs.isEmpty && xs.count == weights.count, "linear: length mismatch")
        let w = weights.map { Double($0) }
        // Dividing by a power of two and multiplying by its (exact) reciprocal round the same
        // real number, so they give the same bits, subnormals included; the division is the
        // slowest instruction of the loop and weights that sum to 1 are the common case.
        let exact = divisor.map { $0.isNormal && $0.significandBitPattern == 0 && (1 / $0).isNormal } ?? false
        let scale: Float? = exact ? 1 / divisor! : nil, quotient: Float? = exact ? nil : divisor
        // Every input has one dtype (a source gives stored bytes only when no compute dtype
        // converts them, and the merge falls back when they differ).
        precondition(xs.allSatisfy { $0.dtype == xs[0].dtype }, "linear: stored inputs of different dtypes")
        if !portable, let finite = fusedWeightedSumInC(xs.map(\.start), count: count, weights: weights, divisor: quotient, scale: scale,
                                                       input: xs[0].dtype, output: output, into: out) {
            return finite
        }
        return FusedWeightedSum(xs: xs.map(\.start), count: count, weights: weights, w: w, scale: scale, divisor: quotient, out: out)
            .run(input: xs[0].dtype, output: output)
    }

    /// `mf_linear_fma` over `count` elements at each of `starts` (`input`'s elements), written
    /// as `output`'s at `out`; at most one of `divisor` and `scale` is given. Nil when this CPU
    /// or dtype pair has no C loop (the caller runs its Swift loop), else whether every
    /// result was finite before rounding.
    static func fusedWeightedSumInC(_ starts: [UnsafeRawPointer], count: Int, weights: [Float], divisor: Float?, scale: Float?,
                                    input: DType, output: DType, into out: UnsafeMutableRawPointer) -> Bool? {
        guard mergeKernelsAvailable, let inputCode = input.kernelCode, let outputCode = output.kernelCode else { return nil }
        var finite: Int32 = 0
        let ran = starts.map(Optional.some).withUnsafeBufferPointer { s in
            weights.withUnsafeBufferPointer { w in
                mf_linear_fma(s.baseAddress, Int32(starts.count), count, w.baseAddress, divisor != nil ? 1 : 0, divisor ?? 1,
                              scale != nil ? 1 : 0, scale ?? 1, inputCode, outputCode, out, &finite)
            }
        }
        return ran == 1 ? finite == 1 : nil
    }
}

/// The loop of `Linear.fusedWeightedSum(stored:…)`.
private struct FusedWeightedSum: StoredKernel {
    let xs: [UnsafeRawPointer]
    let count: Int
    /// The weights as Float32 and as Double.
    let weights: [Float], w: [Double]
    let scale: Float?, divisor: Float?
    let out: UnsafeMutableRawPointer

    func run<In: StoredLanes, Out: StoredLanes>(_: In.Type, _: Out.Type) -> Bool {
        // |x|'s bits + 2²³ set the sign bit exactly when x is NaN or infinite.
        var lanes = SIMD8<Int32>(), tail = false
        var i = 0
        xs.withUnsafeBufferPointer { xs in
            w.withUnsafeBufferPointer { w in
                let x0 = xs[0], w0 = weights[0]
                // A product of a nonzero x₀ and w₀ that rounds to zero keeps its sign.
                let signOfUnderflow: UInt32 = w0 != 0 ? 0x8000_0000 : 0
                while i + 8 <= count {
                    // The first step, fma(x₀, w₀, +0), is Float's own multiply (one rounding of
                    // the exact product) + 0, which turns −0 into +0 as torch's addcmul into
                    // zeros does, except where a nonzero product rounded to −0: fma keeps that.
                    let x = In.load8(x0, i), product = x * w0
                    let xBits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
                    let nonzero = SIMD8<UInt32>(truncatingIfNeeded: SIMD8<Int32>(truncatingIfNeeded: 0 &- (xBits & 0x7FFF_FFFF)) &>> 31)
                    let underflowSign = unsafeBitCast(product, to: SIMD8<UInt32>.self) & nonzero & signOfUnderflow
                    var acc = unsafeBitCast(unsafeBitCast(product + 0, to: SIMD8<UInt32>.self) | underflowSign, to: SIMD8<Float>.self)
                    for k in 1..<w.count { acc = Linear.fusedStep(acc, In.load8(xs[k], i), w[k]) }
                    if let divisor { acc /= divisor }
                    if let scale { acc *= scale }
                    let bits = unsafeBitCast(acc, to: SIMD8<UInt32>.self)
                    lanes |= SIMD8<Int32>(truncatingIfNeeded: bits & 0x7FFF_FFFF) &+ 0x0080_0000
                    Out.store8(bits, out, i)
                    i += 8
                }
                while i < count {
                    var acc = Float(Double(In.load1(x0, i)) * w[0] + 0)
                    for k in 1..<w.count { acc = Linear.fusedStep(acc, In.load1(xs[k], i), w[k]) }
                    if let divisor { acc /= divisor }
                    if let scale { acc *= scale }
                    if !acc.isFinite { tail = true }
                    Out.store1(acc, out, i)
                    i += 1
                }
            }
        }
        return lanes & Int32.min == SIMD8<Int32>() && !tail
    }
}

