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
}
