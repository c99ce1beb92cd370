import Foundation
import Store
import XCTest

/// Heavy ops run in a child process (`mergeflow exec`): a trap inside one fails that node
/// only, with the signal named and the end of its stderr, while the rest of the sweep
/// finishes and the cache stays clean.
final class CrashIsolationTests: XCTestCase {
    static let spec = #"""
    {"name": "crash-isolation", "seed": 5, "nodes": {
      "data":  {"op": "dataset", "params": {"path": "data.jsonl", "split": "train"}},
      "base":  {"op": "pretrain", "inputs": {"data": "data"}, "params": {"model": "gpt-tiny", "steps": 4}, "grid": {"seed": [1, 2, 3]}},
      "sft":   {"op": "finetune", "inputs": {"model": "base", "data": "data"}, "params": {"mix": {"general": 1}, "steps": 3}}
    }}
    """#

    func testATrapInAChildProcessFailsThatNodeOnly() throws {
        let folder = try TestFolder()
        try TrainingResumeTests.data.write(toFile: folder.path("data.jsonl"), atomically: true, encoding: .utf8)
        let spec = folder.path("spec.json")
        try CrashIsolationTests.spec.write(toFile: spec, atomically: true, encoding: .utf8)
        var cli = CLIRunner(cache: folder.path("cache.sqlite"))
        cli.environment["MERGEFLOW_FAULT_TRAP"] = "base[seed=2]"

        let r = try cli.run("run", spec, "--jobs", "2")
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        // The coordinator survived to print its summary: 1 data, 2 base, 2 sft ran.
        XCTAssertTrue(r.stdout.contains("crash-isolation: 5 ran, 0 cached, 1 failed, 1 skipped"), r.stdout)
        let failure = r.stderr.split(separator: "\n").first { $0.hasPrefix("failed: base[seed=2]") }.map(String.init) ?? ""
        XCTAssertTrue(failure.contains("killed by signal SIGILL"), r.stderr)
        // The last lines of the child's stderr: Swift's own message for the trap.
        XCTAssertTrue(r.stderr.contains("injected trap in base[seed=2]"), r.stderr)

        let store = try Store(path: folder.path("cache.sqlite"))
        let run = try XCTUnwrap(try store.runs().first)
        XCTAssertEqual(run.status, "failed")
        XCTAssertEqual(run.counts, ["succeeded": 5, "failed": 1, "skipped": 1])
        let nodes = try store.nodeRuns(ofRun: run.id)
        XCTAssertTrue(nodes.first { $0.node == "base[seed=2]" }?.error?.contains("SIGILL") ?? false)
        XCTAssertEqual(nodes.first { $0.node == "sft[seed=2]" }?.status, .skipped)
        XCTAssertTrue(try store.verify().isClean)
        XCTAssertEqual(try store.status().actionCount, 5, "nothing of the trapped node was published")

        // Without the fault the rerun computes only what failed, and the lease was released.
        cli.environment["MERGEFLOW_FAULT_TRAP"] = nil
        let again = try cli.run("run", spec)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("crash-isolation: 2 ran, 5 cached"), again.stdout)
    }
}
