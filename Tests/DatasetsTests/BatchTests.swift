import Datasets
import Model
import XCTest

final class BatchTests: XCTestCase {
    let examples = (0..<50).flatMap { i in [
        Example(id: "g\(i)", lang: "en", objective: "general", prompt: "q\(i)", answer: "answer \(i)", rejected: "bad \(i)"),
        Example(id: "s\(i)", lang: "en", objective: "safety", prompt: "harm \(i)", answer: "No.", rejected: "Yes, here is how."),
    ] }

    func testMixWeightsDecideHowOftenEachObjectiveIsDrawn() throws {
        let sampler = try MixSampler(examples: examples, mix: [("general", 0.85), ("safety", 0.15)])
        let batches = PackedBatches(sampler: sampler, loss: .answers, seed: 1)
        var safetyAnswers = 0, generalAnswers = 0
        for step in 1...200 {
            let b = batches.batch(step: step, batch: 4, time: 64)
            // BOP starts every example; count examples by their first prompt byte.
            for (i, t) in b.tokens.enumerated() where t == ByteTokens.beginPrompt && i + 1 < b.tokens.count {
                if b.tokens[i + 1] == UInt8(ascii: "h") { safetyAnswers += 1 } else { generalAnswers += 1 }
            }
        }
        let share = Double(safetyAnswers) / Double(safetyAnswers + generalAnswers)
        XCTAssertEqual(share, 0.15, accuracy: 0.03)
    }

    func testAnswerOnlyLossAndMeanOverTokens() throws {
        let sampler = try MixSampler(examples: examples, mix: [("general", 1)])
        let b = PackedBatches(sampler: sampler, loss: .answers, seed: 2).batch(step: 5, batch: 3, time: 40)
        XCTAssertEqual(b.tokens.count, 120)
        let counted = b.weights.filter { $0 > 0 }
        XCTAssertEqual(Double(b.weights.reduce(0, +)), 1, accuracy: 1e-5, "weights are mask / Σmask")
        XCTAssertTrue(counted.allSatisfy { $0 == counted[0] })
        for i in b.tokens.indices where b.weights[i] > 0 {
            // Counted targets are answer bytes or the closing END, never prompt bytes or BOA.
            XCTAssertNotEqual(b.targets[i], ByteTokens.beginAnswer)
            XCTAssertNotEqual(b.targets[i], ByteTokens.beginPrompt)
        }
        for i in b.tokens.indices where b.targets[i] == ByteTokens.end { XCTAssertGreaterThan(b.weights[i], 0) }
        for i in b.tokens.indices where b.tokens[i] == ByteTokens.beginPrompt { XCTAssertEqual(b.weights[i], 0) }
        // Rows are packed: targets are the next input token.
        for r in 0..<3 { for t in 0..<39 { XCTAssertEqual(b.targets[r * 40 + t], b.tokens[r * 40 + t + 1]) } }
    }

    func testBatchesDependOnlyOnSeedAndStep() throws {
        let sampler = try MixSampler(examples: examples, mix: MixSampler.natural(examples))
        let a = PackedBatches(sampler: sampler, loss: .everything, seed: 3)
        XCTAssertEqual(a.batch(step: 7, batch: 2, time: 32), a.batch(step: 7, batch: 2, time: 32))
        XCTAssertNotEqual(a.batch(step: 7, batch: 2, time: 32), a.batch(step: 8, batch: 2, time: 32))
        XCTAssertNotEqual(a.batch(step: 7, batch: 2, time: 32), PackedBatches(sampler: sampler, loss: .everything, seed: 4).batch(step: 7, batch: 2, time: 32))
        XCTAssertTrue(a.batch(step: 1, batch: 2, time: 32).weights.allSatisfy { $0 == 1 / 64 }, "pre-training counts every target")
    }

    func testMixErrorsNameTheProblem() {
        XCTAssertThrowsError(try MixSampler(examples: examples, mix: [("math", 1)])) { e in
            XCTAssertTrue("\(e)".contains("objective \"math\""), "\(e)")
            XCTAssertTrue("\(e)".contains("general, safety"), "\(e)")
        }
        XCTAssertThrowsError(try MixSampler(examples: examples, mix: [("general", 0)]))
        XCTAssertThrowsError(try PreferenceBatches(examples: examples.map { var e = $0; e.rejected = nil; return e }, mix: [("general", 1)], seed: 1)) { e in
            XCTAssertTrue("\(e)".contains("rejected"), "\(e)")
        }
    }

    func testPreferenceRowsPairChosenWithRejected() throws {
        let batches = try PreferenceBatches(examples: examples, mix: [("safety", 1)], seed: 5)
        let b = batches.batch(step: 1, pairs: 2, time: 48)
        XCTAssertEqual(b.batch, 4)
        for pair in 0..<2 {
            let chosen = Array(b.tokens[(2 * pair * 48)..<((2 * pair + 1) * 48)])
            let rejected = Array(b.tokens[((2 * pair + 1) * 48)..<((2 * pair + 2) * 48)])
            let boa = chosen.firstIndex(of: ByteTokens.beginAnswer)!
            XCTAssertEqual(Array(chosen[...boa]), Array(rejected[...boa]), "same prompt")
            XCTAssertEqual(ByteTokens.text(Array(chosen[(boa + 1)...])), "No.")
            XCTAssertEqual(ByteTokens.text(Array(rejected[(boa + 1)...])), "Yes, here is how.")
            // The answer mask covers the answer bytes and END; padding has target −1.
            let mask = Array(b.weights[(2 * pair * 48)..<((2 * pair + 1) * 48)])
            XCTAssertEqual(mask.filter { $0 == 1 }.count, 4)
            XCTAssertEqual(b.targets[2 * pair * 48 + 47], -1)
        }
    }
}
