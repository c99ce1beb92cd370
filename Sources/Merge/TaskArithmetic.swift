import Numerics

/// The task-vector family (mergekit's `generalized_task_arithmetic.py`): for each model
/// δᵢ = xᵢ − base, sparsified, times its weight; optionally a sign election keeps only the
/// entries that agree with the weighted majority; the mix is optionally divided by the sum
/// of the weights that contributed, scaled by `lambda`, and added back to the base.
enum TaskArithmetic {
    enum Thinning { case none, magnitude, random, magnitudeOutliers }

    static func method(_ name: String, thinning: Thinning, consensus: Bool, normalize: Bool, rescale: Bool) -> MergeMethod {
        var modelParameters: [(String, Double?)] = [("weight", nil)]
        if thinning != .none { modelParameters.append(("density", 1)) }
        if thinning == .magnitudeOutliers { modelParameters.append(("gamma", 0.01)) }
        return MergeMethod(
            name: name, base: .required, modelCount: 1...Int.max, modelParameters: modelParameters,
            parameters: [("normalize", normalize ? 1 : 0), ("lambda", 1), ("rescale", rescale ? 1 : 0)],
            isRandom: thinning == .random
        ) { input in
            try merge(&input, thinning: thinning, consensus: consensus)
        }
    }

    static let methods: [MergeMethod] = [
        method("task_arithmetic", thinning: .none, consensus: false, normalize: false, rescale: false),
        method("ties", thinning: .magnitude, consensus: true, normalize: true, rescale: false),
        method("dare_ties", thinning: .random, consensus: true, normalize: false, rescale: true),
        method("dare_linear", thinning: .random, consensus: false, normalize: false, rescale: true),
        method("breadcrumbs", thinning: .magnitudeOutliers, consensus: false, normalize: false, rescale: false),
        method("breadcrumbs_ties", thinning: .magnitudeOutliers, consensus: true, normalize: false, rescale: false),
    ]

    static func merge(_ input: inout TensorMergeInput, thinning: Thinning, consensus: Bool) throws -> Tensor {
        let base = input.base!
        let n = base.count
        var weighted: [[Float]] = []
        var weights: [Double] = []
        for (i, x) in input.models.enumerated() {
            var delta = [Float](repeating: 0, count: n)
            for j in 0..<n { delta[j] = x.storage[j] - base.storage[j] }
            let original = delta
            let density = input.modelParams[i]["density"] ?? 1
            guard density > 0, density <= 1 else { throw MergeError("\(input.name): density \(density) for model \(i) is outside (0, 1]") }
            switch thinning {
            case .none: break
            case .magnitude: Sparsify.magnitude(&delta, density: density)
            case .random: Sparsify.random(&delta, density: density, random: &input.random)
            case .magnitudeOutliers: Sparsify.magnitudeOutliers(&delta, density: density, gamma: input.model(i, "gamma"))
            }
            if thinning != .none && input.flag("rescale") { Sparsify.rescale(&delta, original: original) }
            let w = input.model(i, "weight")
            for j in 0..<n { delta[j] *= Float(w) }
            weighted.append(delta)
            weights.append(w)
        }
        var mixed = [Float](repeating: 0, count: n)
        var divisor = [Float](repeating: 0, count: n)
        if consensus {
            // Majority sign of the weighted sum (≥ 0 counts as +); an entry votes with the
            // majority only if its sign matches (a zeroed entry never does).
            for j in 0..<n {
                var sum: Float = 0
                for d in weighted { sum += d[j] }
                let majority: Float = sum >= 0 ? 1 : -1
                for (k, d) in weighted.enumerated() where d[j] != 0 && (d[j] > 0 ? 1 : -1) == majority {
                    mixed[j] += d[j]
                    divisor[j] += Float(weights[k])
                }
                if divisor[j] == 0 { divisor[j] = 1 }
            }
        } else {
            for d in weighted { for j in 0..<n { mixed[j] += d[j] } }
            var total = Float(weights.reduce(0, +))
            if abs(total) < 1e-8 { total = 1 }
            for j in 0..<n { divisor[j] = total }
        }
        if input.flag("normalize") { for j in 0..<n { mixed[j] /= divisor[j] } }
        let lambda = Float(input.param("lambda"))
        var out = base
        for j in 0..<n { out.storage[j] += mixed[j] * lambda }
        return out
    }
}
