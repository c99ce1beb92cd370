import Numerics

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

    /// out[i] = fma(xₙ[i], wₙ, … fma(x₁[i], w₁, x₀[i]·w₀)) / divisor.
    ///
    /// The fused step is computed in Double: xₖ·wₖ of two floats is exact there, and the
    /// sum with the float accumulator is exact too unless their exponents are far apart, so
    /// rounding it to Float is the single rounding of a hardware FMA (a double rounding can
    /// only differ when the Double sum lands exactly on a Float midpoint: a rounding of the
    /// 29 bits Double keeps beyond Float, about one case in 2²⁹). Without a `-target-cpu`
    /// flag Swift's `fma` is a software call, several times slower than this; the kernel stays
    /// bound by memory either way.
    static func fusedWeightedSum(_ xs: [UnsafeBufferPointer<Float>], weights: [Float], divisor: Float?,
                                 into out: UnsafeMutableBufferPointer<Float>) {
        precondition(!xs.isEmpty && xs.count == weights.count && xs.allSatisfy { $0.count == out.count }, "linear: length mismatch")
        let inputs = xs.map { SharedFloats($0) }, o = SharedFloats(out), w = weights.map { Double($0) }
        Parallel.forEachRange(out.count) { r in
            let c = UnsafeMutableRawPointer(o.base)
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let x0 = UnsafeRawPointer(inputs[0].base).loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                var acc = SIMD8<Float>(SIMD8<Double>(x0) * w[0] + 0)  // + 0: torch starts from +0, so −0 becomes +0
                for k in 1..<w.count {
                    let x = UnsafeRawPointer(inputs[k].base).loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                    acc = SIMD8<Float>(SIMD8<Double>(acc) + SIMD8<Double>(x) * w[k])
                }
                if let divisor { acc /= divisor }
                c.storeBytes(of: acc, toByteOffset: 4 * i, as: SIMD8<Float>.self)
                i += 8
            }
            while i < r.upperBound {
                var acc = Float(Double(inputs[0].base[i]) * w[0] + 0)
                for k in 1..<w.count { acc = Float(Double(acc) + Double(inputs[k].base[i]) * w[k]) }
                if let divisor { acc /= divisor }
                o.base[i] = acc
                i += 1
            }
        }
    }
}
