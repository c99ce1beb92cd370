import Checkpoint
import Foundation
@testable import Merge
@testable import Ops
import Store
import Numerics
import XCTest

/// A stream that hands its large TIES results over in slices (`OutputFeed`) gives the bytes of
/// one that holds them whole, tensor after tensor (sliced, whole, sliced twice in a row), each
/// slice at its tensor's page phase; a writer that stops early releases the merging thread.
final class SlicedMergeStreamTests: XCTestCase {
    /// Four tasks over one base and two models of `n` bf16 elements: TIES, linear (never
    /// sliced), TIES, TIES; bf16 output, each at its own page phase.
    private func tasks(in folder: URL, n: Int) throws -> [MergeTask] {
        var sources: [String: FolderTensorSource] = [:]
        for (k, label) in ["base", "a", "b"].enumerated() {
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(k), noise = UInt64(k + 1) &* 0xD1B5_4A32_D192_ED03
            sources[label] = try oneTensorFolder(folder.appendingPathComponent(label).path, dtype: .bf16, count: n) { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                noise = noise &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let base = Float(Int(state >> 33) % 511 - 255) / 128
                return label == "base" ? base : base + Float(Int32(truncatingIfNeeded: noise >> 32)) * 2.3e-12
            }
        }
        let ties = try MergeRecipe(method: "ties", modelCount: 2, hasBase: true,
                                   modelParameters: [["weight": .scalar(0.6), "density": .scalar(0.5)], ["weight": .scalar(0.4), "density": .scalar(0.3)]],
                                   parameters: [:], seed: 1)
        let linear = try MergeRecipe(method: "linear", modelCount: 2, hasBase: false,
                                     modelParameters: [["weight": .scalar(0.5)], ["weight": .scalar(0.5)]], parameters: [:], seed: 1)
        return [("t1", ties, 0), ("l2", linear, 1000), ("t3", ties, 4095), ("t4", ties, 8)].map { name, recipe, phase in
            let withBase = recipe.method.name != "linear"
            var task = MergeTask(name: name, shape: [n], models: ["a", "b"].map { MergeTask.Input(sources[$0]!, "w") },
                                 base: withBase ? MergeTask.Input(sources["base"]!, "w") : nil, recipe: recipe, layer: nil, layers: 1)
            task.outputDType = .bf16
            task.outputPagePhase = phase
            return task
        }
    }

    func testSlicesGiveTheBytesOfWholeResults() throws {
        try XCTSkipUnless(mergeKernelsAvailable, "this CPU has no AVX2 + FMA: TIES never merges from the stored bytes")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-sliced-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let n = (1 << 20) + 1_003  // 2 MB in bf16: 33 slices of 64 KiB, the last one ragged
        let tasks = try tasks(in: folder, n: n)
        let whole = MergeStream(tasks: tasks, blocked: true)
        let expected = try withExtendedLifetime(whole) { try tasks.map { _ in Array(try whole.next()!.bytes) } }
        let sliced = MergeStream(tasks: tasks, blocked: true, sliceBytes: 64 << 10)
        try withExtendedLifetime(sliced) {
            for (i, task) in tasks.enumerated() {
                let merged = try XCTUnwrap(try sliced.next())
                XCTAssertEqual(merged.name, task.name)
                guard let feed = merged.feed else {
                    XCTAssertEqual(task.name, "l2", "only the linear merge comes whole")
                    XCTAssertTrue(Array(merged.bytes) == expected[i], task.name)
                    continue
                }
                var bytes: [UInt8] = [], slices = 0
                while let slice = try feed.next() {
                    XCTAssertEqual(Int(bitPattern: slice.baseAddress!) % MergeTask.pageBytes, task.outputPagePhase, "\(task.name): slice at its phase")
                    XCTAssertLessThanOrEqual(slice.count, 64 << 10)
                    bytes += slice
                    slices += 1
                }
                XCTAssertNil(try feed.next(), "the end stays the end")
                XCTAssertEqual(slices, (2 * n + (64 << 10) - 1) / (64 << 10), task.name)
                XCTAssertTrue(bytes == expected[i], "\(task.name): the slices are the whole result")
            }
            XCTAssertNil(try sliced.next())
        }
    }

    /// A writer that fails after one slice cancels the feed; dropping the stream then returns
    /// (the merging thread, waiting for a free slice, is let go) instead of hanging.
    func testAWriterThatStopsEarlyReleasesTheMerge() throws {
        try XCTSkipUnless(mergeKernelsAvailable, "this CPU has no AVX2 + FMA: TIES never merges from the stored bytes")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-sliced-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Tasks hold their sources (classes): handed to one other thread, used there alone.
        struct Tasks: @unchecked Sendable { let all: [MergeTask] }
        let tasks = Tasks(all: try tasks(in: folder, n: 1 << 20))
        for slicesTaken in [0, 1, 3] {
            let done = expectation(description: "stream released after \(slicesTaken) slices")
            let thread = Thread {
                do {
                    let stream = MergeStream(tasks: tasks.all, blocked: true, sliceBytes: 64 << 10)
                    let feed = try stream.next()!.feed!
                    for _ in 0..<slicesTaken { _ = try feed.next() }
                    feed.cancel()
                    // `stream` goes out of scope here: its deinit waits for the merging thread.
                } catch {
                    XCTFail("\(error)")
                }
                done.fulfill()
            }
            thread.start()
            wait(for: [done], timeout: 60)
        }
    }
}
