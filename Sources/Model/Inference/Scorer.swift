/// Per-token negative log-likelihood of whole sequences, many at once through the training
/// forward pass (rows padded to the longest sequence; padding scores nothing).
public enum Scorer {
    /// For each sequence s (at least 2 tokens, at most the context + 1), the NLL in nats of
    /// s[1], s[2], … given the tokens before it: s.count − 1 numbers.
    public static func score(model: GPT2, sequences: [[Int32]], batchSize: Int = 8) -> [[Float]] {
        var results: [[Float]] = []
        var start = 0
        while start < sequences.count {
            let group = Array(sequences[start..<min(sequences.count, start + batchSize)])
            let time = group.map { $0.count - 1 }.max()!
            precondition(group.allSatisfy { $0.count >= 2 }, "score: a sequence needs at least 2 tokens")
            precondition(time <= model.config.context, "score: a sequence of \(time + 1) tokens exceeds the context of \(model.config.context) + 1")
            var tokens = [Int32](repeating: ByteTokens.end, count: group.count * time)
            var targets = [Int32](repeating: -1, count: group.count * time)
            for (b, s) in group.enumerated() {
                for t in 0..<(s.count - 1) {
                    tokens[b * time + t] = s[t]
                    targets[b * time + t] = s[t + 1]
                }
            }
            let losses = model.forward(tokens: tokens, targets: targets, batch: group.count, time: time)
            for (b, s) in group.enumerated() { results.append(Array(losses[(b * time)..<(b * time + s.count - 1)])) }
            start += batchSize
        }
        return results
    }
}
