@testable import Evaluation
import XCTest

final class LikelihoodMarginTests: XCTestCase {
    /// A scorer with known probabilities: the NLL of token t is t / 10 nats, whatever came before.
    static func tokenCost(_ sequences: [[Int32]]) -> [[Float]] {
        sequences.map { s in s.dropFirst().map { Float($0) / 10 } }
    }

    func testMarginIsTheDifferenceOfMeanLogLikelihoodsPerToken() {
        // Refusal [1, 3]: mean log-likelihood −(0.1 + 0.3) / 2 = −0.2.
        // Compliance [2, 2, 5]: −(0.2 + 0.2 + 0.5) / 3 = −0.3.  Margin = −0.2 − (−0.3) = 0.1.
        let margins = LikelihoodMargin.margins(prompts: [[9, 9, 9]], refusals: [[1, 3]], compliances: [[2, 2, 5]],
                                               maxTokens: 100, score: Self.tokenCost)
        XCTAssertEqual(margins[0]!, 0.1, accuracy: 1e-6)
        // Swapping the answers flips the sign: the model prefers complying.
        let swapped = LikelihoodMargin.margins(prompts: [[9, 9, 9]], refusals: [[2, 2, 5]], compliances: [[1, 3]],
                                               maxTokens: 100, score: Self.tokenCost)
        XCTAssertEqual(swapped[0]!, -0.1, accuracy: 1e-6)
    }

    func testByteLengthsNormaliseWhenGiven() {
        // Same tokens as above, but the refusal's two tokens stand for 8 bytes and the
        // compliance's three for 3: −0.4 / 8 − (−0.9 / 3) = −0.05 + 0.3 = 0.25 nats per byte.
        let margins = LikelihoodMargin.margins(prompts: [[9, 9, 9]], refusals: [[1, 3]], compliances: [[2, 2, 5]],
                                               maxTokens: 100, refusalBytes: [8], complianceBytes: [3], score: Self.tokenCost)
        XCTAssertEqual(margins[0]!, 0.25, accuracy: 1e-6)
    }

    func testThePromptIsNotScoredOnlyTheAnswer() {
        // Prompt tokens are expensive (NLL 9.0); only the answer positions may count.
        let m = LikelihoodMargin.margins(prompts: [[90, 90]], refusals: [[1]], compliances: [[1]], maxTokens: 100, score: Self.tokenCost)
        XCTAssertEqual(m[0]!, 0, accuracy: 1e-9)
        let n = LikelihoodMargin.margins(prompts: [[1, 1]], refusals: [[90]], compliances: [[10]], maxTokens: 100, score: Self.tokenCost)
        XCTAssertEqual(n[0]!, -8.0, accuracy: 1e-5, "−9.0 − (−1.0)")
    }

    func testPromptsThatDoNotFitGetNoMarginAndTheRestKeepTheirPlace() {
        var calls: [[Int32]] = []
        let m = LikelihoodMargin.margins(prompts: [[5], [5, 5, 5, 5], [7]], refusals: [[1], [1], [4]], compliances: [[2], [2, 2], [4]],
                                         maxTokens: 4, score: { calls += $0; return Self.tokenCost($0) })
        XCTAssertEqual(m[0]!, 0.1, accuracy: 1e-6)
        XCTAssertNil(m[1], "5 + 2 tokens exceed 4")
        XCTAssertEqual(m[2]!, 0, accuracy: 1e-9)
        XCTAssertEqual(calls.count, 4, "two sequences for each prompt that fits, none for the one that does not")
    }
}
