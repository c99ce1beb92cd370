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

    /// `command` nodes run in workers kept between jobs: a worker that traps fails its job
    /// only (signal named, its stderr for that job quoted), a new worker takes the next jobs,
    /// and no worker outlives the run.
    func testATrapInACommandWorkerFailsThatNodeOnlyAndWorkersEndWithTheRun() throws {
        let folder = try TestFolder()
        let spec = folder.path("spec.json")
        try #"""
        {"name": "workers", "nodes": {
          "step": {"op": "command", "params": {"argv": ["sh", "-c", "echo $PPID > {outputs.out}/worker", "{vars.i}"], "outputs": {"out": "files"}},
                   "grid": {"vars.i": [1, 2, 3, 4, 5, 6]}}
        }}
        """#.replacingOccurrences(of: "echo $PPID > {outputs.out}/worker", with: "mkdir {outputs.out} && echo $PPID > {outputs.out}/worker")
            .write(toFile: spec, atomically: true, encoding: .utf8)
        var cli = CLIRunner(cache: folder.path("cache.sqlite"))
        cli.environment["MERGEFLOW_FAULT_TRAP"] = "step[vars.i=3]"
        let r = try cli.run("run", spec, "--jobs", "1")
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("workers: 5 ran, 0 cached, 1 failed"), r.stdout)
        let failure = r.stderr.split(separator: "\n").first { $0.hasPrefix("failed: step[vars.i=3]") }.map(String.init) ?? ""
        XCTAssertTrue(failure.contains("its worker process killed by signal SIGILL"), r.stderr)
        XCTAssertTrue(r.stderr.contains("injected trap in step[vars.i=3]"), r.stderr)
        // Programs ran under two workers (one before the trap, one after), each reused.
        let store = try Store(path: folder.path("cache.sqlite"))
        var workers: [String: Int] = [:]
        for run in try store.nodeRuns(ofRun: try XCTUnwrap(store.runs().first).id) where run.status == .succeeded && run.op == "command" {
            let manifest = try store.manifest(XCTUnwrap(Digest(hex: XCTUnwrap(run.artifact))))
            let pid = String(decoding: try store.bytes(of: XCTUnwrap(manifest.tensor(named: "worker"))), as: UTF8.self)
            workers[pid, default: 0] += 1
        }
        XCTAssertEqual(workers.count, 2, "\(workers)")
        XCTAssertEqual(workers.values.sorted(), [2, 3])
        // Every worker ended with the run.
        for pid in workers.keys {
            XCTAssertNotEqual(kill(pid_t(pid.trimmingCharacters(in: .whitespacesAndNewlines))!, 0), 0, "worker \(pid) still running")
        }
        XCTAssertTrue(try store.verify().isClean)
    }
}
