import Numerics

extension MergeMethod {
    /// linear: Σ wᵢxᵢ / Σ wᵢ (`normalize`, default true). Weights summing to zero with
    /// `normalize` are an error (mergekit divides anyway and writes inf/NaN).
    static let linear = MergeMethod(
        name: "linear", base: .none, modelCount: 1...Int.max,
        modelParameters: [("weight", nil)], parameters: [("normalize", 1)], isRandom: false
    ) { input, out in
        let weights = input.models.indices.map { input.model($0, "weight") }
        let total = weights.reduce(0, +)
        var scale: Float?
        if input.flag("normalize") {
            guard abs(total) >= 1e-8 else {
                throw MergeError("\(input.name): the weights sum to \(total); with normalize they must not sum to zero")
            }
            scale = Float(1 / total)
        }
        Kernels.weightedSum(input.models, weights: weights.map { Float($0) }, scale: scale, into: out)
    }
}
