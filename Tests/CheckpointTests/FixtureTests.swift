import JSON
import XCTest
@testable import Checkpoint
@testable import Store

/// Files written by the Python `safetensors` package (scripts/reference/
/// make_safetensors_fixtures.py) read with identical values, directly and through the store.
final class FixtureTests: XCTestCase {
    struct Expected {
        let name: String, dtype: String, shape: [Int], offsets: [Int], f32Bits: [UInt32]
    }

    func expected(_ file: String) throws -> (metadata: JSONValue, tensors: [Expected]) {
        let json = try JSONValue.parse(contentsOf: Fixtures.path(file))
        let tensors = json.objectValue!["tensors"]!.arrayValue!.map { t -> Expected in
            let o = t.objectValue!
            return Expected(name: o["name"]!.stringValue!, dtype: o["dtype"]!.stringValue!,
                            shape: o["shape"]!.arrayValue!.map { $0.intValue! },
                            offsets: o["data_offsets"]!.arrayValue!.map { $0.intValue! },
                            f32Bits: o["f32_bits"]!.arrayValue!.map { UInt32($0.intValue!) })
        }
        return (json.objectValue!["__metadata__"]!, tensors)
    }

    func testMixedDtypesReadExactly() throws {
        let (metadata, tensors) = try expected("mixed.expected.json")
        let file = try SafetensorsFile(path: Fixtures.path("mixed.safetensors"))
        XCTAssertEqual(JSONValue.object(file.metadata), metadata)
        XCTAssertEqual(Set(file.entries.map(\.name)), Set(tensors.map(\.name)))
        XCTAssertTrue(tensors.contains { $0.dtype == "BF16" } && tensors.contains { $0.dtype == "F16" } && tensors.contains { $0.shape == [] })
        for t in tensors {
            let entry = try XCTUnwrap(file.entry(named: t.name))
            XCTAssertEqual(entry.dtype.rawValue, t.dtype)
            XCTAssertEqual(entry.shape, t.shape)
            XCTAssertEqual([entry.dataRange.lowerBound, entry.dataRange.upperBound], t.offsets)
            XCTAssertEqual(file.loadTensor(entry).storage.map(\.bitPattern), t.f32Bits, t.name)
        }
    }

    func testShardedFolderImportsWithIdenticalValues() throws {
        let (_, tensors) = try expected("sharded.expected.json")
        let folder = try TestFolder()
        let store = try Store(path: folder.path("c.sqlite"))
        let manifest = try store.importCheckpoint(at: Fixtures.path("sharded"))
        XCTAssertEqual(manifest.kind, "checkpoint")
        XCTAssertEqual(manifest.tensors.count, tensors.count)
        let config = try JSONValue.parse(contentsOf: Fixtures.path("sharded/config.json"))
        XCTAssertEqual(manifest.metadata.objectValue?["config"], config)
        for t in tensors {
            let entry = try XCTUnwrap(manifest.tensor(named: t.name))
            XCTAssertEqual(entry.shape, t.shape)
            XCTAssertEqual(try store.loadTensor(entry).storage.map(\.bitPattern), t.f32Bits, t.name)
        }
    }

    func testMixedImportKeepsHalfTypesAndRoundTripsBitExactly() throws {
        let folder = try TestFolder()
        let store = try Store(path: folder.path("c.sqlite"))
        let original = try store.importCheckpoint(at: Fixtures.path("mixed.safetensors"))
        XCTAssertEqual(original.tensor(named: "c.bf16")?.dtype, .bf16)
        try store.exportCheckpoint(original.digest, to: folder.path("out"))
        let reimported = try store.importCheckpoint(at: folder.path("out"))
        XCTAssertEqual(reimported.digest, original.digest)
        // Same data bytes for every tensor as the Python-written file.
        let a = try SafetensorsFile(path: Fixtures.path("mixed.safetensors"))
        let b = try SafetensorsFile(path: folder.path("out/model.safetensors"))
        XCTAssertEqual(b.metadata, a.metadata)
        for e in a.entries {
            XCTAssertEqual(Array(b.bytes(of: b.entry(named: e.name)!)), Array(a.bytes(of: e)), e.name)
        }
        // Importing the same content twice stores no new chunk.
        let before = try store.status().chunkCount
        _ = try store.importCheckpoint(at: Fixtures.path("mixed.safetensors"))
        XCTAssertEqual(try store.status().chunkCount, before)
    }
}
