import JSON
import Model
import Numerics
import XCTest

final class InferenceTests: XCTestCase {
    /// Greedy decoding of the tiny reference model with the KV cache gives transformers'
    /// continuation, and the logits that chose each token match its full recomputation.
    func testGreedyContinuationMatchesTransformers() throws {
        let fixture = try ReferenceFixture.load()
        let model = try fixture.model()
        let json = try JSONValue.parse(contentsOf: ReferenceFixture.fixturesPath + "/generate.json")
        let prompt = try XCTUnwrap(json.objectValue?["prompt"]?.arrayValue).map { Int32($0.intValue!) }
        let expected = try XCTUnwrap(json.objectValue?["continuation"]?.arrayValue).map { Int32($0.intValue!) }
        let steps = try XCTUnwrap(json.objectValue?["steps"]?.arrayValue)
        let output = Generator.generate(model: model, prompts: [prompt],
                                        options: .init(maxTokens: expected.count, stopAtEnd: false, recordLogits: true))
        XCTAssertEqual(output.tokens[0], expected)
        XCTAssertEqual(output.logits[0].count, steps.count)
        for (i, step) in steps.enumerated() where i < output.logits[0].count {
            let first5 = try XCTUnwrap(step.objectValue?["logits_first5"]?.arrayValue).map { Float($0.doubleValue!) }
            let maxLogit = Float(try XCTUnwrap(step.objectValue?["max_logit"]?.doubleValue))
            let row = output.logits[0][i]
            for k in 0..<5 { XCTAssertEqual(row[k], first5[k], accuracy: 1e-5 * 0.3, "step \(i) logit \(k)") }
            XCTAssertEqual(row.max()!, maxLogit, accuracy: 1e-5 * 0.3, "step \(i) max logit")
        }
    }

    /// The cached, one-token-at-a-time path and the batched training forward agree on every
    /// position's logits, for prompts of different lengths decoded in one batch.
    func testKVCacheMatchesFullForward() throws {
        let model = randomModel(GPT2Config(layers: 2, heads: 4, channels: 32, context: 24, vocabulary: 259), seed: 3)
        var rng = SeededRandom(seed: 4)
        let sequences: [[Int32]] = [9, 17, 24].map { n in (0..<n).map { _ in Int32(rng.next() % 259) } }
        let decoder = KVCacheDecoder(model: model, batch: sequences.count)
        var cached: [[[Float]]] = Array(repeating: [], count: sequences.count)
        for t in 0..<24 {
            let active = sequences.map { t < $0.count }
            decoder.step(sequences.map { t < $0.count ? $0[t] : 0 }, active: active)
            for b in sequences.indices where active[b] { cached[b].append(Array(decoder.logits(of: b))) }
        }
        XCTAssertEqual(decoder.lengths, [9, 17, 24])
        for (b, s) in sequences.enumerated() {
            model.forward(tokens: s, targets: [Int32](repeating: -1, count: s.count), batch: 1, time: s.count)
            let full = Array(model.logits)
            let scale = full.map(abs).max()!
            for t in 0..<s.count {
                for k in 0..<259 {
                    XCTAssertEqual(cached[b][t][k], full[t * 259 + k], accuracy: 1e-5 * scale, "sequence \(b) position \(t) logit \(k)")
                }
            }
        }
    }

    /// Reading prompts in one pass (prefill) leaves the decoder where reading them a token at a
    /// time does: the same last-position logits and the same cache, so later steps agree too.
    func testPrefillMatchesStepByStep() throws {
        let model = randomModel(GPT2Config(layers: 2, heads: 4, channels: 32, context: 24, vocabulary: 259), seed: 5)
        var rng = SeededRandom(seed: 6)
        let prompts: [[Int32]] = [1, 7, 20].map { n in (0..<n).map { _ in Int32(rng.next() % 259) } }
        let continuation: [Int32] = [5, 77, 258]
        let stepped = KVCacheDecoder(model: model, batch: prompts.count), prefilled = KVCacheDecoder(model: model, batch: prompts.count)
        for (b, p) in prompts.enumerated() { prefilled.prefill(b, prompt: p) }
        var expected: [[Float]] = []
        for t in 0..<20 {
            let active = prompts.map { t < $0.count }
            stepped.step(prompts.map { t < $0.count ? $0[t] : 0 }, active: active)
            for b in prompts.indices where t == prompts[b].count - 1 { expected.append(Array(stepped.logits(of: b))) }
        }
        XCTAssertEqual(prefilled.lengths, stepped.lengths)
        func close(_ a: [Float], _ b: [Float], _ what: String) {
            let scale = b.map(abs).max()!
            for k in a.indices { XCTAssertEqual(a[k], b[k], accuracy: 1e-5 * scale, "\(what) logit \(k)") }
        }
        for b in prompts.indices { close(Array(prefilled.logits(of: b)), expected[b], "prompt \(b)") }
        for token in continuation {
            stepped.step([Int32](repeating: token, count: 3))
            prefilled.step([Int32](repeating: token, count: 3))
            for b in prompts.indices { close(Array(prefilled.logits(of: b)), Array(stepped.logits(of: b)), "after \(token), sequence \(b)") }
        }
    }

