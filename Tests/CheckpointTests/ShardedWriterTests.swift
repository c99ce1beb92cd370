@testable import Checkpoint
import Foundation
import JSON
import Store
import XCTest

/// The sharded writer cuts shards as mergekit 0.1.5's TensorWriter does, names them as
/// transformers does, and leaves nothing that looks complete when a write fails.
final class ShardedWriterTests: XCTestCase {
    func items(_ sizes: [Int]) -> [SafetensorsWriter.Item] {
        sizes.enumerated().map { SafetensorsWriter.Item(name: "t\($0.offset)", dtype: .bf16, shape: [$0.element / 2]) }
    }

    func testShardsAreCutByBytesAsMergekitCutsThem() {
        // 100-byte limit: a shard closes when the next tensor would pass it; a tensor
        // larger than the limit gets a shard of its own.
        XCTAssertEqual(ShardedCheckpointWriter.plan(items([40, 40, 20, 10, 200, 60, 60]), maxShardBytes: 100),
                       [0..<3, 3..<4, 4..<5, 5..<6, 6..<7])
        XCTAssertEqual(ShardedCheckpointWriter.plan(items([40, 60]), maxShardBytes: 100), [0..<2], "exactly full")
        XCTAssertEqual(ShardedCheckpointWriter.plan(items([40, 60]), maxShardBytes: 0), [0..<2], "≤ 0: no limit (mergekit)")
        XCTAssertEqual(ShardedCheckpointWriter.shardName(0, of: 1), "model.safetensors")
        XCTAssertEqual(ShardedCheckpointWriter.shardName(1, of: 12), "model-00002-of-00012.safetensors")
    }

    func testShardSizeSuffixesFollowParseKMB() {
        XCTAssertEqual(ShardedCheckpointWriter.shardBytes(parsing: "5B"), 5_000_000_000)
        XCTAssertEqual(ShardedCheckpointWriter.shardBytes(parsing: "500m"), 500_000_000)
        XCTAssertEqual(ShardedCheckpointWriter.shardBytes(parsing: "50K"), 50_000)
        XCTAssertEqual(ShardedCheckpointWriter.shardBytes(parsing: "1234"), 1234)
        for bad in ["", "B", "5G", "1.5B", "-5B", "5 B"] { XCTAssertNil(ShardedCheckpointWriter.shardBytes(parsing: bad), bad) }
    }

    /// Values of tensor i: element j is i·1000 + j, as BF16 bytes.
    func fill(_ item: SafetensorsWriter.Item, _ i: Int) -> [UInt8] {
        (0..<item.shape[0]).flatMap { j -> [UInt8] in
            let b = DType.bfloat16Bits(Float(i * 1000 + j))
            return [UInt8(b & 0xFF), UInt8(b >> 8)]
        }
    }

    func testWritesShardsAndIndexThatLoadBack() throws {
        let folder = try TestFolder()
        let out = folder.path("out")
        // A stale single file from an earlier merge into the same folder must go.
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: out + "/model.safetensors"))
        // Given out of name order ("b" before "a") within one shard: laid out in name order.
        let list = [SafetensorsWriter.Item(name: "b", dtype: .bf16, shape: [30]), SafetensorsWriter.Item(name: "a", dtype: .bf16, shape: [10]),
                    SafetensorsWriter.Item(name: "c", dtype: .bf16, shape: [50])]
        let written = try ShardedCheckpointWriter.write(folder: out, items: list, maxShardBytes: 100) { i, emit in
            try fill(list[i], i).withUnsafeBytes { try emit($0) }
        }
        XCTAssertEqual(written.shards, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        XCTAssertEqual(written.totalSize, 180)
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(files, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"])
        let index = try JSONValue.parse(contentsOf: out + "/model.safetensors.index.json").objectValue!
        XCTAssertEqual(index["metadata"]?.objectValue?["total_size"]?.intValue, 180)
        XCTAssertEqual(index["weight_map"]?.objectValue?["c"]?.stringValue, "model-00002-of-00002.safetensors")
        let first = try SafetensorsFile(path: out + "/model-00001-of-00002.safetensors")
        XCTAssertEqual(first.entries.map(\.name), ["a", "b"], "name order inside a shard (safetensors' save_file)")
        let loaded = try CheckpointFolder(path: out)
        for (i, item) in list.enumerated() {
            let location = loaded.tensor(named: item.name)!
            XCTAssertEqual(Array(location.file.bytes(of: location.entry)), fill(item, i), item.name)
        }
        // Rewritten as one shard: the shards and the index of the earlier write go.
        try ShardedCheckpointWriter.write(folder: out, items: list, maxShardBytes: 0) { i, emit in
            try fill(list[i], i).withUnsafeBytes { try emit($0) }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["model.safetensors"])
    }

    func testFailureMidwayLeavesNoShardsAndNoIndex() throws {
        let folder = try TestFolder()
        let out = folder.path("out")
        let list = items([40, 40, 40, 40])
        XCTAssertThrowsError(try ShardedCheckpointWriter.write(folder: out, items: list, maxShardBytes: 80) { i, emit in
            if i == 3 { throw CheckpointError(file: "input", tensor: "t3", "unreadable") }
            try fill(list[i], i).withUnsafeBytes { try emit($0) }
        }) { XCTAssertEqual(($0 as? CheckpointError)?.tensor, "t3") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [], "no shard, no index, no partial file")
    }
}
