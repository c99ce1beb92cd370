import Foundation
import Store
import XCTest

/// `run --executor slurm` end to end against a real Slurm cluster: the single-host one of
/// `scripts/slurm-local.sh`, started here if it is not running (and stopped again), or the
/// one `SLURM_CONF` names. Skipped, saying why, only where Slurm cannot start.
///
/// `sbatch` calls are counted by a wrapper first on the runs' PATH, so a count survives the
/// coordinator being killed.
final class SlurmExecutorTests: XCTestCase {
    /// Why Slurm is unavailable, once the class has tried; nil when it runs.
    nonisolated(unsafe) static var unavailable: String?
    /// SLURM_CONF for the runs.
    nonisolated(unsafe) static var conf = ""
    /// Whether this class started the cluster (and so stops it).
    nonisolated(unsafe) static var startedCluster = false

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var script: String { repository.appendingPathComponent("scripts/slurm-local.sh").path }

    override class func setUp() {
        super.setUp()
        let env = ProcessInfo.processInfo.environment
        if let given = env["SLURM_CONF"], clusterAnswers(conf: given) {
            conf = given
            return
        }
        let local = shell("\(script) env").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "export SLURM_CONF=", with: "")
        if !local.isEmpty, clusterAnswers(conf: local) {
            conf = local
            return
        }
        let start = shell("\(script) start")
        let started = start.stdout.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "export SLURM_CONF=", with: "")
        if start.status == 0, clusterAnswers(conf: started) {
            conf = started
            startedCluster = true
        } else {
            unavailable = "the local Slurm cluster could not start (scripts/slurm-local.sh start exited \(start.status)): \(start.stderr.suffix(600))"
            FileHandle.standardError.write(Data("SlurmExecutorTests: SKIPPED: \(unavailable!)\n".utf8))
        }
    }

    override class func tearDown() {
        if startedCluster {
            _ = shell("\(script) stop")
            startedCluster = false
        }
        super.tearDown()
    }

    static func clusterAnswers(conf: String) -> Bool {
        let r = shell("SLURM_CONF='\(conf)' sinfo -h -o %T")
        return r.status == 0 && ["idle", "mixed", "allocated", "completing"].contains { r.stdout.contains($0) }
    }

    /// Runs `command` with /bin/sh; its output goes through files, not pipes, so daemons it
    /// starts cannot keep the call waiting for the end of a pipe. Spawned and reaped with
    /// posix_spawn and waitpid: Foundation's `Process.waitUntilExit` once waited 15 minutes on
    /// an exited (zombie) `slurm-local.sh start` here, its exit never noticed.
    static func shell(_ command: String) -> (status: Int32, stdout: String, stderr: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-sh-\(UUID().uuidString)").path
        defer { for s in [".out", ".err"] { try? FileManager.default.removeItem(atPath: base + s) } }
        let argv = ["/bin/sh", "-c", "{ \(command); } </dev/null >'\(base).out' 2>'\(base).err'"]
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", nil, nil, &cArgs, environ)
        guard rc == 0 else { return (127, "", "cannot start /bin/sh: \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let o = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let e = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        // Exit status, or 128 + the signal that ended it (as a shell reports it).
        let exit = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exit, o, e)
    }

    override func setUpWithError() throws {
        if let reason = SlurmExecutorTests.unavailable { throw XCTSkip("Slurm unavailable: \(reason)") }
    }

    // MARK: Helpers

    /// A CLI on `folder`'s cache whose `sbatch` calls are logged to `folder/sbatch.log`.
    func cli(_ folder: TestFolder, cache: String = "mf.sqlite") throws -> CLIRunner {
        let bin = folder.path("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let real = SlurmExecutorTests.shell("command -v sbatch").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let wrapper = "#!/bin/sh\necho \"$*\" >> '\(folder.path("sbatch.log"))'\nexec '\(real)' \"$@\"\n"
        try wrapper.write(toFile: bin + "/sbatch", atomically: true, encoding: .utf8)
        chmod(bin + "/sbatch", 0o755)
        var runner = CLIRunner(cache: folder.path(cache))
        runner.environment["SLURM_CONF"] = SlurmExecutorTests.conf
        runner.environment["PATH"] = bin + ":" + (runner.environment["PATH"] ?? "/usr/bin:/bin")
        return runner
    }

    func sbatchCalls(_ folder: TestFolder) -> Int {
        ((try? String(contentsOfFile: folder.path("sbatch.log"), encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    func squeueState(_ job: String) -> String? {
        let r = SlurmExecutorTests.shell("SLURM_CONF='\(SlurmExecutorTests.conf)' squeue -h -r -t all -j \(job) -o %T")
        return r.stdout.split(separator: "\n").first.map(String.init)
    }

    /// Waits until `cache` records `count` Slurm jobs, all RUNNING; returns their ids.
    func waitForRunningJobs(_ cache: String, count: Int, timeout: TimeInterval = 60) throws -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: cache) {
                let jobs = try Store(path: cache).remoteJobs().map(\.jobID)
                if jobs.count == count, jobs.allSatisfy({ squeueState($0) == "RUNNING" }) { return jobs }
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTFail("\(count) Slurm jobs never ran together")
        return []
    }

    func write(_ spec: String, in folder: TestFolder) throws -> String {
        let path = folder.path("spec.json")
        try spec.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// instance → artifact, from `plan --json`.
    func artifacts(_ cli: CLIRunner, _ spec: String) throws -> [String: String] {
        let r = try cli.run("plan", spec, "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
        var out: [String: String] = [:]
        for row in rows { out[row["instance"] as! String] = row["artifact"] as? String ?? "" }
        return out
    }

    /// One command; eight that read it (all ready the moment it finishes); eight more, each
    /// reading one of those (ready as each finishes).
    static let grid = #"""
    {"name": "slurm-grid", "nodes": {
      "seed": {"op": "command", "params": {"argv": ["sh", "-c", "mkdir {outputs.out} && echo 0 > {outputs.out}/n.txt"],
               "outputs": {"out": "files"}}},
      "make": {"op": "command", "inputs": {"seed": "seed"},
               "params": {"argv": ["sh", "-c", "mkdir {outputs.out} && cat {inputs.seed}/n.txt > {outputs.out}/n.txt && echo {vars.i} >> {outputs.out}/n.txt"],
               "outputs": {"out": "files"}}, "grid": {"vars.i": [1, 2, 3, 4, 5, 6, 7, 8]}},
      "double": {"op": "command", "inputs": {"src": "make"},
               "params": {"argv": ["sh", "-c", "mkdir {outputs.out} && cat {inputs.src}/n.txt {inputs.src}/n.txt > {outputs.out}/n.txt"],
               "outputs": {"out": "files"}}, "resources": {"threads": 1, "memory_gb": 0.1}}
    }}
    """#

    // MARK: Tests

    /// Instances ready at the same moment go in one job array. (Those that become ready as
    /// their inputs finish one by one are submitted in as many arrays as there are moments:
    /// how many depends on the cluster's timing, so only a bound is checked for them.)
    func testGridGivesTheLocalDigestsWithAJobArrayForAWideLevel() throws {
        let folder = try TestFolder()
        let spec = try write(SlurmExecutorTests.grid, in: folder)
        let slurm = try cli(folder)
        let r = try slurm.run("run", spec, "--executor", "slurm")
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        XCTAssertTrue(r.stdout.contains("17 ran, 0 cached, "), r.stdout)
        let calls = try String(contentsOfFile: folder.path("sbatch.log"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(calls.count, sbatchCalls(folder))
        XCTAssertTrue(r.stdout.contains("\(calls.count) sbatch calls"), r.stdout)
        XCTAssertTrue(calls.first?.contains("--array=0-0") == true, "\(calls)")
        XCTAssertTrue(calls.count >= 2 && calls[1].contains("--array=0-7"), "the eight instances ready together are one array: \(calls)")
        XCTAssertLessThanOrEqual(calls.count, 6, "\(calls)")
        XCTAssertTrue(calls.dropFirst(2).allSatisfy { $0.contains("--mem=103M") }, "resources.memory_gb becomes --mem: \(calls)")

        let local = try cli(folder, cache: "local.sqlite")
        let l = try local.run("run", spec)
        XCTAssertEqual(l.status, 0, l.stderr)
        let remote = try artifacts(slurm, spec), here = try artifacts(local, spec)
        XCTAssertEqual(remote.count, 17)
        XCTAssertFalse(remote.values.contains(""), "\(remote)")
        XCTAssertEqual(remote, here, "Slurm and the local executor give the same artifacts")
        let logs = try slurm.run("logs", spec, "double[vars.i=3]")
        XCTAssertEqual(logs.status, 0, logs.stderr)
        XCTAssertTrue(logs.stdout.contains("== double[vars.i=3]: "), "a command's log comes back from its job: \(logs.stdout)")

        let again = try slurm.run("run", spec, "--executor", "slurm")
        XCTAssertTrue(again.stdout.contains("0 ran, 17 cached, 0 sbatch calls"), again.stdout)
        XCTAssertTrue(try Store(path: folder.path("mf.sqlite")).remoteJobs().isEmpty, "imported jobs are forgotten")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path("mergeflow-spool/jobs"))
        XCTAssertEqual(leftovers, [], "imported task folders are removed")
    }

    func testAFailingJobQuotesItsStderrAndFailsOnlyItsDependents() throws {
        let folder = try TestFolder()
        let spec = try write(#"""
        {"name": "slurm-fail", "nodes": {
          "bad": {"op": "command", "params": {"argv": ["sh", "-c", "echo the trainer diverged >&2; exit 3"], "outputs": {"out": "files"}}},
          "after": {"op": "command", "inputs": {"m": "bad"}, "params": {"argv": ["mkdir", "{outputs.out}"], "outputs": {"out": "files"}}},
          "good": {"op": "command", "params": {"argv": ["mkdir", "{outputs.out}"], "outputs": {"out": "files"}}}
        }}
        """#, in: folder)
        let r = try cli(folder).run("run", spec, "--executor", "slurm")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("1 ran, 0 cached, 1 failed, 1 skipped"), r.stdout)
        XCTAssertTrue(r.stderr.contains("failed: bad: sh exited with status 3"), r.stderr)
        XCTAssertTrue(r.stderr.contains("the trainer diverged"), r.stderr)
    }

    func testAJobPastItsSlurmTimeLimitFailsSayingSo() throws {
        let folder = try TestFolder()
        let spec = try write(#"""
        {"name": "slurm-timeout", "nodes": {
          "slow": {"op": "command", "params": {"argv": ["sleep", "600"], "outputs": {"out": "files"}}}
        }}
        """#, in: folder)
        // One minute, Slurm's smallest limit; it is enforced within 30 s after.
        let started = Date()
        let r = try cli(folder).run("run", spec, "--executor", "slurm", "--slurm-arg=--time=1")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("reached its time limit"), r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 300)
    }

    func testScancelOfAJobFailsItsNode() throws {
        let folder = try TestFolder()
        let spec = try write(#"""
        {"name": "slurm-cancel", "nodes": {
          "slow": {"op": "command", "params": {"argv": ["sleep", "600"], "outputs": {"out": "files"}}}
        }}
        """#, in: folder)
        let slurm = try cli(folder)
        let out = Pipe(), err = Pipe()
        let process = try slurm.start(["run", spec, "--executor", "slurm"], stdout: out, stderr: err)
        let jobs = try waitForRunningJobs(folder.path("mf.sqlite"), count: 1)
        _ = SlurmExecutorTests.shell("SLURM_CONF='\(SlurmExecutorTests.conf)' scancel \(jobs.joined(separator: " "))")
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 1)
        XCTAssertTrue(String(decoding: e, as: UTF8.self).contains("was cancelled"), String(decoding: e, as: UTF8.self))
    }

    func testCtrlCCancelsTheSweepsJobs() throws {
        let folder = try TestFolder()
        let spec = try write(#"""
        {"name": "slurm-interrupt", "nodes": {
          "slow": {"op": "command", "params": {"argv": ["sleep", "600"], "outputs": {"out": "files"}}, "grid": {"vars.i": [1, 2]}}
        }}
        """#, in: folder)
        let process = try cli(folder).start(["run", spec, "--executor", "slurm"])
        let jobs = try waitForRunningJobs(folder.path("mf.sqlite"), count: 2)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + SIGINT)
        let deadline = Date().addingTimeInterval(30)
        var states: [String?] = []
        repeat {
            states = jobs.map(squeueState)
            if states.allSatisfy({ $0 == "CANCELLED" }) { break }
            Thread.sleep(forTimeInterval: 0.2)
        } while Date() < deadline
        XCTAssertEqual(states, jobs.map { _ in "CANCELLED" })
    }

    func testAJobWhoseNodeDiesIsSubmittedAgain() throws {
        let folder = try TestFolder()
        let spec = try write(#"""
        {"name": "slurm-node-death", "nodes": {
          "step": {"op": "command", "params": {"argv": ["sh", "-c", "sleep 3 && mkdir {outputs.out}"], "outputs": {"out": "files"}}}
        }}
        """#, in: folder)
        let node = SlurmExecutorTests.shell("SLURM_CONF='\(SlurmExecutorTests.conf)' sinfo -h -o %n").stdout
            .split(separator: "\n").first.map(String.init) ?? ""
        func setNode(_ state: String) {
            _ = SlurmExecutorTests.shell("SLURM_CONF='\(SlurmExecutorTests.conf)' scontrol update NodeName=\(node) State=\(state) Reason=mergeflow-test")
        }
        defer { setNode("RESUME") }
        let err = Pipe()
        // Not requeued by Slurm itself: the job ends NODE_FAIL, and mergeflow resubmits it.
        let process = try cli(folder).start(["run", spec, "--executor", "slurm", "--slurm-arg=--no-requeue"], stderr: err)
        _ = try waitForRunningJobs(folder.path("mf.sqlite"), count: 1)
        setNode("DOWN")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, sbatchCalls(folder) < 2 { Thread.sleep(forTimeInterval: 0.2) }
        XCTAssertEqual(sbatchCalls(folder), 2, "submitted again after its node died")
        setNode("RESUME")
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = String(decoding: e, as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        XCTAssertTrue(stderr.contains("ended NODE_FAIL; submitting it again"), stderr)
    }

    func testKillDashNineOfTheCoordinatorThenARerunReattachesWithoutResubmitting() throws {
        let folder = try TestFolder()
        let spec = try write(#"""
        {"name": "slurm-reattach", "nodes": {
          "step": {"op": "command", "params": {"argv": ["sh", "-c", "sleep 4 && mkdir {outputs.out} && echo {vars.i} > {outputs.out}/n"],
                   "outputs": {"out": "files"}}, "grid": {"vars.i": [1, 2]}}
        }}
        """#, in: folder)
        let slurm = try cli(folder)
        let process = try slurm.start(["run", spec, "--executor", "slurm"])
        let jobs = try waitForRunningJobs(folder.path("mf.sqlite"), count: 2)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(sbatchCalls(folder), 1)
        XCTAssertTrue(jobs.allSatisfy { squeueState($0) == "RUNNING" }, "the jobs outlive their coordinator")

        let rerun = try slurm.run("run", spec, "--executor", "slurm")
        XCTAssertEqual(rerun.status, 0, rerun.stderr + rerun.stdout)
        XCTAssertTrue(rerun.stdout.contains("2 ran, 0 cached, 0 sbatch calls, 2 re-attached"), rerun.stdout)
        XCTAssertEqual(sbatchCalls(folder), 1, "nothing was submitted twice")
        let local = try cli(folder, cache: "local.sqlite")
        XCTAssertEqual(try local.run("run", spec).status, 0)
        XCTAssertEqual(try artifacts(slurm, spec), try artifacts(local, spec))
    }

    func testARequeuedFinetuneResumesFromItsProgressInTheSpoolBitIdentically() throws {
        let folder = try TestFolder()
        try TrainingResumeTests.data.write(toFile: folder.path("data.jsonl"), atomically: true, encoding: .utf8)
        let spec = try write(#"""
        {"name": "slurm-requeue", "seed": 5, "nodes": {
          "data":  {"op": "dataset", "params": {"path": "data.jsonl", "split": "train"}},
          "base":  {"op": "pretrain", "inputs": {"data": "data"}, "params": {"model": "gpt-tiny", "steps": 30}},
          "sft":   {"op": "finetune", "inputs": {"model": "base", "data": "data"},
                    "params": {"mix": {"general": 0.8, "safety": 0.2}, "steps": 240, "save_every": 10}}
        }}
        """#, in: folder)
        let local = try cli(folder, cache: "local.sqlite")
        let reference = try local.run("run", spec)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let expected = try artifacts(local, spec)

        let slurm = try cli(folder)
        let out = Pipe()
        let process = try slurm.start(["run", spec, "--executor", "slurm"], stdout: out)
        // Wait for the fine-tune's job and for its progress, saved in its task folder.
        var job: String?, savedStep = 0
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, process.isRunning, savedStep < 60 {
            Thread.sleep(forTimeInterval: 0.05)
            guard let recorded = try Store(path: folder.path("mf.sqlite")).remoteJobs().first(where: { $0.taskDirectory.hasSuffix(try expectedKey(slurm, spec)) }) else { continue }
            job = recorded.jobID
            let progress = recorded.taskDirectory + "/worker/cache.sqlite"
            guard FileManager.default.fileExists(atPath: progress) else { continue }
            let key = try XCTUnwrap(Digest(hex: String(recorded.taskDirectory.split(separator: "/").last!)))
            savedStep = (try? Store(path: progress).partialState(key))??.step ?? 0
        }
        let requeued = try XCTUnwrap(job, "the fine-tune was submitted")
        XCTAssertGreaterThanOrEqual(savedStep, 60)
        let r = SlurmExecutorTests.shell("SLURM_CONF='\(SlurmExecutorTests.conf)' scontrol requeue \(requeued)")
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stdout = String(decoding: o, as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, stdout)
        XCTAssertTrue(stdout.contains("resumed from step"), stdout)
        XCTAssertEqual(try artifacts(slurm, spec)["sft"], expected["sft"], "the requeued fine-tune ends bit-identical")
    }

    /// The fine-tune's action key, once its inputs are in the cache (empty before).
    private var sftKey = ""
    private func expectedKey(_ cli: CLIRunner, _ spec: String) throws -> String {
        if !sftKey.isEmpty { return sftKey }
        let r = try cli.run("plan", spec, "--json")
        let rows = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]) ?? []
        let key = rows.first { $0["instance"] as? String == "sft" }?["key"] as? String ?? ""
        if !key.isEmpty { sftKey = key }
        return key.isEmpty ? "no key yet" : key
    }
}
