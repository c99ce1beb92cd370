import JSON
import XCTest
@testable import Store

/// The one metric-row codec: what eval stores, what commands write, what reports and
/// `mergeflow metrics` read, and the SQL views' columns.
final class MetricRowTests: XCTestCase {
    func testRowsRoundTripInTheStoredKeyOrder() throws {
        let row = MetricRow(lang: "fr", objective: "safety", metric: "harmful_rate", value: 0.25, n: 8, sd: 0.5)
        XCTAssertEqual(row.json.serialized(pretty: false), #"{"lang":"fr","objective":"safety","metric":"harmful_rate","value":0.25,"n":8,"sd":0.5}"#)
        XCTAssertEqual(try MetricRow(checking: row.json), row)
        var noSD = row
        noSD.sd = nil
        XCTAssertEqual(noSD.json.objectValue?.keys, ["lang", "objective", "metric", "value", "n"])
        XCTAssertEqual(MetricRow.rows(inMetadata: .object(JSONObject([("rows", .array([row.json, noSD.json, "junk"]))]))), [row, noSD])
    }

    func testStrictCheckingSaysWhatIsWrong() {
        func problem(_ text: String) -> String {
            do {
                _ = try MetricRow(checking: try JSONValue.parse(text))
                return "accepted"
            } catch {
                return (error as? MetricRow.Problem)?.message ?? "\(error)"
            }
        }
        XCTAssertEqual(problem(#"[1]"#), #"expected a JSON object {"lang", "objective", "metric", "value", "n"}"#)
        XCTAssertEqual(problem(#"{"lang": "en", "objective": "g", "metric": "m", "value": 1, "n": 1, "colour": 2}"#),
                       #"unknown key "colour" (allowed: lang, objective, metric, value, n, sd)"#)
        XCTAssertEqual(problem(#"{"lang": "", "objective": "g", "metric": "m", "value": 1, "n": 1}"#), #""lang" must be a non-empty string"#)
        XCTAssertEqual(problem(#"{"lang": "en", "objective": "g", "metric": "m", "value": "1", "n": 1}"#), #""value" must be a finite number"#)
        XCTAssertEqual(problem(#"{"lang": "en", "objective": "g", "metric": "m", "value": 1, "n": 1.5}"#), #""n" must be a whole number ≥ 0"#)
        XCTAssertEqual(problem(#"{"lang": "en", "objective": "g", "metric": "m", "value": 1, "n": 1, "sd": -1}"#), #""sd" must be a number ≥ 0"#)
    }

    func testJSONLinesNameTheBadLineAndSkipBlankOnes() throws {
        let good = #"{"lang": "en", "objective": "g", "metric": "m", "value": 1, "n": 1}"#
        XCTAssertEqual(try MetricRow.jsonLines(good + "\n\n   \n" + good + "\n").count, 2)
        XCTAssertThrowsError(try MetricRow.jsonLines(good + "\n\nnot json\n")) { error in
            let e = error as! MetricRow.LineProblem
            XCTAssertEqual(e.line, 3)
            XCTAssertTrue(e.problem.message.hasPrefix("expected a JSON object"))
        }
    }

    /// The `metrics` view exposes exactly the codec's stored fields.
    func testTheMetricsViewHasTheCodecsColumns() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let row = MetricRow(lang: "en", objective: "general", metric: "chrf", value: 41.5, n: 12, sd: 3)
        _ = try store.newArtifact(kind: MetricRow.artifactKind, metadata: .object(JSONObject([("stage", "SFT"), ("rows", .array([row.json]))]))).publish()
        XCTAssertEqual(try store.integerForTest("SELECT n FROM metrics WHERE lang = 'en' AND objective = 'general' AND metric = 'chrf' AND value = 41.5"), 12)
    }
}
