import Foundation
import Store
import XCTest

/// A sweep killed with SIGKILL at random moments resumes to bit-identical results; two
/// processes on one cache never compute the same key twice.
final class SweepResumeTests: XCTestCase {
    /// Real ops, big enough to take a few seconds: four gpt-mini initialisations and
    /// merges over them.
    static let spec = #"""
    {"name": "resume-test", "seed": 3, "nodes": {
      "models": {"op": "init", "params": {"model": "gpt-mini"}, "grid": {"seed": [1, 2, 3, 4]}},
      "merged": {"op": "merge", "inputs": {"models": "models"}, "grid": {"weights": [[1, 1, 1, 1], [0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]]}},
      "pair":   {"op": "merge", "inputs": {"models": ["models[seed=1]", "models[seed=2]"]}, "params": {"weights": [0.7, 0.3]}},
      "again":  {"op": "merge", "inputs": {"models": ["merged", "pair"]}}
    }}
    """#

    func writeSpec(_ folder: TestFolder) throws -> String {
        let path = folder.path("spec.json")
        try SweepResumeTests.spec.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// instance → artifact digest, from `plan --json`.
    func artifacts(_ cli: CLIRunner, _ spec: String) throws -> [String: String] {
        let r = try cli.run("plan", spec, "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
        var out: [String: String] = [:]
        for row in rows { out[row["instance"] as! String] = row["artifact"] as? String }
        return out
    }

    func testSIGKILLAtRandomMomentsResumesToBitIdenticalResults() throws {
        let folder = try TestFolder()
        let spec = try writeSpec(folder)
        let reference = CLIRunner(cache: folder.path("reference.sqlite"))
        let t0 = Date()
        let full = try reference.run("run", spec, "--jobs", "2")
        let duration = Date().timeIntervalSince(t0)
        XCTAssertEqual(full.status, 0, full.stderr)
        let expected = try artifacts(reference, spec)
        XCTAssertEqual(expected.count, 9)
        XCTAssertTrue(expected.values.allSatisfy { $0.count == 64 })

        let cli = CLIRunner(cache: folder.path("killed.sqlite"))
        var rng = SystemRandomNumberGenerator()
        var interrupted = 0
        for attempt in 0..<4 {
            let p = try cli.start(["run", spec, "--jobs", "2"])
            // The first kill comes early in a run that starts from an empty cache, so at least
            // one lands mid-run even when a run is quick; the others fall anywhere in the
            // first 80% of a full run (a later run has less left to do and may finish first).
            let latest = attempt == 0 ? max(0.06, duration * 0.25) : max(0.1, duration * 0.8)
            Thread.sleep(forTimeInterval: Double.random(in: 0.05...latest, using: &rng))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if p.terminationReason == .uncaughtSignal { interrupted += 1 }
            let store = try Store(path: folder.path("killed.sqlite"))
            XCTAssertTrue(try store.verify().isClean)
        }
        XCTAssertGreaterThan(interrupted, 0, "at least one kill landed mid-run (a full run takes \(duration) s)")
        let resumed = try cli.run("run", spec)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try artifacts(cli, spec), expected, "resumed sweep is bit-identical to an uninterrupted one")
        // Finished work was not recomputed: each key executed at most once to success.
        let store = try Store(path: folder.path("killed.sqlite"))
        for run in try store.runs(limit: 100) {
            for n in try store.nodeRuns(ofRun: run.id) where n.status == .succeeded {
                let successes = try store.executions(ofKey: Digest(hex: n.actionKey)!).filter { $0.status == .succeeded }
                XCTAssertEqual(successes.count, 1, "\(n.node) succeeded \(successes.count) times")
            }
        }
        let runs = try cli.run("runs")
        XCTAssertTrue(runs.stdout.contains("interrupted"), runs.stdout)
    }

    func testTwoProcessesOnOneCacheNeverComputeAKeyTwice() throws {
        let folder = try TestFolder()
        let spec = try writeSpec(folder)
        let cli = CLIRunner(cache: folder.path("shared.sqlite"))
        // Each process's stderr into its stdout pipe, so a failure's message is in the text read.
        let outA = Pipe(), outB = Pipe()
        let a = try cli.start(["run", spec], stdout: outA, stderr: outA)
        let b = try cli.start(["run", spec, "--jobs", "2"], stdout: outB, stderr: outB)
        let textA = String(decoding: outA.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let textB = String(decoding: outB.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        a.waitUntilExit()
        b.waitUntilExit()
        XCTAssertEqual(a.terminationStatus, 0, textA)
        XCTAssertEqual(b.terminationStatus, 0, textB)
        let store = try Store(path: folder.path("shared.sqlite"))
        let runs = try store.runs()
        XCTAssertEqual(runs.count, 2)
        // The runs really overlapped (otherwise the test proves nothing).
        XCTAssertLessThan(runs[0].started, runs[1].finished!)
        XCTAssertLessThan(runs[1].started, runs[0].finished!)
        var executedKeys: [String: Int] = [:]
        var recorded = 0
        for run in runs {
            for n in try store.nodeRuns(ofRun: run.id) {
                recorded += 1
                if n.status != .cached { executedKeys[n.actionKey, default: 0] += 1 }
            }
        }
        XCTAssertEqual(recorded, 18, "each process accounts for all 9 instances")
        XCTAssertEqual(executedKeys.count, 9, "every key was computed")
        XCTAssertTrue(executedKeys.values.allSatisfy { $0 == 1 }, "no key computed twice: \(executedKeys)")
    }

    /// Two processes creating one new cache at the same moment both open it. Switching the
    /// new file to WAL could meet the other's lock and fail at once with "database is
    /// locked" (2% of such pairs of `status` before the opening retried: 4 in 200).
    func testTwoProcessesCreatingOneCacheBothOpenIt() throws {
        let folder = try TestFolder()
        for i in 0..<100 {
            let cli = CLIRunner(cache: folder.path("new-\(i).sqlite"))
            let errA = Pipe(), errB = Pipe()
            let a = try cli.start(["status"], stderr: errA), b = try cli.start(["status"], stderr: errB)
            let textA = String(decoding: errA.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let textB = String(decoding: errB.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            a.waitUntilExit()
            b.waitUntilExit()
            XCTAssertEqual(a.terminationStatus, 0, "pair \(i): \(textA)")
            XCTAssertEqual(b.terminationStatus, 0, "pair \(i): \(textB)")
            if a.terminationStatus != 0 || b.terminationStatus != 0 { break }
        }
    }
}

