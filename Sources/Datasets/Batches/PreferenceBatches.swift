import Model
import Numerics

/// DPO batches: P (prompt, chosen, rejected) triples drawn from a mix, laid out as 2P rows —
/// row 2i is `BOP prompt BOA chosen END`, row 2i+1 the same with the rejected answer — each
/// padded with END (target −1) or cut to T + 1 tokens.
public struct PreferenceBatches: Sendable {
    public let sampler: MixSampler
    public let seed: UInt64
    public let tokenizer: Tokenizer

    /// - Throws: when no example of the mix has a `rejected` answer.
    public init(examples: [Example], mix: [(objective: String, weight: Double)], seed: UInt64,
                tokenizer: Tokenizer = .bytes) throws(MixSampler.MixError) {
        let pairs = examples.filter { $0.rejected != nil }
        if pairs.isEmpty {
            throw MixSampler.MixError(description: "DPO needs examples with a \"rejected\" answer; the data has none")
        }
        sampler = try MixSampler(examples: pairs, mix: mix)
        self.seed = seed
        self.tokenizer = tokenizer
    }

    /// Tokens and targets of step `step`; `weights` marks (with 1) the answer targets whose
    /// log-probabilities make up each row's sequence log-likelihood.
    public func batch(step: Int, pairs: Int, time: Int) -> TokenBatch {
        var rng = SeededRandom(seed: seed, stream: "preference-batch-\(step)")
        var out = TokenBatch(batch: 2 * pairs, time: time)
        for i in 0..<pairs {
            let e = sampler.draw(&rng)
            let prompt = tokenizer.promptTokens(e.prompt)
            for (r, answer) in [e.answer, e.rejected!].enumerated() {
                let row = prompt + tokenizer.encode(answer) + [ByteTokens.end]
                let b = 2 * i + r
                for t in 0..<min(time, row.count - 1) {
                    out.tokens[b * time + t] = row[t]
                    out.targets[b * time + t] = row[t + 1]
                    if t + 1 >= prompt.count { out.weights[b * time + t] = 1 }
                }
            }
        }
        return out
    }
}
