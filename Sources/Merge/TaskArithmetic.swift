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

    /// Memory: each loaded model is replaced by its delta in one buffer (so the peak is the
    /// inputs plus the output); elementwise passes run across cores.
    static func merge(_ input: inout TensorMergeInput, thinning: Thinning, consensus: Bool) throws -> Tensor {
        let base = input.base!
        let n = base.count, m = input.models.count
        let deltas = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, m * n))
        defer { deltas.deallocate() }
        var weights: [Float] = []
        for i in 0..<m {
            let delta = UnsafeMutableBufferPointer(rebasing: deltas[(i * n)..<((i + 1) * n)])
            input.models[i].withUnsafeBufferPointer { px in base.withUnsafeBufferPointer { pb in Kernels.subtract(px, pb, into: delta) } }
            input.models[i] = Tensor(shape: [0])  // its memory now holds the delta
            let density = input.modelParams[i]["density"] ?? 1
            guard density > 0, density <= 1 else { throw MergeError("\(input.name): density \(density) for model \(i) is outside (0, 1]") }
            // Density 1 leaves a delta untouched (and unrescaled), as in mergekit.
            if density < 1 && thinning != .none {
                let rescale = input.flag("rescale")
                let before = rescale ? Kernels.sumOfMagnitudes(UnsafeBufferPointer(delta)) : 0
                switch thinning {
                case .none: break
                case .magnitude: Sparsify.magnitude(delta, density: density)
                case .random: Sparsify.random(delta, density: density, random: &input.random)
                case .magnitudeOutliers: Sparsify.magnitudeOutliers(delta, density: density, gamma: input.model(i, "gamma"))
                case .dellaMagprune:
                    let epsilon = input.model(i, "epsilon")
                    guard density - epsilon > 0, density + epsilon < 1 else {
                        throw MergeError("\(input.name): epsilon \(epsilon) must keep density ± epsilon within (0, 1) (density \(density))")
                    }
                    Sparsify.dellaMagprune(delta, columns: base.shape.last ?? 1, rank: base.rank,
                                           density: density, epsilon: epsilon, random: &input.random)
                }
                if rescale {
                    // mergekit's rescale: × ‖δ‖₁ / ‖kept‖₁, skipped when either is below 1e-7.
                    let after = Kernels.sumOfMagnitudes(UnsafeBufferPointer(delta))
                    if before >= 1e-7 && after >= 1e-7 {
                        Kernels.scale(UnsafeBufferPointer(delta), by: Float(before / after), into: delta)
                    }
                }
            }
            let w = Float(input.model(i, "weight"))
            Kernels.scale(UnsafeBufferPointer(delta), by: w, into: delta)
            weights.append(w)
        }
        let normalize = input.flag("normalize")
        let lambda = Float(input.param("lambda"))
        let sum = weights.reduce(0, +)
        let total = abs(sum) < 1e-8 ? 1 : sum
        let all = SharedFloats(deltas)
        let w = weights
        var out = base
        out.withUnsafeMutableBufferPointer { po in
            let o = SharedFloats(po)
            Parallel.forEachRange(n) { range in
                for j in range {
                    var mixed: Float = 0, divisor: Float = 0
                    if consensus {
                        // Majority sign of the weighted sum (≥ 0 counts as +); only entries of
                        // that sign count (a zeroed entry has sign 0 and never does).
                        var s: Float = 0
                        for k in 0..<m { s += all.base[k * n + j] }
                        let positive = s >= 0
                        for k in 0..<m {
                            let v = all.base[k * n + j]
                            if v != 0 && (v > 0) == positive { mixed += v; divisor += w[k] }
                        }
                        if divisor == 0 { divisor = 1 }
                    } else {
                        for k in 0..<m { mixed += all.base[k * n + j] }
                        divisor = total
                    }
                    if normalize { mixed /= divisor }
                    if lambda != 1 { mixed *= lambda }
                    o.base[j] += mixed
                }
            }
        }
        return out
    }
}
