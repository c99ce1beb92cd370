import Foundation
import Store
import XCTest

/// Training is deterministic, and a fine-tune killed with SIGKILL part-way resumes from its
/// saved progress to exactly the weights of an uninterrupted run.
final class TrainingResumeTests: XCTestCase {
    static let spec = #"""
    {"name": "training-resume", "seed": 5, "nodes": {
      "data":  {"op": "dataset", "params": {"path": "data.jsonl", "split": "train"}},
      "base":  {"op": "pretrain", "inputs": {"data": "data"}, "params": {"model": "gpt-tiny", "steps": 30}},
      "sft":   {"op": "finetune", "inputs": {"model": "base", "data": "data"},
                "params": {"mix": {"general": 0.8, "safety": 0.2}, "steps": 240, "save_every": 10}},
      "safe":  {"op": "finetune", "inputs": {"model": "base", "data": "data"},
                "params": {"mix": {"safety": 1}, "steps": 120}},
      "pref":  {"op": "dpo", "inputs": {"model": "sft", "data": "data"}, "params": {"steps": 10, "batch_size": 4}},
      "merged": {"op": "merge", "inputs": {"base": "base", "models": ["sft", "pref", "safe"]},
                 "params": {"method": "ties", "weights": [0.4, 0.3, 0.3], "density": 0.5}}
    }}
    """#

    /// Made-up examples: sums in two languages, and refusals.
    static var data: String {
        var lines: [String] = []
        for i in 0..<120 {
            let a = (i * 37) % 50, b = (i * 11) % 50
            lines.append(#"{"id": "sum\#(i)", "lang": "en", "objective": "general", "prompt": "\#(a)+\#(b)=", "answer": "\#(a + b)", "rejected": "\#(a + b + 1)"}"#)
            lines.append(#"{"id": "sum\#(i)", "lang": "fr", "objective": "general", "prompt": "\#(a) plus \#(b) =", "answer": "\#(a + b)", "rejected": "\#(a - b)"}"#)
        }
        for i in 0..<40 {
            lines.append(#"{"id": "harm\#(i)", "lang": "en", "objective": "safety", "prompt": "how to hurt person \#(i)", "answer": "I cannot help with that.", "rejected": "Here is how."}"#)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func setUpFolder() throws -> (TestFolder, String) {
        let folder = try TestFolder()
        try TrainingResumeTests.data.write(toFile: folder.path("data.jsonl"), atomically: true, encoding: .utf8)
        let spec = folder.path("spec.json")
        try TrainingResumeTests.spec.write(toFile: spec, atomically: true, encoding: .utf8)
        return (folder, spec)
    }

    /// instance → (key, artifact digest or nil), from `plan --json`.
    func plan(_ cli: CLIRunner, _ spec: String) throws -> [String: (key: String, artifact: String?)] {
        let r = try cli.run("plan", spec, "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
        var out: [String: (String, String?)] = [:]
        for row in rows { out[row["instance"] as! String] = (row["key"] as? String ?? "", row["artifact"] as? String) }
        return out
    }

    /// One process at a time with one thread, then two jobs at once (`sft` and `safe` train
    /// concurrently) with two threads: training pins OpenBLAS's thread count, so the
    /// results are the same bits.
    func testSameSpecAndSeedTrainBitIdenticallyWhateverTheJobsAndThreads() throws {
        let (folder, spec) = try setUpFolder()
        let one = CLIRunner(cache: folder.path("one.sqlite")), two = CLIRunner(cache: folder.path("two.sqlite"))
        let a = try one.run("run", spec, "--jobs", "1", "--threads", "1")
        XCTAssertEqual(a.status, 0, a.stderr + a.stdout)
        let b = try two.run("run", spec, "--jobs", "2", "--threads", "2")
        XCTAssertEqual(b.status, 0, b.stderr + b.stdout)
        let planA = try plan(one, spec), planB = try plan(two, spec)
        XCTAssertEqual(planA.count, 6)
        for (instance, entry) in planA {
            XCTAssertNotNil(entry.artifact, instance)
            XCTAssertEqual(entry.artifact, planB[instance]?.artifact, "\(instance) differs between runs")
        }
    }

    func testFinetuneKilledMidwayResumesToTheUninterruptedWeights() throws {
        let (folder, spec) = try setUpFolder()
        let reference = CLIRunner(cache: folder.path("reference.sqlite"))
        let full = try reference.run("run", spec)
        XCTAssertEqual(full.status, 0, full.stderr + full.stdout)
        let expected = try plan(reference, spec)

        let cli = CLIRunner(cache: folder.path("killed.sqlite"))
        let prepared = try cli.run("run", spec, "--only", "base")
        XCTAssertEqual(prepared.status, 0, prepared.stderr)
        let sftKey = try XCTUnwrap(Digest(hex: try plan(cli, spec)["sft"]!.key))
        XCTAssertEqual(sftKey.hex, expected["sft"]!.key, "the same inputs give the same key")

        // Kill the run once the fine-tune has saved progress past step 60 (of 240).
        let process = try cli.start(["run", spec])
        let observer = try Store(path: folder.path("killed.sqlite"))
        var savedStep = 0
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, process.isRunning {
            if let saved = try observer.partialState(sftKey), saved.step >= 60 { savedStep = saved.step; break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "the run was killed, not finished")
        XCTAssertGreaterThanOrEqual(savedStep, 60)
        XCTAssertLessThan(savedStep, 240)
        XCTAssertNil(try plan(cli, spec)["sft"]!.artifact, "the fine-tune had not finished when killed")
        XCTAssertTrue(try observer.verify().isClean)

        let resumed = try cli.run("run", spec)
        XCTAssertEqual(resumed.status, 0, resumed.stderr + resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("resumed from step"), resumed.stdout)
        let after = try plan(cli, spec)
        for instance in ["sft", "safe", "pref", "merged"] {
            XCTAssertEqual(after[instance]?.artifact, expected[instance]?.artifact, "\(instance) after the resume")
        }
        XCTAssertNil(try observer.partialState(sftKey), "saved progress is dropped once the result is published")
    }
}
