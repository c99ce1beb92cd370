import XCTest
@testable import Evaluation

final class JudgeTests: XCTestCase {
    func testOutcomes() {
        let gold = "The cat sat on the mat."
        XCTAssertEqual(Judge.judge(gold: gold, candidate: gold, reference: "A dog.").outcome, .win)
        XCTAssertEqual(Judge.judge(gold: gold, candidate: "A dog.", reference: gold).outcome, .loss)
        XCTAssertEqual(Judge.judge(gold: gold, candidate: "The cat.", reference: "The cat.").outcome, .tie)
        // Different answers with equal scores tie too: neither shares a character with the gold.
        XCTAssertEqual(Judge.judge(gold: "abc", candidate: "xyz", reference: "qqq").outcome, .tie)
        // Scores are chrF against the gold, candidate and reference each as the hypothesis.
        let j = Judge.judge(gold: gold, candidate: "The cat sat.", reference: "")
        XCTAssertEqual(j.candidateScore, ChrF.score(hypothesis: "The cat sat.", reference: gold))
        XCTAssertEqual(j.referenceScore, 0)
    }

    func testWinRateCountsTiesAsHalf() throws {
        let gold = "The cat sat on the mat."
        let result = Judge.judge(
            candidates: [gold, gold, "cat", ""],
            references: ["A dog.", "The cat sat.", "cat", gold],   // win, win, tie, loss
            golds: Array(repeating: gold, count: 4))
        XCTAssertEqual(result, WinRate(wins: 2, ties: 1, losses: 1))
        XCTAssertEqual(result.n, 4)
        XCTAssertEqual(try XCTUnwrap(result.winRate), 2.5 / 4)
    }

    /// Each prompt is judged against its own gold answer.
    func testGoldsArePerPrompt() {
        let result = Judge.judge(candidates: ["un chat", "a dog"], references: ["a dog", "un chat"],
                                 golds: ["un chat", "a dog"])
        XCTAssertEqual(result, WinRate(wins: 2, ties: 0, losses: 0))
    }

    func testNoPromptsHasNoWinRate() {
        let result = Judge.judge(candidates: [], references: [], golds: [])
        XCTAssertEqual(result.n, 0)
        XCTAssertNil(result.winRate)
    }

    func testTally() {
        XCTAssertEqual(WinRate([.tie, .tie]).winRate, 0.5)
        XCTAssertEqual(WinRate([.loss, .loss, .loss]).winRate, 0)
        XCTAssertEqual(WinRate([.win, .loss, .win]), WinRate(wins: 2, ties: 0, losses: 1))
    }
}
