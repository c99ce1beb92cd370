import Foundation
import JSON
import XCTest
@testable import Store

/// The SQL views over eval results: `metrics` has every row of every metrics artifact,
/// `node_metrics` the rows of each spec node's latest result.
final class MetricViewsTests: XCTestCase {
    func publishMetrics(_ store: Store, stage: String, winRate: Double) throws -> Digest {
        let rows: JSONValue = .array([
            .object(JSONObject([("lang", "en"), ("objective", "general"), ("metric", "win_rate"), ("value", .number(winRate)), ("n", 10)])),
            .object(JSONObject([("lang", "all"), ("objective", "safety"), ("metric", "harmful_rate"), ("value", 0.25), ("n", 8)])),
        ])
        return try store.newArtifact(kind: "metrics", metadata: .object(JSONObject([("stage", .string(stage)), ("rows", rows)])))
            .publish().digest
    }

    func testMetricsAndNodeMetricsViews() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let first = try publishMetrics(store, stage: "SFT", winRate: 0.5)
        let second = try publishMetrics(store, stage: "SFT", winRate: 0.75)
        _ = try store.newArtifact(kind: "checkpoint").publish()  // other kinds have no rows
        XCTAssertEqual(try store.integerForTest("SELECT count(*) FROM metrics"), 4)
        XCTAssertEqual(try store.integerForTest("SELECT n FROM metrics WHERE metric = 'harmful_rate' LIMIT 1"), 8)

        // Node e of spec s ran twice (first, then second); spec t reused the first result.
        for (spec, artifact) in [("s", first), ("s", second), ("t", first)] {
            let run = try store.beginRun(specName: spec, specDigest: "d", command: "test", engineVersion: "0")
            try store.recordNodeRuns(run: run, [NodeRunRow(node: "e", op: "eval", actionKey: nil, status: .succeeded, artifact: artifact)])
        }
        XCTAssertEqual(try store.integerForTest("SELECT count(*) FROM node_metrics"), 4, "2 rows for s's latest, 2 for t")
        XCTAssertEqual(try store.integerForTest(
            "SELECT CAST(value * 100 AS INTEGER) FROM node_metrics WHERE spec = 's' AND node = 'e' AND metric = 'win_rate'"), 75)
        XCTAssertEqual(try store.integerForTest(
            "SELECT CAST(value * 100 AS INTEGER) FROM node_metrics WHERE spec = 't' AND metric = 'win_rate'"), 50)
        // A failed later attempt does not hide the last good result.
        let failed = try store.beginRun(specName: "s", specDigest: "d", command: "test", engineVersion: "0")
        try store.recordNodeRuns(run: failed, [NodeRunRow(node: "e", op: "eval", actionKey: nil, status: .failed, error: "boom")])
        XCTAssertEqual(try store.integerForTest("SELECT count(*) FROM node_metrics WHERE spec = 's'"), 2)
    }
}
