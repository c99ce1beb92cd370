import Checkpoint
import Engine
@testable import Ops
import Foundation
import Merge
import Numerics
import Store
import XCTest

/// Merging a block at a time (`merge --direct` for linear, passthrough and SLERP) gives the
/// same bits as merging whole tensors, on a tensor of several blocks (with a ragged last
/// block) read from bf16 and F32 files.
final class BlockedMergeTests: XCTestCase {
    func testBlockedMergesEqualWholeTensorMerges() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-blocked-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let n = 2_500_003
        var sources: [FolderTensorSource] = []
        for (k, dtype) in [DType.bf16, .bf16, .f32].enumerated() {
            var state = UInt64(k + 1) &* 0x9E37_79B9_7F4A_7C15
            sources.append(try oneTensorFolder(folder.appendingPathComponent("m\(k)").path, dtype: dtype, count: n) { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int32(truncatingIfNeeded: state >> 32)) * 2.3e-11 + (k == 1 ? 0.01 : 0)
            })
        }
        let cases: [(String, [String: MergeParameter], [[String: MergeParameter]], Bool)] = [
            ("linear", [:], [["weight": .scalar(0.5)], ["weight": .scalar(0.3)], ["weight": .scalar(0.2)]], false),
            ("passthrough", [:], [["scale": .scalar(0.7)]], false),
            ("slerp", ["t": .scalar(0.3)], [[:]], true),
        ]
        for (method, shared, perModel, hasBase) in cases {
            let recipe = try MergeRecipe(method: method, modelCount: perModel.count, hasBase: hasBase,
                                         modelParameters: perModel, parameters: shared, seed: 0)
            let models = Array(sources.prefix(perModel.count)).map { MergeTask.Input($0, "w") }
            let base = hasBase ? MergeTask.Input(sources[1], "w") : nil
            for dtype in [DType.bf16, .f16] {
                var task = MergeTask(name: "w", shape: [n], models: models, base: base, recipe: recipe, layer: nil, layers: 1)
                task.outputDType = dtype
                let whole = MergeStream(tasks: [task], blocked: false)
                let a = Array(try whole.next()!.bytes)
                let blocked = MergeStream(tasks: [task], blocked: true)
                let merged = try blocked.next()!
                XCTAssertNil(merged.values, "\(method): merged in blocks")
                XCTAssertEqual(a.count, 2 * n)
                XCTAssertTrue(a == Array(merged.bytes), "\(method) \(dtype): blocked and whole merges differ")
            }
        }
    }
}

/// The task-vector methods merged a block at a time (TIES's cut found in passes over the
/// blocks, DARE's mask drawn first) give the same bits as whole-tensor merges, on a tensor of
/// three blocks whose magnitudes tie at the threshold across block boundaries.
final class BlockedTaskVectorMergeTests: XCTestCase {
    func testBlockedTaskVectorMergesEqualWholeTensorMerges() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-blocked-ties-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let n = 2_500_003
        var sources: [String: FolderTensorSource] = [:]
        // base: k/128 for |k| < 256 (exact in bf16); a, b: base plus noise, rounded (bf16
        // deltas take few values, so many tie); c: base ± 1/128, every |δ| equal.
        for (k, (label, dtype)) in [("base", DType.bf16), ("a", .bf16), ("b", .f32), ("c", .bf16)].enumerated() {
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15, noise = UInt64(k + 1) &* 0xD1B5_4A32_D192_ED03
            sources[label] = try oneTensorFolder(folder.appendingPathComponent(label).path, dtype: dtype, count: n) { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                noise = noise &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let base = Float(Int(state >> 33) % 511 - 255) / 128
                return switch label {
                case "base": base
                case "c": base + (base > 0 ? -1 : 1) / 128
                default: base + Float(Int32(truncatingIfNeeded: noise >> 32)) * 2.3e-12
                }
            }
        }
        let cases: [(String, [String], [String: MergeParameter], [[String: MergeParameter]])] = [
            ("ties", ["a", "b"], [:], [["weight": .scalar(0.6), "density": .scalar(0.5)], ["weight": .scalar(0.4), "density": .scalar(0.5)]]),
            ("ties", ["a", "c", "b"], ["rescale": .scalar(1), "lambda": .scalar(0.8)],
             [["weight": .scalar(0.5), "density": .scalar(0.3)], ["weight": .scalar(0.3), "density": .scalar(0.5)], ["weight": .scalar(0.2), "density": .scalar(1)]]),
            ("ties", ["c"], [:], [["weight": .scalar(1), "density": .scalar(0.999)]]),
            ("dare_ties", ["a", "b"], [:], [["weight": .scalar(0.6), "density": .scalar(0.5)], ["weight": .scalar(0.4), "density": .scalar(0.7)]]),
            ("dare_linear", ["a", "c"], [:], [["weight": .scalar(0.5), "density": .scalar(0.4)], ["weight": .scalar(0.5), "density": .scalar(0.4)]]),
            ("task_arithmetic", ["a", "b"], ["normalize": .scalar(1)], [["weight": .scalar(0.7)], ["weight": .scalar(0.3)]]),
        ]
        for (method, models, shared, perModel) in cases {
            let recipe = try MergeRecipe(method: method, modelCount: models.count, hasBase: true,
                                         modelParameters: perModel, parameters: shared, seed: 3)
            for dtype in [DType.f32, .bf16] {
                var task = MergeTask(name: "w", shape: [n], models: models.map { MergeTask.Input(sources[$0]!, "w") },
                                     base: MergeTask.Input(sources["base"]!, "w"), recipe: recipe, layer: nil, layers: 1)
                task.outputDType = dtype
                // (The streams own the buffers the results point into.)
                let whole = MergeStream(tasks: [task], blocked: false), blocked = MergeStream(tasks: [task], blocked: true)
                try withExtendedLifetime((whole, blocked)) {
                    let a = Array(try whole.next()!.bytes)
                    let merged = try blocked.next()!
                    XCTAssertNil(merged.values, "\(method): merged in blocks")
                    XCTAssertEqual(a.count, dtype.size * n)
                    let b = Array(merged.bytes)
                    let differing = a.count == b.count ? a.indices.filter { a[$0] != b[$0] }.count : -1
                    XCTAssertEqual(differing, 0, "\(method) \(models) \(dtype): blocked and whole merges differ")
                }
            }
        }
    }

    /// A NaN that thinning would drop is still refused, naming the file and the tensor.
    func testNaNInAnInputIsRefusedInBlocks() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-blocked-nan-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let n = 1_500_000
        var sources: [FolderTensorSource] = []
        for k in 0..<2 {
            sources.append(try oneTensorFolder(folder.appendingPathComponent("m\(k)").path, dtype: .bf16, count: n) { j in
                k == 1 && j == 1_200_000 ? .nan : Float(j % 7) * Float(k)
            })
        }
        let recipe = try MergeRecipe(method: "ties", modelCount: 1, hasBase: true,
                                     modelParameters: [["weight": .scalar(1), "density": .scalar(0.1)]], parameters: [:], seed: 0)
        let task = MergeTask(name: "w", shape: [n], models: [MergeTask.Input(sources[1], "w")], base: MergeTask.Input(sources[0], "w"),
                             recipe: recipe, layer: nil, layers: 1)
        XCTAssertThrowsError(try MergeStream(tasks: [task], blocked: true).next()) { error in
            XCTAssertTrue("\(error)".contains("m1/model.safetensors") && "\(error)".contains("NaN"), "\(error)")
        }
    }
}
