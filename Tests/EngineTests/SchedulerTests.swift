import JSON
@testable import Store
import XCTest
@testable import Engine
import EngineTestSupport

/// Running: caching, failures, --force, --only, parallel jobs, in-node progress, explain.
final class SchedulerTests: XCTestCase {
    let sweep = #"""
    {"name": "sweep", "nodes": {
      "a": {"op": "const", "grid": {"value": [1, 2, 3]}},
      "s": {"op": "sum", "inputs": {"items": ["a"]}},
      "t": {"op": "sum", "inputs": {"items": ["s"], "extra": "a"}}
    }}
    """#

    func testRunsOnceThenEverythingIsCached() throws {
        let counter = Counter()
        let h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(counter: counter), FakeOps.sum(counter: counter)))
        let (first, g) = try h.run(sweep)
        XCTAssertEqual(first.executed, 7)
        XCTAssertEqual(counter.total, 7)
        let s = try h.store.floats(of: h.store.manifest(first.artifacts[g.byNode["s"]![0]]!).tensor(named: "w")!)
        XCTAssertEqual(s, [6, 6, 6, 6])
        let t3 = try h.store.floats(of: h.store.manifest(first.artifacts[g.byNode["t"]![2]]!).tensor(named: "w")!)
        XCTAssertEqual(t3, [9, 9, 9, 9])
        let (second, _) = try h.run(sweep)
        XCTAssertEqual(second.executed, 0)
        XCTAssertEqual(second.cached, 7)
        XCTAssertEqual(counter.total, 7, "nothing ran again")
        XCTAssertEqual(second.artifacts, first.artifacts)
        // Run records: the first run executed 7, the second recorded 7 cache hits.
        let runs = try h.store.runs()
        XCTAssertEqual(runs.map(\.status), ["succeeded", "succeeded"])
        XCTAssertEqual(runs[0].counts, ["cached": 7])
        XCTAssertEqual(runs[1].counts, ["succeeded": 7])
    }

    func testIdenticalUpstreamResultCutsOffDownstreamWork() throws {
        let counter = Counter()
        let h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(counter: counter), FakeOps.sum(counter: counter)))
        _ = try h.run(#"{"name": "x", "nodes": {"a": {"op": "const", "params": {"label": "p"}}, "s": {"op": "sum", "inputs": {"items": ["a"]}}}}"#)
        // `label` changes a's key but not its output: s is keyed on a's digest, so it is cached.
        let (r, _) = try h.run(#"{"name": "x", "nodes": {"a": {"op": "const", "params": {"label": "q"}}, "s": {"op": "sum", "inputs": {"items": ["a"]}}}}"#)
        XCTAssertEqual(r.executed, 1)
        XCTAssertEqual(r.cached, 1)
    }

    func testFailureFailsDependentsOnlyAndTheRestGoesOn() throws {
        let h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(), FakeOps.sum()))
        let (r, _) = try h.run(#"""
        {"name": "x", "nodes": {
          "a": {"op": "const"},
          "bad": {"op": "sum", "inputs": {"items": ["a"]}, "params": {"fail": true}},
          "after": {"op": "sum", "inputs": {"items": ["bad"]}},
          "good": {"op": "sum", "inputs": {"items": ["a"]}}
        }}
        """#)
        XCTAssertEqual(r.failed.map(\.instance), ["bad"])
        XCTAssertEqual(r.failed[0].error, "failed on purpose")
        XCTAssertEqual(r.skipped, 1)
        XCTAssertEqual(r.executed, 2, "a and good ran")
        XCTAssertFalse(r.succeeded)
        XCTAssertEqual(try h.store.runs()[0].status, "failed")
        let nodes = try h.store.nodeRuns(ofRun: r.runID)
        XCTAssertEqual(nodes.first { $0.node == "bad" }?.status, .failed)
        XCTAssertEqual(nodes.first { $0.node == "after" }?.status, .skipped)
        // Nothing of the failed node is cached; a lease is not left behind.
        XCTAssertEqual(try h.store.status().actionCount, 2)
    }

    func testForceRerunsAndOnlyLimitsTheRun() throws {
        let counter = Counter()
        let h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(counter: counter), FakeOps.sum(counter: counter)))
        let (only, g) = try h.run(sweep) { o, g in o.only = Set(g.byNode["s"]!) }
        XCTAssertEqual(only.executed, 4, "s and the three a it needs; not t")
        XCTAssertNil(only.artifacts[g.byNode["t"]![0]])
        let (forced, _) = try h.run(sweep) { o, g in o.force = Set(g.byNode["s"]!) }
        XCTAssertEqual(forced.executed, 4, "s again, and the three t never run before")
        XCTAssertEqual(forced.cached, 3)
        XCTAssertEqual(counter.count("s"), 2)
    }

    func testParallelJobsGiveTheSameArtifacts() throws {
        let h1 = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(), FakeOps.sum()))
        let h4 = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(), FakeOps.sum()))
        let (serial, _) = try h1.run(sweep)
        // Four cores, so four jobs really run at once (jobs never take more cores than there are).
        let (parallel, _) = try h4.run(sweep) { o, _ in o.jobs = 4; o.threads = 4 }
        XCTAssertEqual(serial.artifacts, parallel.artifacts)
    }

    func testInterruptedLongOpResumesFromItsLastSavedStep() throws {
        let counter = Counter()
        let h = try EngineHarness(registry: FakeOps.registry(FakeOps.steps(counter: counter, crashAt: 6)))
        let spec = #"{"name": "x", "nodes": {"long": {"op": "steps", "params": {"total": 10}}}}"#
        let (crashed, g) = try h.run(spec)
        XCTAssertEqual(crashed.failed.count, 1)
        XCTAssertEqual(counter.count("step"), 6)
        let (resumed, _) = try h.run(spec)
        XCTAssertEqual(resumed.executed, 1)
        XCTAssertEqual(counter.count("resumed at 6"), 1)
        XCTAssertEqual(counter.count("step"), 10, "steps 7…10 only")
        XCTAssertEqual(try h.store.nodeRuns(ofRun: resumed.runID).first?.detail, "resumed from step 6")
        // Bit-identical to an uninterrupted run.
        let clean = try EngineHarness(registry: FakeOps.registry(FakeOps.steps(counter: Counter(), crashAt: nil)))
        let (straight, _) = try clean.run(spec)
        let i = g.byNode["long"]![0]
        XCTAssertEqual(resumed.artifacts[i], straight.artifacts[i])
        // The saved state is released once the result is published.
        let key = try Action(instance: g.instances[i], inputDigests: [:], directory: h.folder.path, store: h.store).key
        XCTAssertNil(try h.store.partialState(key))
        XCTAssertEqual(try h.store.status().artifactsByKind.map(\.kind), ["checkpoint"], "saved states are deleted as they are replaced")
        XCTAssertEqual(try h.store.collectGarbage(grace: 0).chunksRemoved, 0)
        XCTAssertTrue(try h.store.verify().isClean)
    }

    func testLeaseHeldByALiveOwnerIsWaitedForAndADeadOnesIsTakenOver() throws {
        let h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant()))
        let spec = #"{"name": "x", "nodes": {"a": {"op": "const"}}}"#
        let g = try h.graph(spec)
        let key = try Action(instance: g.instances[0], inputDigests: [:], directory: h.folder.path, store: h.store).key
        XCTAssertEqual(try h.store.acquireLease(key, owner: "other:1", seconds: 0.5), .acquired(nodeRun: nil))
        XCTAssertEqual(try h.store.acquireLease(key, owner: "me:2", seconds: 30), .heldBy("other:1"))
        // The other owner "dies" (stops renewing); its lease expires and the run takes over.
        let (r, _) = try h.run(spec) { o, _ in o.leaseSeconds = 30 }
        XCTAssertEqual(r.executed, 1)
        XCTAssertEqual(r.waitedForOthers, 1)
        XCTAssertEqual(try h.store.acquireLease(key, owner: "x", seconds: 1), .cached(r.artifacts[0]!))
    }

    /// A lease left by a process of this host that no longer exists (killed with SIGKILL) is
    /// taken over at once; one of a live local process, or of another host, is respected.
    func testLeaseOfADeadLocalProcessIsTakenOverWithoutWaiting() throws {
        let h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant()))
        let g = try h.graph(#"{"name": "x", "nodes": {"a": {"op": "const"}}}"#)
        let key = try Action(instance: g.instances[0], inputDigests: [:], directory: h.folder.path, store: h.store).key
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()  // its pid now names no process
        let dead = "\(Store.hostName):\(child.processIdentifier):7", alive = "\(Store.hostName):\(getpid()):8"
        XCTAssertEqual(try h.store.acquireLease(key, owner: dead, seconds: 3600), .acquired(nodeRun: nil))
        XCTAssertEqual(try h.store.acquireLease(key, owner: "me:1:2", seconds: 30), .acquired(nodeRun: nil))
        XCTAssertEqual(try h.store.acquireLease(key, owner: alive, seconds: 3600), .heldBy("me:1:2"), "another host's lease stands")
        try h.store.releaseLease(key, owner: "me:1:2")
        XCTAssertEqual(try h.store.acquireLease(key, owner: alive, seconds: 3600), .acquired(nodeRun: nil))
        XCTAssertEqual(try h.store.acquireLease(key, owner: "me:1:2", seconds: 30), .heldBy(alive), "a live local owner's lease stands")
    }

    func testExplainSaysWhy() throws {
        let h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(), FakeOps.sum()))
        let v1 = #"{"name": "ex", "nodes": {"a": {"op": "const", "params": {"value": 0.5}}, "s": {"op": "sum", "inputs": {"items": ["a"]}}}}"#
        func reasons(_ text: String) throws -> [String: [String]] {
            let plan = try Plan(graph: try h.graph(text), store: h.store)
            var out: [String: [String]] = [:]
            for e in plan.entries {
                if case .run(let r) = e.state { out[plan.graph.instances[e.instance].id] = r } else { out[plan.graph.instances[e.instance].id] = ["cached"] }
            }
            return out
        }
        XCTAssertEqual(try reasons(v1), ["a": ["never run"], "s": ["input a will run first"]])
        _ = try h.run(v1)
        XCTAssertEqual(try reasons(v1), ["a": ["cached"], "s": ["cached"]])
        let v2 = v1.replacingOccurrences(of: "0.5", with: "0.7")
        XCTAssertEqual(try reasons(v2), ["a": ["params.value changed 0.5 → 0.7"], "s": ["input a will run first"]])
        _ = try h.run(v2)
        _ = try h.run(v1)  // back to 0.5: both cached again
        h.registry = h.registry.adding(FakeOps.constant(version: 2))
        XCTAssertEqual(try reasons(v1)["a"], ["op version bumped 1 → 2"])
        _ = try h.run(v1)  // v2 of const yields the same tensor, so s stays cached
        XCTAssertEqual(try reasons(v1), ["a": ["cached"], "s": ["cached"]])
        // A changed input: s now reads a different artifact.
        let v3 = #"{"name": "ex", "nodes": {"a": {"op": "const", "params": {"value": 0.5}}, "b": {"op": "const", "params": {"value": 2}}, "s": {"op": "sum", "inputs": {"items": ["a", "b"]}}}}"#
        _ = try h.run(#"{"name": "ex", "nodes": {"b": {"op": "const", "params": {"value": 2}}}}"#)
        XCTAssertEqual(try reasons(v3)["s"], ["input items changed (1 → 2 artifacts)"])
        try h.store.executeForTest("DELETE FROM actions")
        XCTAssertEqual(try reasons(v1)["a"], ["its cached result is gone (removed by gc, or chunks missing)"])
    }
}

extension Store {
    func executeForTest(_ sql: String) throws { try locked { try db.execute(sql) } }

    func integerForTest(_ sql: String) throws -> Int {
        try locked {
            let s = try db.prepare(sql)
            _ = try s.step()
            return Int(s.int(0))
        }
    }
}
