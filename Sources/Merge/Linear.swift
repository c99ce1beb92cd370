import Numerics

extension MergeMethod {
    /// linear: Σ wᵢxᵢ / Σ wᵢ (`normalize`, default true). Weights summing to zero with
    /// `normalize` are an error (mergekit divides anyway and writes inf/NaN).
    static let linear = MergeMethod(
        name: "linear", base: .none, modelCount: 1...Int.max,
        modelParameters: [("weight", nil)], parameters: [("normalize", 1)], isRandom: false
    ) { input in
        var out = Tensor(shape: input.models[0].shape)
        var total = 0.0
        for (i, x) in input.models.enumerated() {
            let w = input.model(i, "weight")
            total += w
            x.withUnsafeBufferPointer { px in out.withUnsafeMutableBufferPointer { po in Kernels.axpy(Float(w), px, po) } }
        }
        if input.flag("normalize") {
            guard abs(total) >= 1e-8 else {
                throw MergeError("\(input.name): the weights sum to \(total); with normalize they must not sum to zero")
            }
            out.withUnsafeMutableBufferPointer { po in Kernels.scale(UnsafeBufferPointer(po), by: Float(1 / total), into: po) }
        }
        return out
    }

    /// passthrough: one model, optionally multiplied by its `scale`.
    static let passthrough = MergeMethod(
        name: "passthrough", base: .none, modelCount: 1...1,
        modelParameters: [("scale", 1)], parameters: [], isRandom: false
    ) { input in
        let s = input.model(0, "scale")
        if s == 1 { return input.models[0] }
        var out = input.models[0]
        out.withUnsafeMutableBufferPointer { po in Kernels.scale(UnsafeBufferPointer(po), by: Float(s), into: po) }
        return out
    }

    /// nearswap: w = clamp(t / max(|a − b|, 1e-6), 0, 1); out = w·b + (1 − w)·a, with a the base.
    static let nearswap = MergeMethod(
        name: "nearswap", base: .required, modelCount: 1...1,
        modelParameters: [], parameters: [("t", nil)], isRandom: false
    ) { input in
        let a = input.base!, b = input.models[0], t = Float(input.param("t"))
        var out = Tensor(shape: a.shape)
        for i in 0..<a.count {
            let d = max(abs(a.storage[i] - b.storage[i]), 1e-6)
            let w = min(1, max(0, t / d))
            out.storage[i] = w * b.storage[i] + (1 - w) * a.storage[i]
        }
        return out
    }
}
