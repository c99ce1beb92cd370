import Checkpoint
import Foundation
import Store
import XCTest

/// Bad checkpoints on the sharded / half-precision paths: `merge --direct` exits non-zero
/// with a message naming the file and tensor, and writes no model file.
final class CheckpointHostileInputTests: XCTestCase {
    /// A folder with `model.safetensors` holding one tensor "w" of `bits` in `dtype`.
    func model(_ folder: String, dtype: DType, bits: [UInt16]? = nil, floats: [Float]? = nil) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let count = bits?.count ?? floats!.count
        try SafetensorsWriter.write(to: folder + "/model.safetensors", items: [SafetensorsWriter.Item(name: "w", dtype: dtype, shape: [count])]) { _, buffer in
            if let bits { for (i, b) in bits.enumerated() { buffer.storeBytes(of: b.littleEndian, toByteOffset: 2 * i, as: UInt16.self) } }
            if let floats { for (i, f) in floats.enumerated() { buffer.storeBytes(of: f, toByteOffset: 4 * i, as: Float.self) } }
        }
    }

    func merge(_ dir: TestFolder, _ config: String) throws -> (status: Int32, stderr: String, wrote: Bool) {
        try config.write(toFile: dir.path("merge.json"), atomically: true, encoding: .utf8)
        let r = try CLIRunner(cache: dir.path("c.sqlite")).run("merge", dir.path("merge.json"), dir.path("out"), "--direct")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path("out"))) ?? []
        return (r.status, r.stderr, files.contains { $0.hasSuffix(".safetensors") || $0.hasSuffix(".json") })
    }

    let linear = #"{"merge_method": "linear", "models": [{"model": "a", "parameters": {"weight": 0.5}}, {"model": "b", "parameters": {"weight": 0.5}}], "dtype": "bfloat16"}"#

    func testAShardIndexNamingAMissingFileIsAnError() throws {
        let dir = try TestFolder()
        try model(dir.path("b"), dtype: .bf16, bits: [0x3F80, 0x4000])
        try FileManager.default.createDirectory(atPath: dir.path("a"), withIntermediateDirectories: true)
        try #"{"metadata": {"total_size": 4}, "weight_map": {"w": "model-00001-of-00001.safetensors"}}"#
            .write(toFile: dir.path("a/model.safetensors.index.json"), atomically: true, encoding: .utf8)
        let r = try merge(dir, linear)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("model-00001-of-00001.safetensors"), r.stderr)
        XCTAssertFalse(r.wrote, "no output")
    }

    func testTwoShardsClaimingOneTensorIsAnError() throws {
        let dir = try TestFolder()
        try model(dir.path("b"), dtype: .bf16, bits: [0x3F80, 0x4000])
        // Two shards that both hold "w"; the index names the first.
        try model(dir.path("a1"), dtype: .bf16, bits: [0x3F80, 0x4000])
        try FileManager.default.createDirectory(atPath: dir.path("a"), withIntermediateDirectories: true)
        for k in 1...2 {
            try FileManager.default.copyItem(atPath: dir.path("a1/model.safetensors"), toPath: dir.path("a/model-0000\(k)-of-00002.safetensors"))
        }
        try #"{"metadata": {"total_size": 8}, "weight_map": {"w": "model-00001-of-00002.safetensors", "x": "model-00002-of-00002.safetensors"}}"#
            .write(toFile: dir.path("a/model.safetensors.index.json"), atomically: true, encoding: .utf8)
        let r = try merge(dir, linear)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("model-0000") && r.stderr.contains("\"w\""), r.stderr)
        XCTAssertFalse(r.wrote, "no output")
    }

    func testADTypeDifferingBetweenInputsIsAnErrorWithoutADType() throws {
        let dir = try TestFolder()
        try model(dir.path("a"), dtype: .f32, floats: [1, 2])
        try model(dir.path("b"), dtype: .bf16, bits: [0x3F80, 0x4000])
        let r = try merge(dir, linear.replacingOccurrences(of: #", "dtype": "bfloat16""#, with: ""))
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("b/model.safetensors") && r.stderr.contains("\"w\"") && r.stderr.contains("BF16"), r.stderr)
        XCTAssertFalse(r.wrote, "no output")
        // With a dtype, both are converted to it (mergekit's semantics) and the merge runs.
        let ok = try merge(dir, linear)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let out = try SafetensorsFile(path: dir.path("out/model.safetensors"))
        XCTAssertEqual(out.entries.first?.dtype, .bf16)
        XCTAssertEqual(out.loadTensor(out.entries[0]).storage, [1, 2])
    }

    func testABF16NaNIsAnErrorNamingFileAndTensor() throws {
        let dir = try TestFolder()
        try model(dir.path("a"), dtype: .bf16, bits: [0x3F80, 0x7FC0])
        try model(dir.path("b"), dtype: .bf16, bits: [0x3F80, 0x4000])
        let r = try merge(dir, linear)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("a/model.safetensors") && r.stderr.contains("\"w\"") && r.stderr.contains("NaN"), r.stderr)
        XCTAssertFalse(r.wrote, "no output")
    }
}
