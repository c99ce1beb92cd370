import Numerics

extension MergeMethod {
    /// ram (Reinforced Agent Merging): per entry, the models whose |δ| exceeds `epsilon`
    /// contribute; an entry only one model changes keeps that change, an entry several
    /// change gets their mean.
    static let ram = MergeMethod(
        name: "ram", base: .required, modelCount: 1...Int.max,
        modelParameters: [], parameters: [("epsilon", 1e-5)], isRandom: false
    ) { input, out in
        ReinforcedAgentMerging.merge(input, plus: nil, into: out)
    }

    /// ramplus_tl (RAM+, tensor-local): as `ram`, but each model's unique changes are
    /// scaled by λᵢ = 1 + r·clamp(ρᵢ, 0, α), ρᵢ = (its changes in shared entries) /
    /// (its changes in unique entries).
    static let ramPlus = MergeMethod(
        name: "ramplus_tl", base: .required, modelCount: 1...Int.max,
        modelParameters: [], parameters: [("r", 0.1), ("alpha", 0.2), ("epsilon", 1e-5)], isRandom: false
    ) { input, out in
        ReinforcedAgentMerging.merge(input, plus: (input.param("r"), input.param("alpha")), into: out)
    }
}

enum ReinforcedAgentMerging {
    static func merge(_ input: TensorMergeInput, plus: (r: Double, alpha: Double)?, into out: UnsafeMutableBufferPointer<Float>) {
        let base = input.base!
        let n = base.count, m = input.models.count
        let epsilon = Float(input.param("epsilon"))
        func delta(_ i: Int, _ j: Int) -> Float { input.models[i][j] - base[j] }
        var counts = [Int32](repeating: 0, count: n)
        for i in 0..<m { for j in 0..<n where abs(delta(i, j)) > epsilon { counts[j] += 1 } }
        var lambdas = [Float](repeating: 1, count: m)
        if let plus {
            for i in 0..<m {
                var shared = 0.0, unique = 0.0
                for j in 0..<n where abs(delta(i, j)) > epsilon {
                    if counts[j] > 1 { shared += 1 } else if counts[j] == 1 { unique += 1 }
                }
                let rho = shared / max(unique, Double(epsilon))
                lambdas[i] = Float(1 + plus.r * min(max(rho, 0), plus.alpha))
            }
        }
        for j in 0..<n {
            var merged: Float = 0
            for i in 0..<m {
                let d = delta(i, j)
                guard abs(d) > epsilon else { continue }
                merged += counts[j] == 1 ? d * lambdas[i] : d / Float(counts[j])
            }
            out[j] = base[j] + merged
        }
    }
}
