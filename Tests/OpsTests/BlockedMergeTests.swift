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
            let path = folder.appendingPathComponent("m\(k)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try SafetensorsWriter.write(to: path + "/model.safetensors", items: [SafetensorsWriter.Item(name: "w", dtype: dtype, shape: [n])]) { _, buffer in
                var state = UInt64(k + 1) &* 0x9E37_79B9_7F4A_7C15
                for j in 0..<n {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    let x = Float(Int32(truncatingIfNeeded: state >> 32)) * 2.3e-11 + (k == 1 ? 0.01 : 0)
                    if dtype == .bf16 { buffer.storeBytes(of: DType.bfloat16Bits(x), toByteOffset: 2 * j, as: UInt16.self) }
                    else { buffer.storeBytes(of: x, toByteOffset: 4 * j, as: Float.self) }
                }
            }
            sources.append(try FolderTensorSource(path: path))
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
