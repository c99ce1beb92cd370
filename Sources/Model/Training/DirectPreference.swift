import Foundation

/// The DPO objective (Rafailov et al., 2023) over a batch of (chosen, rejected) row pairs:
///
///     z_i = β · ((log π(c_i) − log π_ref(c_i)) − (log π(r_i) − log π_ref(r_i)))
///     L   = mean_i −log σ(z_i)
///
/// where log π(·) sums the answer tokens' log-probabilities of a row. Its derivative with
/// respect to each answer token's NLL is ±β·σ(−z_i)/P, which is what `weights` returns.
///
/// With `nllWeight` α > 0 the objective adds α times the mean NLL of the chosen answers'
/// tokens (RPO, Pang et al., 2024; TRL's `rpo_alpha`): L + α · Σ_chosen nll / N_chosen.
/// Plain DPO is satisfied by pushing the rejected answer down, and it can push the chosen
/// one down with it ("likelihood displacement"): on our safety pairs it ends with neither
/// answer likely and greedy decoding emitting a third one. The NLL term keeps the chosen
/// answer the likely one.
public enum DirectPreference {
    public struct Result: Sendable {
        public let loss: Double
        public let weights: [Float]
        /// Share of pairs whose implicit reward prefers the chosen answer (z > 0).
        public let accuracy: Double
        /// Mean of z / β (the reward margin).
        public let margin: Double
    }

    /// Per-row sequence log-likelihoods: −Σ answerMask · nll over each row of `time`.
    public static func rowLogLikelihoods(_ nll: UnsafeBufferPointer<Float>, answerMask: [Float], rows: Int, time: Int) -> [Double] {
        (0..<rows).map { r in
            var s = 0.0
            for t in 0..<time where answerMask[r * time + t] != 0 { s -= Double(nll[r * time + t]) }
            return s
        }
    }

    /// Rows 2i (chosen) and 2i+1 (rejected); `reference` are the frozen model's row
    /// log-likelihoods of the same batch.
    public static func objective(policyNLL: UnsafeBufferPointer<Float>, reference: [Double], answerMask: [Float],
                                 rows: Int, time: Int, beta: Double, nllWeight: Double = 0) -> Result {
        let policy = rowLogLikelihoods(policyNLL, answerMask: answerMask, rows: rows, time: time)
        let pairs = rows / 2
        var weights = [Float](repeating: 0, count: rows * time)
        var loss = 0.0, correct = 0, margin = 0.0
        for i in 0..<pairs {
            let c = 2 * i, r = 2 * i + 1
            let delta = (policy[c] - reference[c]) - (policy[r] - reference[r])
            let z = beta * delta
            // −log σ(z) = softplus(−z), written to stay finite for large |z|.
            loss += z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z))
            if z > 0 { correct += 1 }
            margin += delta
            let sigmaNegZ = 1 / (1 + exp(z))
            let w = Float(beta * sigmaNegZ / Double(pairs))
            for t in 0..<time {
                if answerMask[c * time + t] != 0 { weights[c * time + t] = w }
                if answerMask[r * time + t] != 0 { weights[r * time + t] = -w }
            }
        }
        loss /= Double(pairs)
        if nllWeight > 0 {
            var chosenTokens = 0, chosenNLL = 0.0
            for i in 0..<pairs {
                for t in 0..<time where answerMask[2 * i * time + t] != 0 {
                    chosenTokens += 1
                    chosenNLL += Double(policyNLL[2 * i * time + t])
                }
            }
            if chosenTokens > 0 {
                loss += nllWeight * chosenNLL / Double(chosenTokens)
                let w = Float(nllWeight / Double(chosenTokens))
                for i in 0..<pairs {
                    for t in 0..<time where answerMask[2 * i * time + t] != 0 { weights[2 * i * time + t] += w }
                }
            }
        }
        return Result(loss: loss, weights: weights, accuracy: Double(correct) / Double(pairs),
                      margin: margin / Double(pairs))
    }
}
