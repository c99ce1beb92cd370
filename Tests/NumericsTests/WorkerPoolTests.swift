import Dispatch
import Foundation
import Synchronization
import XCTest
@testable import Numerics

/// The spinning helpers behind `Parallel`: every worker index of every region runs exactly
/// once, back to back, after the helpers fell asleep, nested, and from two threads at once.
final class WorkerPoolTests: XCTestCase {
    private final class Tally: Sendable {
        let runs = Atomic<Int>(0)
    }

    /// Runs `regions` regions of `workers` as `Parallel` does and returns, per (region,
    /// worker), the region number + 1 that worker wrote, with how many runs there were in all
    /// (so a worker run twice and one never run cannot hide each other).
    private static func runRegions(_ regions: Int, workers: Int, pause: Double = 0) -> (slots: [Int], runs: Int) {
        var slots = [Int](repeating: 0, count: regions * workers)
        let tally = Tally()
        slots.withUnsafeMutableBufferPointer { buffer in
            let out = SharedPointer(buffer.baseAddress!)
            for r in 0..<regions {
                Parallel.region(workers) { w in
                    out.base[r * workers + w] = r + 1
                    tally.runs.add(1, ordering: .relaxed)
                }
                if pause > 0 { Thread.sleep(forTimeInterval: pause) }
            }
        }
        return (slots, tally.runs.load(ordering: .relaxed))
    }

    private static func expected(_ regions: Int, workers: Int) -> [Int] {
        (0..<regions * workers).map { $0 / workers + 1 }
    }

    func testEveryWorkerOfEveryRegionRunsOnce() {
        for workers in [2, 3, 5, 2] {
            let (slots, runs) = Self.runRegions(2_000, workers: workers)
            XCTAssertEqual(slots, Self.expected(2_000, workers: workers), "\(workers) workers")
            XCTAssertEqual(runs, 2_000 * workers)
        }
    }

    /// Regions far enough apart that the helpers stop spinning and sleep between them.
    func testRegionsAfterTheHelpersSleptStillRun() {
        let (slots, runs) = Self.runRegions(20, workers: 2, pause: 0.02)
        XCTAssertEqual(slots, Self.expected(20, workers: 2))
        XCTAssertEqual(runs, 40)
    }

    /// A region started inside another's body finds the pool in use and runs on libdispatch;
    /// neither waits for the other.
    func testNestedRegionsRunEveryIndex() {
        let inner = Tally(), outer = Tally()
        Parallel.region(2) { _ in
            outer.runs.add(1, ordering: .relaxed)
            Parallel.region(3) { _ in inner.runs.add(1, ordering: .relaxed) }
        }
        XCTAssertEqual(outer.runs.load(ordering: .relaxed), 2)
        XCTAssertEqual(inner.runs.load(ordering: .relaxed), 6)
    }

    /// Two threads starting regions at once: one holds the pool, the other goes to
    /// libdispatch; both see every index of every region run once.
    func testConcurrentCallersBothComplete() {
        let results = UnsafeMutableBufferPointer<(slots: [Int], runs: Int)>.allocate(capacity: 2)
        results.initialize(repeating: ([], 0))
        defer { results.deinitialize(); results.deallocate() }
        let out = SharedPointer(results.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: 2) { t in
            out.base[t] = Self.runRegions(500, workers: 2)
        }
        for t in 0..<2 {
            XCTAssertEqual(results[t].slots, Self.expected(500, workers: 2))
            XCTAssertEqual(results[t].runs, 1_000)
        }
    }
}
