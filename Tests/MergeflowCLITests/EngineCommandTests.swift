import Foundation
import XCTest

/// The engine's commands end to end: run, plan, explain, graph, runs, show, schema.
final class EngineCommandTests: XCTestCase {
    let spec = #"""
    {"name": "cli-engine", "seed": 5, "nodes": {
      "models": {"op": "init", "grid": {"seed": [1, 2]}},
      "merged": {"op": "merge", "inputs": {"models": "models"}, "grid": {"weights": [[0.5, 0.5], [0.9, 0.1]]}}
    }}
    """#

    func testRunPlanExplainGraphRunsShow() throws {
        let folder = try TestFolder()
        let path = folder.path("spec.json")
        try spec.write(toFile: path, atomically: true, encoding: .utf8)
        let cli = CLIRunner(cache: folder.path("c.sqlite"))

        let plan = try cli.run("plan", path)
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(plan.stdout.contains("to run  models[seed=1]  (never run)"), plan.stdout)
        XCTAssertTrue(plan.stdout.contains("cli-engine: 4 instances, 0 cached, 4 to run"), plan.stdout)

        let run = try cli.run("run", path, "--jobs", "2")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("ran     merged[weights=0.9,0.1]"), run.stdout)
        XCTAssertTrue(run.stdout.contains("cli-engine: 4 ran, 0 cached"), run.stdout)
        let again = try cli.run("run", path)
        XCTAssertTrue(again.stdout.contains("cli-engine: 0 ran, 4 cached"), again.stdout)

        let changed = spec.replacingOccurrences(of: "[0.9, 0.1]", with: "[0.8, 0.2]")
        try changed.write(toFile: path, atomically: true, encoding: .utf8)
        let explain = try cli.run("explain", path, "merged")
        XCTAssertEqual(explain.status, 0, explain.stderr)
        XCTAssertTrue(explain.stdout.contains("merged[weights=0.5,0.5]: cached"), explain.stdout)
        XCTAssertTrue(explain.stdout.contains("merged[weights=0.8,0.2]: would run\n  - never run"), explain.stdout)
        let json = try cli.run("explain", path, "merged[weights=0.8,0.2]", "--json")
        let rows = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [[String: Any]]
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0]["state"] as? String, "run")

        let graph = try cli.run("graph", path)
        XCTAssertTrue(graph.stdout.hasPrefix("digraph \"cli-engine\" {"), graph.stdout)
        XCTAssertEqual(graph.stdout.components(separatedBy: " -> ").count - 1, 4, "two models into each of two merges")

        let runs = try cli.run("runs")
        XCTAssertTrue(runs.stdout.contains("cli-engine"), runs.stdout)
        XCTAssertTrue(runs.stdout.contains("4 cached"), runs.stdout)
        XCTAssertTrue(runs.stdout.contains("4 succeeded"), runs.stdout)

        let show = try cli.run("show", path, "merged[weights=0.5,0.5]")
        XCTAssertEqual(show.status, 0, show.stderr)
        XCTAssertTrue(show.stdout.contains("node      merged[weights=0.5,0.5] (op merge) in run 1 of cli-engine"), show.stdout)
        XCTAssertTrue(show.stdout.contains("\"weights\": ["), show.stdout)
        XCTAssertTrue(show.stdout.contains("engine    mergeflow "), show.stdout)

        let unknown = try cli.run("explain", path, "nope")
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("no node or instance \"nope\""), unknown.stderr)
    }

    func testInvalidSpecExitsWith2AndListsEveryProblem() throws {
        let folder = try TestFolder()
        let path = folder.path("bad.json")
        try #"{"name": "bad", "nodes": {"a": {"op": "init", "params": {"model": "huge"}}, "b": {"op": "merge", "inputs": {"models": ["zz"]}}}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let r = try CLIRunner(cache: folder.path("c.sqlite")).run("run", path)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("2 problems"), r.stderr)
        XCTAssertTrue(r.stderr.contains("nodes.a.params.model: expected one of"), r.stderr)
        XCTAssertTrue(r.stderr.contains("nodes.b.inputs.models[0]: reference to a missing node \"zz\""), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path("c.sqlite")), "nothing ran, no cache was created")
    }

    func testFailingNodeGivesExitCode1() throws {
        let folder = try TestFolder()
        let path = folder.path("fail.json")
        // Weights for three models on a two-model merge: fails at run time, not validation.
        try #"{"name": "f", "nodes": {"m": {"op": "init", "grid": {"seed": [1, 2]}}, "x": {"op": "merge", "inputs": {"models": "m"}, "params": {"weights": [1, 2, 3]}}}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let r = try CLIRunner(cache: folder.path("c.sqlite")).run("run", path)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("failed: x: weights has 3 values for 2 models"), r.stderr)
        XCTAssertTrue(r.stdout.contains("f: 2 ran, 0 cached, 1 failed"), r.stdout)
    }
}
