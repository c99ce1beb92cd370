import Foundation
import XCTest
@testable import Evaluation

/// chrF against sacrebleu's own sentence scores (`Fixtures/chrf.json`, written by
/// `scripts/reference/make_chrf_fixtures.py`).
final class ChrFReferenceTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let name: String
            let hypothesis: String
            let reference: String
            let chrf: Double
            /// [hypothesis, reference, matches] per order 1…6, flattened.
            let statistics: [Int]
        }
        let sacrebleu: String
        let signature: String
        let cases: [Case]
    }

    static func loadFixture() throws -> Fixture {
        let folder = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: folder.appendingPathComponent("chrf.json")))
    }

    /// Shows the code points, since the interesting cases differ only in them.
    static func describe(_ c: Fixture.Case) -> String {
        func scalars(_ s: String) -> String { s.unicodeScalars.map { String(format: "U+%04X", $0.value) }.joined(separator: " ") }
        return "case \(c.name): hypothesis \"\(c.hypothesis)\" [\(scalars(c.hypothesis))], reference \"\(c.reference)\" [\(scalars(c.reference))]"
    }

    func testScoresMatchSacrebleu() throws {
        let fixture = try Self.loadFixture()
        XCTAssertEqual(fixture.signature, "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:\(fixture.sacrebleu)")
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 40)
        var worst = 0.0
        for c in fixture.cases {
            let score = ChrF.score(hypothesis: c.hypothesis, reference: c.reference)
            worst = max(worst, abs(score - c.chrf))
            XCTAssertEqual(score, c.chrf, accuracy: 1e-9, "chrF \(score), sacrebleu \(c.chrf); \(Self.describe(c))")
        }
        print("chrF vs sacrebleu \(fixture.sacrebleu): \(fixture.cases.count) cases, worst |difference| \(worst)")
    }

    /// The n-gram counts behind each score, so a disagreement points at its order.
    func testStatisticsMatchSacrebleu() throws {
        for c in try Self.loadFixture().cases {
            let counts = ChrF.statistics(hypothesis: c.hypothesis, reference: c.reference)
                .flatMap { [$0.hypothesis, $0.reference, $0.matches] }
            XCTAssertEqual(counts, c.statistics, Self.describe(c))
        }
    }
}
