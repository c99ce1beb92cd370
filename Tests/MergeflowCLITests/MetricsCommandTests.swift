import Foundation
import XCTest

/// `mergeflow metrics`: the rows of a spec's cached evals, filtered, as a table or CSV.
final class MetricsCommandTests: XCTestCase {
    let spec = #"""
    {"name": "cli-metrics", "seed": 3, "nodes": {
      "test": {"op": "dataset", "params": {"path": "data.jsonl"}},
      "a": {"op": "init", "params": {"seed": 1}},
      "b": {"op": "init", "grid": {"seed": [2, 3]}},
      "eval_a": {"op": "eval", "inputs": {"model": "a", "reference": "a", "data": ["test"]}, "params": {"max_new_tokens": 4}},
      "eval_b": {"op": "eval", "inputs": {"model": "b", "reference": "a", "data": ["test"]}, "params": {"max_new_tokens": 4}}
    }}
    """#

    func testTableCSVFiltersAndMissingResults() throws {
        let folder = try TestFolder()
        let path = folder.path("spec.json")
        try spec.write(toFile: path, atomically: true, encoding: .utf8)
        var lines: [String] = []
        for i in 0..<3 {
            lines.append(#"{"id": "g\#(i)", "lang": "en", "objective": "general", "prompt": "say \#(i)", "answer": "ok \#(i)"}"#)
            lines.append(#"{"id": "s\#(i)", "lang": "en", "objective": "safety", "prompt": "harm \#(i)", "answer": "no"}"#)
        }
        try lines.joined(separator: "\n").write(toFile: folder.path("data.jsonl"), atomically: true, encoding: .utf8)
        let cli = CLIRunner(cache: folder.path("c.sqlite"))

        // Before running: nothing to show, and the instances are named as missing.
        let before = try cli.run("metrics", path)
        XCTAssertEqual(before.status, 0, before.stderr)
        XCTAssertEqual(before.stdout.split(separator: "\n").count, 1, "header only: \(before.stdout)")
        XCTAssertTrue(before.stderr.contains("not in the cache (run the spec first): eval_a, eval_b[seed=2], eval_b[seed=3]"), before.stderr)

        XCTAssertEqual(try cli.run("run", path).status, 0)
        let all = try cli.run("metrics", path)
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertTrue(all.stdout.hasPrefix("instance"), all.stdout)
        XCTAssertTrue(all.stderr.isEmpty, all.stderr)
        let winRates = try cli.run("metrics", path, "--metric", "win_rate", "--lang", "all", "--csv")
        let csv = winRates.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(csv.first, "instance,stage,lang,objective,metric,value,n")
        XCTAssertEqual(csv.count, 4, "one win-rate row per eval instance: \(csv)")
        XCTAssertTrue(csv.contains("eval_a,eval,all,general,win_rate,0.5,3"), "a model against itself ties: \(csv)")
        XCTAssertTrue(csv.contains { $0.hasPrefix("eval_b[seed=2],eval,all,general,win_rate,") }, "grid instances by id: \(csv)")

        // One node only; a node that is not an eval is a usage error.
        let one = try cli.run("metrics", path, "eval_a", "--objective", "safety", "--csv")
        XCTAssertTrue(one.stdout.split(separator: "\n").dropFirst().allSatisfy { $0.hasPrefix("eval_a,eval,") && $0.contains(",safety,") }, one.stdout)
        let wrong = try cli.run("metrics", path, "a")
        XCTAssertEqual(wrong.status, 2)
        XCTAssertTrue(wrong.stderr.contains("a is not an eval (its result is a checkpoint)"), wrong.stderr)
    }
}
