import Foundation
import Store
import XCTest

/// `command` nodes end to end with real programs (python3 standard library and sh): a
/// trainer and an evaluator beside built-in ops, every failure case, `kill -9` of the sweep
/// mid-command then a resume from `{workdir}`, and a forked child that is cleaned up.
final class CommandNodeTests: XCTestCase {
    /// Scales every F32 tensor of a safetensors checkpoint folder by --scale.
    static let trainer = #"""
    import json, os, shutil, struct, sys
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    src, out, scale = args["--model"], args["--out"], float(args["--scale"])
    data = open(os.path.join(src, "model.safetensors"), "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header, body = json.loads(data[8:8 + n]), data[8 + n:]
    meta, blob = {}, bytearray()
    for name in sorted(k for k in header if k != "__metadata__"):
        info = header[name]
        a, b = info["data_offsets"]
        chunk = body[a:b]
        if info["dtype"] == "F32":
            values = struct.unpack("<%df" % (len(chunk) // 4), chunk)
            chunk = struct.pack("<%df" % len(values), *[v * scale for v in values])
        meta[name] = {"dtype": info["dtype"], "shape": info["shape"], "data_offsets": [len(blob), len(blob) + len(chunk)]}
        blob += chunk
    h = json.dumps(meta).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(out)
    open(os.path.join(out, "model.safetensors"), "wb").write(struct.pack("<Q", len(h)) + h + bytes(blob))
    shutil.copy(os.path.join(src, "config.json"), out)
    print("trained %d tensors with scale %s" % (len(meta), scale))
    """#

    /// Writes one metric row: the root mean square of the model's F32 weights, n = examples.
    static let evaluator = #"""
    import json, math, struct, sys
    model, data, out = sys.argv[1:4]
    raw = open(model + "/model.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header, body = json.loads(raw[8:8 + n]), raw[8 + n:]
    total, count = 0.0, 0
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        a, b = info["data_offsets"]
        for v in struct.unpack("<%df" % ((b - a) // 4), body[a:b]):
            total += v * v
            count += 1
    examples = sum(1 for line in open(data) if line.strip())
    row = {"lang": "en", "objective": "general", "metric": "weight_rms", "value": math.sqrt(total / count), "n": examples}
    open(out, "w").write(json.dumps(row) + "\n")
    """#

    /// Six steps of 0.3 s, each saved in {workdir}; says on stderr where it resumed.
    static let slow = #"""
    import json, os, sys, time
    work, out = sys.argv[1], sys.argv[2]
    open(os.path.join(work, "pid"), "w").write(str(os.getpid()))
    state = os.path.join(work, "step")
    step = int(open(state).read()) if os.path.exists(state) else 0
    if step:
        print("resumed from step %d" % step, file=sys.stderr)
    while step < 6:
        time.sleep(0.3)
        step += 1
        open(state + ".tmp", "w").write(str(step))
        os.replace(state + ".tmp", state)
    open(out, "w").write(json.dumps({"lang": "en", "objective": "general", "metric": "steps", "value": step, "n": 1}) + "\n")
    """#

    func folder(_ spec: String, scripts: [String: String] = [:]) throws -> (TestFolder, String, CLIRunner) {
        let folder = try TestFolder()
        try TrainingResumeTests.data.write(toFile: folder.path("data.jsonl"), atomically: true, encoding: .utf8)
        for (name, text) in scripts { try text.write(toFile: folder.path(name), atomically: true, encoding: .utf8) }
        try spec.write(toFile: folder.path("spec.json"), atomically: true, encoding: .utf8)
        return (folder, folder.path("spec.json"), CLIRunner(cache: folder.path("cache.sqlite")))
    }

    func testTrainerAndEvaluatorRunBesideBuiltInOpsAndReachTheReport() throws {
        let spec = #"""
        {"name": "external", "seed": 3, "nodes": {
          "base":  {"op": "init", "params": {"model": "gpt-tiny"}},
          "data":  {"op": "dataset", "params": {"path": "data.jsonl", "split": "test"}},
          "sft":   {"op": "command", "inputs": {"model": "base"},
                    "params": {"argv": ["python3", "train.py", "--model", "{inputs.model}", "--out", "{outputs.model}", "--scale", "{vars.scale}"],
                               "files": ["train.py"], "outputs": {"model": "checkpoint"}},
                    "grid": {"vars.scale": [1, 0.5]}},
          "judge": {"op": "command", "inputs": {"model": "sft", "data": "data"},
                    "params": {"argv": ["python3", "judge.py", "{inputs.model}", "{inputs.data}", "{outputs.scores}"],
                               "files": ["judge.py"], "outputs": {"scores": "metrics"}}},
          "scores": {"op": "eval", "inputs": {"model": "sft", "data": "data"}, "params": {"max_items": 2, "max_new_tokens": 4}},
          "table": {"op": "report", "inputs": {"scores": ["scores", "judge"]}, "params": {"title": "external"}}
        }}
        """#
        let (folder, path, cli) = try folder(spec, scripts: ["train.py": Self.trainer, "judge.py": Self.evaluator])
        let r = try cli.run("run", path, "--jobs", "2")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("external: 9 ran, 0 cached"), r.stdout)
        XCTAssertTrue(r.stdout.contains("sft[vars.scale=0.5]"), r.stdout)

        // The trainer's output is a real checkpoint: scale 1 gives back the base's tensors.
        let plan = try JSONSerialization.jsonObject(with: Data(try cli.run("plan", path, "--json").stdout.utf8)) as! [[String: Any]]
        let artifact = { (id: String) in plan.first { $0["instance"] as? String == id }?["artifact"] as? String }
        let store = try Store(path: folder.path("cache.sqlite"))
        let base = try store.manifest(XCTUnwrap(Digest(hex: XCTUnwrap(artifact("base")))))
        let same = try store.manifest(XCTUnwrap(Digest(hex: XCTUnwrap(artifact("sft[vars.scale=1]")))))
        let half = try store.manifest(XCTUnwrap(Digest(hex: XCTUnwrap(artifact("sft[vars.scale=0.5]")))))
        XCTAssertEqual(same.tensors.map(\.chunks), base.tensors.map(\.chunks), "scale 1 reproduces the base bit for bit")
        XCTAssertNotEqual(half.tensors.map(\.chunks), base.tensors.map(\.chunks))
        XCTAssertEqual(half.kind, "checkpoint")

        // The evaluator's rows are in the report beside the built-in eval's.
        let out = folder.path("results")
        let report = try cli.run("report", path, "--out", out)
        XCTAssertEqual(report.status, 0, report.stderr)
        let rows = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
        XCTAssertTrue(rows.contains("weight_rms"), rows)
        XCTAssertTrue(rows.contains(#""metric":"chrf""#), "the built-in eval's rows are there too: \(rows)")

        // `metrics` lists them too, by default, beside the eval's rows.
        let metrics = try cli.run("metrics", path, "--metric", "weight_rms", "--metric", "nll_per_byte")
        XCTAssertEqual(metrics.status, 0, metrics.stderr)
        XCTAssertTrue(metrics.stdout.contains("judge[vars.scale=0.5]"), metrics.stdout)
        XCTAssertTrue(metrics.stdout.contains("scores[vars.scale=0.5]"), metrics.stdout)

        // Logs are kept with the result.
        let logs = try cli.run("logs", path, "sft")
        XCTAssertEqual(logs.status, 0, logs.stderr)
        XCTAssertTrue(logs.stdout.contains("trained"), logs.stdout)
        XCTAssertTrue(logs.stdout.contains("with scale 0.5"), logs.stdout)
        // Published work leaves no workspace behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path("mergeflow-work")), [])

        // Changing the content of a listed file (not its name or date) changes the key.
        let rerun = try cli.run("run", path)
        XCTAssertTrue(rerun.stdout.contains("external: 0 ran, 9 cached"), rerun.stdout)
        try (Self.evaluator + "\n# a comment\n").write(toFile: folder.path("judge.py"), atomically: true, encoding: .utf8)
        let changed = try cli.run("run", path)
        // Both judges rerun; they write the same rows, so the report downstream stays cached.
        XCTAssertTrue(changed.stdout.contains("external: 2 ran, 7 cached"), changed.stdout)
    }

    func testEveryFailureIsClearAndPublishesNothing() throws {
        let spec = #"""
        {"name": "failures", "seed": 3, "nodes": {
          "base":     {"op": "init", "params": {"model": "gpt-tiny"}},
          "notfound": {"op": "command", "params": {"argv": ["no-such-program-xyz"], "outputs": {"m": "metrics"}}},
          "exit3":    {"op": "command", "params": {"argv": ["sh", "-c", "echo something broke >&2; exit 3"], "outputs": {"m": "metrics"}}},
          "missing":  {"op": "command", "params": {"argv": ["true"], "outputs": {"m": "metrics"}}},
          "badrows":  {"op": "command", "params": {"argv": ["sh", "-c", "echo '{\"lang\": 1}' > {outputs.m}"], "outputs": {"m": "metrics"}}},
          "badmodel": {"op": "command", "params": {"argv": ["sh", "-c", "mkdir {outputs.m} && echo junk > {outputs.m}/model.safetensors"], "outputs": {"m": "checkpoint"}}},
          "slow":     {"op": "command", "params": {"argv": ["sleep", "30"], "outputs": {"m": "metrics"}, "timeout": 1}},
          "scribble": {"op": "command", "inputs": {"model": "base"},
                       "params": {"argv": ["sh", "-c", "echo x >> {inputs.model}/config.json && mkdir {outputs.f}"], "outputs": {"f": "files"}}}
        }}
        """#
        let (folder, path, cli) = try folder(spec)
        let r = try cli.run("run", path, "--jobs", "4")
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("failures: 1 ran, 0 cached, 7 failed"), r.stdout)
        func failure(_ node: String) -> String {
            r.stderr.components(separatedBy: "\nfailed: ").first { $0.hasPrefix(node + ":") || $0.hasPrefix("failed: " + node + ":") } ?? "(no failure for \(node))"
        }
        XCTAssertTrue(failure("notfound").contains("program \"no-such-program-xyz\" not found"), failure("notfound"))
        XCTAssertTrue(failure("exit3").contains("sh exited with status 3"), failure("exit3"))
        XCTAssertTrue(failure("exit3").contains("something broke"), failure("exit3"))
        XCTAssertTrue(failure("missing").contains("output m (metrics) is missing"), failure("missing"))
        XCTAssertTrue(failure("badrows").contains("output m (metrics), line 1: \"lang\" must be a non-empty string"), failure("badrows"))
        XCTAssertTrue(failure("badmodel").contains("output m (checkpoint) is not a valid checkpoint folder"), failure("badmodel"))
        XCTAssertTrue(failure("slow").contains("timed out after 1 s"), failure("slow"))
        // Root ignores the read-only modes, so the write is detected afterwards; anyone else
        // is refused the write itself.
        XCTAssertTrue(failure("scribble").contains("wrote to its input model") || failure("scribble").contains("Permission denied"),
                      failure("scribble"))

        let store = try Store(path: folder.path("cache.sqlite"))
        XCTAssertEqual(try store.status().actionCount, 1, "only base was published")
        XCTAssertTrue(try store.verify().isClean)
        // The failed attempt's logs stay readable.
        let logs = try cli.run("logs", path, "exit3")
        XCTAssertTrue(logs.stdout.contains("something broke"), logs.stdout)
        // A spec naming what does not exist fails before anything runs, with its path.
        let bad = #"{"name": "b", "nodes": {"c": {"op": "command", "params": {"argv": ["echo", "{inputs.nope}", "{vars.x}"], "outputs": {"m": "model"}}}}}"#
        try bad.write(toFile: folder.path("bad.json"), atomically: true, encoding: .utf8)
        let invalid = try cli.run("run", folder.path("bad.json"))
        XCTAssertEqual(invalid.status, 2)
        XCTAssertTrue(invalid.stderr.contains("nodes.c.params.outputs.m: expected one of checkpoint, metrics, dataset, files"), invalid.stderr)
        XCTAssertTrue(invalid.stderr.contains("{inputs.nope}: the node has no input \"nope\""), invalid.stderr)
        XCTAssertTrue(invalid.stderr.contains("{vars.x}: params.vars has no \"x\""), invalid.stderr)
    }

    func testKillDashNineMidCommandResumesFromWorkdirToTheSameDigest() throws {
        let spec = #"""
        {"name": "resume", "nodes": {
          "long": {"op": "command", "params": {"argv": ["python3", "slow.py", "{workdir}", "{outputs.m}"], "files": ["slow.py"], "outputs": {"m": "metrics"}}}
        }}
        """#
        let (folder, path, cli) = try folder(spec, scripts: ["slow.py": Self.slow])
        let reference = CLIRunner(cache: folder.path("reference.sqlite"))
        XCTAssertEqual(try reference.run("run", path).status, 0)
        let expected = try reference.run("plan", path, "--json").stdout

        let p = try cli.start(["run", path])
        // Wait until the program has saved step 2 in its workdir, then kill the sweep.
        var stepFile: String?
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let key = try? FileManager.default.contentsOfDirectory(atPath: folder.path("mergeflow-work")).first {
                let file = folder.path("mergeflow-work/\(key)/workdir/step")
                if let text = try? String(contentsOfFile: file, encoding: .utf8), Int(text) ?? 0 >= 2 { stepFile = file; break }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let step = try XCTUnwrap(stepFile, "the program never reached step 2")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // The program dies with the sweep (no orphan keeps computing).
        let pid = try XCTUnwrap(Int32(String(contentsOfFile: (step as NSString).deletingLastPathComponent + "/pid", encoding: .utf8)))
        XCTAssertTrue(waitUntilGone(pid), "the command outlived the killed sweep")
        let savedStep = Int(try String(contentsOfFile: step, encoding: .utf8))!
        XCTAssertLessThan(savedStep, 6)
        XCTAssertTrue(try Store(path: folder.path("cache.sqlite")).verify().isClean)

        let resumed = try cli.run("run", path)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try cli.run("plan", path, "--json").stdout, expected, "the same digest as an uninterrupted run")
        let logs = try cli.run("logs", path, "long")
        XCTAssertTrue(logs.stdout.contains("resumed from step \(savedStep)") || logs.stdout.contains("resumed from step"), logs.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: step), "the workspace is deleted once published")
    }

    func testAForkedChildThatOutlivesTheCommandIsCleanedUp() throws {
        let spec = #"""
        {"name": "orphan", "nodes": {
          "fork": {"op": "command", "params": {"argv": ["sh", "-c", "sleep 60 & echo $! > {vars.pidfile}; mkdir {outputs.f}; echo hi > {outputs.f}/a.txt"],
                   "vars": {"pidfile": "PIDFILE"}, "outputs": {"f": "files"}}}
        }}
        """#
        let folderBox = try TestFolder()
        let (folder, path, cli) = try self.folder(spec.replacingOccurrences(of: "PIDFILE", with: folderBox.path("orphan.pid")))
        let t0 = Date()
        let r = try cli.run("run", path)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 30, "the run did not wait for the orphan")
        let pid = try XCTUnwrap(Int32(String(contentsOfFile: folderBox.path("orphan.pid"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertTrue(waitUntilGone(pid), "the forked sleep survived its command")
        _ = folder
    }

    /// Whether `pid` is gone (or a zombie) within 3 s.
    func waitUntilGone(_ pid: Int32) -> Bool {
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            if kill(pid, 0) != 0 { return true }
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), stat.contains(") Z ") { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }
}
