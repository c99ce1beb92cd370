import Foundation
import JSON
@testable import Engine
import EngineTestSupport
@testable import Store
import XCTest

/// Node resources: validated with their JSON path; the scheduler never starts more than the
/// run's cores, declared memory and GPUs allow, and gives each instance its own GPUs.
final class ResourceTests: XCTestCase {
    /// Tracks what runs at once.
    final class Occupancy: @unchecked Sendable {
        private let lock = NSLock()
        private var running = 0, threads = 0
        private var gpusInUse = Set<Int>()
        private(set) var peakRunning = 0, peakThreads = 0
        private(set) var overlappingGPUs = false
        private(set) var gpuGrants: [[Int]] = []

        func enter(threads t: Int, gpus: [Int]) {
            lock.withLock {
                running += 1
                threads += t
                peakRunning = max(peakRunning, running)
                peakThreads = max(peakThreads, threads)
                if !gpusInUse.isDisjoint(with: gpus) { overlappingGPUs = true }
                gpusInUse.formUnion(gpus)
                gpuGrants.append(gpus)
            }
        }

        func leave(threads t: Int, gpus: [Int]) {
            lock.withLock {
                running -= 1
                threads -= t
                gpusInUse.subtract(gpus)
            }
        }
    }

    /// `busy`: holds its grant for 200 ms (long enough that instances started together overlap
    /// even on a loaded machine).
    static func busy(_ occupancy: Occupancy) -> OpDefinition {
        OpDefinition(name: "busy", version: 1, summary: "test op that takes a while", inputs: [],
                     params: [ParamSpec("value", .number(), default: 1, help: "the value")],
                     produces: ArtifactKind.checkpoint) { ctx in
            occupancy.enter(threads: ctx.threads, gpus: ctx.gpus)
            Thread.sleep(forTimeInterval: 0.2)
            occupancy.leave(threads: ctx.threads, gpus: ctx.gpus)
            let w = ctx.newArtifact(kind: ArtifactKind.checkpoint)
            try w.add(name: "w", floats: [Float(ctx.number("value")!)])
            return w
        }
    }

    func sweep(_ resources: String) -> String {
        #"{"name": "r", "nodes": {"b": {"op": "busy", "grid": {"value": [1, 2, 3, 4, 5, 6]}, "resources": \#(resources)}}}"#
    }

    func testBadResourcesAreReportedWithTheirPath() throws {
        let h = try EngineHarness(registry: FakeOps.registry(ResourceTests.busy(Occupancy())))
        let problems = EngineHarness.problems { try h.spec(self.sweep(#"{"threads": 0, "memory_gb": "lots", "gpu": 1}"#)) }
        XCTAssertEqual(problems.count, 3, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("nodes.b.resources.threads: expected a whole number of cores") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("nodes.b.resources.memory_gb: expected a number of GB") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("nodes.b.resources.gpu: unknown key") }, "\(problems)")
        XCTAssertEqual(EngineHarness.problems { try h.spec(self.sweep("[1]")) }.first?.hasPrefix("nodes.b.resources: expected an object"), true)
    }

    func testDeclaredThreadsNeverOversubscribeTheRun() throws {
        let occupancy = Occupancy()
        let h = try EngineHarness(registry: FakeOps.registry(ResourceTests.busy(occupancy)))
        let (r, _) = try h.run(sweep(#"{"threads": 2}"#)) { o, _ in o.jobs = 6; o.threads = 4 }
        XCTAssertEqual(r.executed, 6)
        XCTAssertEqual(occupancy.peakThreads, 4, "two instances of 2 threads at once, never three")
        XCTAssertEqual(occupancy.peakRunning, 2)
    }

    func testDeclaredMemoryBoundsWhatRunsAtOnceAndTooMuchFailsClearly() throws {
        let occupancy = Occupancy()
        let h = try EngineHarness(registry: FakeOps.registry(ResourceTests.busy(occupancy)))
        let (r, _) = try h.run(sweep(#"{"threads": 1, "memory_gb": 3}"#)) { o, _ in o.jobs = 6; o.threads = 6; o.memoryGB = 7 }
        XCTAssertEqual(r.executed, 6)
        XCTAssertEqual(occupancy.peakRunning, 2, "3 + 3 GB fit in 7, a third does not")

        let (big, _) = try h.run(#"{"name": "r", "nodes": {"b": {"op": "busy", "params": {"value": 9}, "resources": {"memory_gb": 8}}}}"#) { o, _ in
            o.memoryGB = 7
        }
        XCTAssertEqual(big.failed.map(\.error), ["cannot run here: it declares 8 GB of memory; this run has 7 GB (--memory-gb)"])
    }

    func testEachInstanceGetsItsOwnGPUs() throws {
        let occupancy = Occupancy()
        let h = try EngineHarness(registry: FakeOps.registry(ResourceTests.busy(occupancy)))
        let (r, _) = try h.run(sweep(#"{"threads": 1, "gpus": 2}"#)) { o, _ in o.jobs = 6; o.threads = 6; o.gpus = [0, 1, 2, 3] }
        XCTAssertEqual(r.executed, 6)
        XCTAssertEqual(occupancy.peakRunning, 2, "four GPUs, two per instance")
        XCTAssertFalse(occupancy.overlappingGPUs, "no GPU given to two running instances")
        XCTAssertTrue(occupancy.gpuGrants.allSatisfy { $0.count == 2 && Set($0).isSubset(of: [0, 1, 2, 3]) }, "\(occupancy.gpuGrants)")

        let (none, _) = try h.run(#"{"name": "r", "nodes": {"b": {"op": "busy", "params": {"value": 9}, "resources": {"gpus": 1}}}}"#)
        XCTAssertEqual(none.failed.map(\.error), ["cannot run here: it declares 1 GPU; this run has 0 (--gpus)"])
    }

    func testResourcesAreNotPartOfTheKey() throws {
        let h = try EngineHarness(registry: FakeOps.registry(ResourceTests.busy(Occupancy())))
        let (first, _) = try h.run(sweep(#"{"threads": 1}"#))
        let (second, _) = try h.run(sweep(#"{"threads": 2, "memory_gb": 0.5}"#)) { o, _ in o.threads = 2 }
        XCTAssertEqual(first.executed, 6)
        XCTAssertEqual(second.cached, 6, "where and how wide a node runs does not change its result")
    }
}
