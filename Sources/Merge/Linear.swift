import Numerics
import Store

extension MergeMethod {
    /// linear: Σ wᵢxᵢ / Σ wᵢ (`normalize`, default true). Weights summing to zero with
    /// `normalize` are an error (mergekit divides anyway and writes inf/NaN).
    ///
    /// Rounded as mergekit 0.1.5's float32 loop (`result.addcmul_(xᵢ, wᵢ)` for each model
    /// in order, then `result.div_(Σ wᵢ)`): torch's addcmul is a fused multiply-add, so each
    /// step rounds once (see `fusedWeightedSum`), and normalising divides by the float32
    /// sum of the float32 weights rather than multiplying by a reciprocal. Written in a
    /// half dtype, the result then has mergekit's bits.
    static let linear = MergeMethod(
        name: "linear", base: .none, modelCount: 1...Int.max,
        modelParameters: [("weight", nil)], parameters: [("normalize", 1)], isRandom: false
    ) { input, out in
        let (weights, divisor) = try Linear.coefficients(tensor: input.name, modelParams: Array(input.modelParams.prefix(input.models.count)),
                                                          params: input.params)
        Linear.fusedWeightedSum(input.models, weights: weights, divisor: divisor, into: out)
    }
}

enum Linear {
    /// The float32 weights and, with `normalize`, the float32 divisor mergekit uses.
    /// - Throws: `MergeError` when `normalize` is set and the weights sum to zero.
    static func coefficients(tensor: String, modelParams: [[String: Double]], params: [String: Double]) throws
        -> (weights: [Float], divisor: Float?) {
        let weights = modelParams.map { $0["weight"]! }
        let total = weights.reduce(0, +)
        var divisor: Float?
        if params["normalize"]! != 0 {
            guard abs(total) >= 1e-8 else {
                throw MergeError("\(tensor): the weights sum to \(total); with normalize they must not sum to zero")
            }
            divisor = weights.reduce(Float(0)) { $0 + Float($1) }
        }
        return (weights.map { Float($0) }, divisor)
    }

    /// out[i] = fma(xₙ[i], wₙ, … fma(x₁[i], w₁, x₀[i]·w₀)) / divisor, each fused step rounded
    /// once, as torch's addcmul (checked against torch 2.15 on 200,000 elements spread over
    /// the whole float range: every bit equal to libm's `fmaf` chain).
    ///
    /// On a CPU with FMA and AVX2 the C loop (`mf_linear_fma`) uses the instruction; elsewhere
    /// `fusedStep` computes it exactly in Double (Swift's `fma` without a `-target-cpu` flag
    /// is a software call, far slower).
    static func fusedWeightedSum(_ xs: [UnsafeBufferPointer<Float>], weights: [Float], divisor: Float?,
                                 into out: UnsafeMutableBufferPointer<Float>, portable: Bool = false) {
        precondition(!xs.isEmpty && xs.count == weights.count && xs.allSatisfy { $0.count == out.count }, "linear: length mismatch")
        let inputs = xs.map { SharedFloats($0) }, o = SharedFloats(out), w = weights.map { Double($0) }
        Parallel.forEachRange(out.count) { r in
            if !portable {
                let starts: [UnsafeRawPointer] = inputs.map { UnsafeRawPointer($0.base + r.lowerBound) }
                let out = UnsafeMutableRawPointer(o.base + r.lowerBound)
                if fusedWeightedSumInC(starts, count: r.count, weights: weights, divisor: divisor, scale: nil,
                                       input: .f32, output: .f32, into: out) != nil { return }
            }
            let c = UnsafeMutableRawPointer(o.base)
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let x0 = UnsafeRawPointer(inputs[0].base).loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                var acc = SIMD8<Float>(SIMD8<Double>(x0) * w[0] + 0)  // + 0: torch starts from +0, so −0 becomes +0
                for k in 1..<w.count {
                    let x = UnsafeRawPointer(inputs[k].base).loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                    acc = fusedStep(acc, x, w[k])
                }
                if let divisor { acc /= divisor }
                c.storeBytes(of: acc, toByteOffset: 4 * i, as: SIMD8<Float>.self)
                i += 8
            }
            while i < r.upperBound {
                var acc = Float(Double(inputs[0].base[i]) * w[0] + 0)
                for k in 1..<w.count { acc = fusedStep(acc, inputs[k].base[i], w[k]) }
                if let divisor { acc /= divisor }
                o.base[i] = acc
                i += 1
            }
        }
    }

    /// fma(x, w, acc) rounded once to Float, in Double arithmetic: x·w of two floats is exact
    /// in Double; their sum with acc is rounded to Double *to odd* (to nearest, then, when
    /// inexact and even, moved one ulp toward the exact sum, whose error TwoSum gives
    /// exactly), and a round-to-odd result with at least two more bits than Float rounds to
    /// Float as the exact sum would (Boldo and Melquiond, "Emulation of FMA and correctly
    /// rounded sums: proved algorithms using rounding to odd", IEEE TC 2008). Plain
    /// round-to-nearest twice differs from the FMA on about one element in a thousand when
    /// the exponents are far apart.
    @inline(__always)
    static func fusedStep(_ acc: SIMD8<Float>, _ x: SIMD8<Float>, _ w: Double) -> SIMD8<Float> {
        let a = SIMD8<Double>(acc), p = SIMD8<Double>(x) * w
        let s = a + p, bb = s - a
        let e = (a - (s - bb)) + (p - bb)
        let sBits = unsafeBitCast(s, to: SIMD8<UInt64>.self), eBits = unsafeBitCast(e, to: SIMD8<UInt64>.self)
        // Inexact (e finite and ≠ 0; an infinite accumulator makes it NaN) and even: one ulp
        // up in magnitude when e has s's sign, else down.
        let inexact = (eBits & 0x7FFF_FFFF_FFFF_FFFF) .!= 0 .& (e - e) .== 0, even = (sBits & 1) .== 0
        let step = SIMD8<UInt64>(repeating: 1).replacing(with: SIMD8(repeating: UInt64.max), where: ((sBits ^ eBits) &>> 63) .!= 0)
        let odd = sBits &+ SIMD8<UInt64>(repeating: 0).replacing(with: step, where: inexact .& even)
        return SIMD8<Float>(unsafeBitCast(odd, to: SIMD8<Double>.self))
    }

    /// `fusedStep` for one element.
    @inline(__always)
    static func fusedStep(_ acc: Float, _ x: Float, _ w: Double) -> Float {
        let a = Double(acc), p = Double(x) * w
        let s = a + p, bb = s - a
        let e = (a - (s - bb)) + (p - bb)
        guard e != 0, e.isFinite, s.bitPattern & 1 == 0 else { return Float(s) }
        let up = (s.bitPattern ^ e.bitPattern) >> 63 == 0
        return Float(Double(bitPattern: up ? s.bitPattern + 1 : s.bitPattern - 1))
    }
}