    func testSamplingIsSeededAndGreedyStopsAtEnd() throws {
        let model = randomModel(GPT2Config(layers: 1, heads: 2, channels: 16, context: 32, vocabulary: 259), seed: 5)
        let prompts: [[Int32]] = [ByteTokens.promptTokens("hi"), ByteTokens.promptTokens("a longer prompt")]
        let a = Generator.generate(model: model, prompts: prompts, options: .init(maxTokens: 8, temperature: 1, seed: 9))
        let b = Generator.generate(model: model, prompts: prompts, options: .init(maxTokens: 8, temperature: 1, seed: 9))
        let c = Generator.generate(model: model, prompts: prompts, options: .init(maxTokens: 8, temperature: 1, seed: 10))
        XCTAssertEqual(a.tokens, b.tokens)
        XCTAssertNotEqual(a.tokens, c.tokens, "a different seed should sample differently")
        // Make the end token the argmax everywhere: greedy generation stops after one token.
        let wte = model.parameters.wte, lnfBias = model.parameters.lnfBias
        for i in 0..<16 { lnfBias[i] = 1; wte[Int(ByteTokens.end) * 16 + i] = 5 }
        let stopped = Generator.generate(model: model, prompts: prompts, options: .init(maxTokens: 8))
        XCTAssertEqual(stopped.tokens, [[ByteTokens.end], [ByteTokens.end]])
    }

    func testLongPromptsAreTruncatedFromTheFront() throws {
        let model = randomModel(GPT2Config(layers: 1, heads: 1, channels: 8, context: 16, vocabulary: 259), seed: 6)
        let prompts: [[Int32]] = [Array(repeating: 65, count: 30), Array(repeating: 66, count: 13), [67]]
        let output = Generator.generate(model: model, prompts: prompts, options: .init(maxTokens: 10, stopAtEnd: false))
        XCTAssertEqual(output.truncated, [15, 0, 0])
        // The context (16) holds the prompt and every generated token but the last.
        XCTAssertEqual(output.tokens.map(\.count), [2, 4, 10])
    }

    /// Batched scoring equals scoring each sequence alone, and matches log-softmax of the
    /// forward logits computed here in Float64.
    func testScoringIsPerTokenNLL() throws {
        let model = randomModel(GPT2Config(layers: 2, heads: 2, channels: 16, context: 32, vocabulary: 259), seed: 7)
        let sequences = ["short", "a rather longer line", "mid length"].map { ByteTokens.bytes($0) }
        let batched = Scorer.score(model: model, sequences: sequences, batchSize: 3)
        for (i, s) in sequences.enumerated() {
            let alone = Scorer.score(model: model, sequences: [s])[0]
            XCTAssertEqual(batched[i].count, s.count - 1)
            for t in alone.indices { XCTAssertEqual(batched[i][t], alone[t], accuracy: 1e-5) }
            model.forward(tokens: Array(s.dropLast()), targets: Array(s.dropFirst()), batch: 1, time: s.count - 1)
            for t in 0..<(s.count - 1) {
                let row = model.logits[(t * 259)..<((t + 1) * 259)].map(Double.init)
                let m = row.max()!
                let nll = m + log(row.reduce(0) { $0 + exp($1 - m) }) - row[Int(s[t + 1])]
                XCTAssertEqual(Double(alone[t]), nll, accuracy: 1e-5)
            }
        }
    }
}

func randomModel(_ config: GPT2Config, seed: UInt64) -> GPT2 {
    let model = GPT2(config: config)
    var rng = SeededRandom(seed: seed)
    for i in model.parameters.names.indices {
        let name = model.parameters.names[i]
        let isGain = name.contains("ln_") && name.hasSuffix("weight")
        let p = model.parameters.tensor(i)
        for j in p.indices { p[j] = Float((isGain ? 1 : 0) + rng.normal() * (isGain ? 0.1 : 0.3)) }
    }
    return model
}
