import Numerics

/// The task-vector family (mergekit's `generalized_task_arithmetic.py`): for each model
/// δᵢ = xᵢ − base, sparsified, times its weight; optionally a sign election keeps only the
/// entries that agree with the weighted majority; the mix is optionally divided by the sum
/// of the weights that contributed, scaled by `lambda`, and added back to the base.
enum TaskArithmetic {
    enum Thinning { case none, magnitude, random, magnitudeOutliers, dellaMagprune }

    static func method(_ name: String, thinning: Thinning, consensus: Bool, normalize: Bool, rescale: Bool) -> MergeMethod {
        // As mergekit: every method of the family accepts density (unused without thinning)
        // and int8_mask (a memory option with no effect on the result).
        var modelParameters: [(String, Double?)] = [("weight", nil), ("density", 1)]
        if thinning == .magnitudeOutliers { modelParameters.append(("gamma", 0.01)) }
        if thinning == .dellaMagprune { modelParameters.append(("epsilon", 0.15)) }
        return MergeMethod(
            name: name, base: .required, modelCount: 1...Int.max, modelParameters: modelParameters,
            parameters: [("int8_mask", 0), ("normalize", normalize ? 1 : 0), ("rescale", rescale ? 1 : 0), ("lambda", 1)],
            isRandom: thinning == .random || thinning == .dellaMagprune
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
        method("della", thinning: .dellaMagprune, consensus: true, normalize: true, rescale: true),
        method("della_linear", thinning: .dellaMagprune, consensus: false, normalize: false, rescale: true),
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
            // Density 1 leaves a delta untouched (and unrescaled), as in mergekit.
            if density < 1 {
                switch thinning {
                case .none: break
                case .magnitude: Sparsify.magnitude(&delta, density: density)
                case .random: Sparsify.random(&delta, density: density, random: &input.random)
                case .magnitudeOutliers: Sparsify.magnitudeOutliers(&delta, density: density, gamma: input.model(i, "gamma"))
                case .dellaMagprune:
                    let epsilon = input.model(i, "epsilon")
                    guard density - epsilon > 0, density + epsilon < 1 else {
                        throw MergeError("\(input.name): epsilon \(epsilon) must keep density ± epsilon within (0, 1) (density \(density))")
                    }
                    Sparsify.dellaMagprune(&delta, columns: input.base!.shape.last ?? 1, rank: input.base!.rank,
                                           density: density, epsilon: epsilon, random: &input.random)
                }
                if thinning != .none && input.flag("rescale") { Sparsify.rescale(&delta, original: original) }
            }
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
