import Foundation
import Numerics

/// Greedy or temperature sampling from a GPT-2 with a KV cache, for a batch of prompts.
public enum Generator {
    public struct Options: Sendable {
        public var maxTokens: Int = 64
        /// 0: greedy (argmax; ties go to the lowest id). Above 0: sample softmax(logits / T).
        public var temperature: Double = 0
        public var seed: UInt64 = 0
        /// Stop a sequence at the end token (the end token is kept in the output).
        public var stopAtEnd: Bool = true
        /// Keep the logits that chose each generated token (for tests and `--json`).
        public var recordLogits: Bool = false
        public init(maxTokens: Int = 64, temperature: Double = 0, seed: UInt64 = 0, stopAtEnd: Bool = true, recordLogits: Bool = false) {
            self.maxTokens = maxTokens; self.temperature = temperature; self.seed = seed
            self.stopAtEnd = stopAtEnd; self.recordLogits = recordLogits
        }
    }

    public struct Output: Sendable {
        /// Generated ids per prompt (not including the prompt).
        public var tokens: [[Int32]]
        /// When recorded: per prompt, per generated token, the V logits that chose it.
        public var logits: [[[Float]]]
        /// Prompt tokens dropped from the front to fit the context, per prompt.
        public var truncated: [Int]
    }

    /// Generates up to `options.maxTokens` tokens after each prompt, fewer when the prompt
    /// leaves less room in the context. A prompt longer than `context − 1` loses its oldest
    /// tokens (reported in `truncated`).
    public static func generate(model: GPT2, prompts: [[Int32]], options: Options) -> Output {
        let context = model.config.context
        var output = Output(tokens: Array(repeating: [], count: prompts.count),
                            logits: Array(repeating: [], count: prompts.count),
                            truncated: Array(repeating: 0, count: prompts.count))
        if prompts.isEmpty || options.maxTokens <= 0 { return output }
        let decoder = KVCacheDecoder(model: model, batch: prompts.count)
        let inputs: [[Int32]] = prompts.enumerated().map { i, prompt in
            precondition(!prompt.isEmpty, "generate: prompt \(i) is empty")
            let keep = min(prompt.count, context - 1)
            output.truncated[i] = prompt.count - keep
            return Array(prompt.suffix(keep))
        }
        // Every generated token but the last is fed back, so a sequence fits context + 1 tokens.
        let budgets = inputs.map { min(options.maxTokens, context + 1 - $0.count) }
        var rngs = prompts.indices.map { SeededRandom(seed: options.seed, stream: "generate-\($0)") }
        var finished = [Bool](repeating: false, count: prompts.count)
        // Chooses sequence b's next token from its logits; records it and whether b is done.
        func choose(_ b: Int) {
            let row = decoder.logits(of: b)
            let token = options.temperature > 0 ? sample(row, temperature: options.temperature, rng: &rngs[b]) : argmax(row)
            output.tokens[b].append(token)
            if options.recordLogits { output.logits[b].append(Array(row)) }
            if output.tokens[b].count >= budgets[b] || (options.stopAtEnd && token == ByteTokens.end) { finished[b] = true }
        }
        // Each prompt is read in one pass; then the batch advances a token at a time.
        for b in inputs.indices {
            decoder.prefill(b, prompt: inputs[b])
            choose(b)
        }
        while !finished.allSatisfy({ $0 }) {
            let next: [Int32] = inputs.indices.map { finished[$0] ? ByteTokens.end : output.tokens[$0].last! }
            decoder.step(next, active: finished.map { !$0 })
            for b in inputs.indices where !finished[b] { choose(b) }
        }
        return output
    }

    static func argmax(_ row: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        for i in row.indices where row[i] > row[best] { best = i }
        return Int32(best)
    }

    static func sample(_ row: UnsafeBufferPointer<Float>, temperature: Double, rng: inout SeededRandom) -> Int32 {
        let m = Double(row.max() ?? 0)
        var weights = row.map { exp((Double($0) - m) / temperature) }
        let total = weights.reduce(0, +)
        var u = rng.uniform() * total
        for i in weights.indices {
            u -= weights[i]
            if u < 0 { return Int32(i) }
        }
        weights.removeAll()
        return Int32(row.count - 1)
    }
}
