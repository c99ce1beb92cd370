import Model
import Numerics

/// Language-model batches: examples drawn from a mix and packed back to back into rows of
/// T + 1 tokens (row = the first T, targets = the last T), so no position is padding.
///
/// - `.answers` (SFT): an example is `BOP prompt BOA answer END`; loss on the targets that are
///   answer bytes or the closing END. Weights are mask / Σmask over the whole batch: a mean
///   over answer tokens, not over rows.
/// - `.everything` (pre-training): an example is `prompt \n answer END` as plain text; loss on
///   every target, a mean over the batch.
public struct PackedBatches: Sendable {
    public enum Loss: String, Sendable { case answers, everything }

    public let sampler: MixSampler
    public let loss: Loss
    public let seed: UInt64
    public let tokenizer: Tokenizer

    public init(sampler: MixSampler, loss: Loss, seed: UInt64, tokenizer: Tokenizer = .bytes) {
        self.sampler = sampler
        self.loss = loss
        self.seed = seed
        self.tokenizer = tokenizer
    }

    /// The batch of optimizer step `step` (counting from 1).
    public func batch(step: Int, batch: Int, time: Int) -> TokenBatch {
        var rng = SeededRandom(seed: seed, stream: "packed-batch-\(step)")
        var out = TokenBatch(batch: batch, time: time)
        var lossCount = 0
        for b in 0..<batch {
            var row: [Int32] = [], counted: [Bool] = []
            row.reserveCapacity(time + 1)
            while row.count < time + 1 {
                let (tokens, mask) = encode(sampler.draw(&rng))
                row += tokens
                counted += mask
            }
            for t in 0..<time {
                out.tokens[b * time + t] = row[t]
                out.targets[b * time + t] = row[t + 1]
                if counted[t + 1] {
                    out.weights[b * time + t] = 1
                    lossCount += 1
                }
            }
        }
        let scale = lossCount > 0 ? 1 / Float(lossCount) : 0
        for i in out.weights.indices { out.weights[i] *= scale }
        return out
    }

    /// An example's tokens, and for each whether it counts as a loss target.
    func encode(_ e: Example) -> ([Int32], [Bool]) {
        switch loss {
        case .answers:
            let prompt = tokenizer.promptTokens(e.prompt)
            let answer = tokenizer.encode(e.answer) + [ByteTokens.end]
            return (prompt + answer, [Bool](repeating: false, count: prompt.count) + [Bool](repeating: true, count: answer.count))
        case .everything:
            let text = tokenizer.encode(e.answer.isEmpty ? e.prompt + "\n" : e.prompt + "\n" + e.answer) + [ByteTokens.end]
            return (text, [Bool](repeating: true, count: text.count))
        }
    }
}
