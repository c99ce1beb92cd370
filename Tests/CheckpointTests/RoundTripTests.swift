import Foundation
import JSON
import Numerics
import XCTest
@testable import Checkpoint
@testable import Store

/// Our writer's files read back exactly, and export → import is the identity.
final class RoundTripTests: XCTestCase {
    func testWriterOutputReadsBackAndIsAligned() throws {
        let folder = try TestFolder()
        let items = [
            SafetensorsWriter.Item(name: "z", dtype: .f32, shape: [3, 2]),
            SafetensorsWriter.Item(name: "a", dtype: .f32, shape: []),
            SafetensorsWriter.Item(name: "e", dtype: .f32, shape: [0, 5]),
        ]
        let path = folder.path("w.safetensors")
        try SafetensorsWriter.write(to: path, items: items, metadata: ["format": "pt"]) { i, buffer in
            let f = buffer.bindMemory(to: Float.self)
            for j in 0..<f.count { f[j] = Float(i * 10 + j) + 0.25 }
        }
        let file = try SafetensorsFile(path: path)
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(file.loadTensor(file.entry(named: "z")!).storage, [0.25, 1.25, 2.25, 3.25, 4.25, 5.25])
        XCTAssertEqual(file.loadTensor(file.entry(named: "a")!).storage, [10.25])
        XCTAssertEqual(file.entry(named: "e")!.shape, [0, 5])
        let headerLength = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual((8 + headerLength) % 8, 0, "data section starts 8-byte aligned")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial-\(getpid())"))
    }

    func testWriterRefusesDuplicateNamesAndLeavesNoFile() throws {
        let folder = try TestFolder()
        let path = folder.path("dup.safetensors")
        let items = [SafetensorsWriter.Item(name: "a", dtype: .f32, shape: [1]), SafetensorsWriter.Item(name: "a", dtype: .f32, shape: [1])]
        XCTAssertThrowsError(try SafetensorsWriter.write(to: path, items: items) { _, _ in })
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testFailedFillLeavesNoFile() throws {
        struct Boom: Error {}
        let folder = try TestFolder()
        let path = folder.path("x.safetensors")
        XCTAssertThrowsError(try SafetensorsWriter.write(to: path, items: [SafetensorsWriter.Item(name: "a", dtype: .f32, shape: [4])]) { _, _ in throw Boom() })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.url.path), [])
    }

    func testExportImportIsIdentityAndExportIsByteStable() throws {
        let folder = try TestFolder()
        let store = try Store(path: folder.path("c.sqlite"))
        let w = store.newArtifact(kind: Store.checkpointKind, metadata: ["config": ["model_type": "gpt2", "n_embd": 8]])
        var rng = SystemRandomNumberGenerator()
        for name in ["transformer.wte.weight", "transformer.h.0.ln_1.bias", "big"] {
            let n = name == "big" ? Store.chunkSize / 4 * 2 + 5 : 24
            try w.add(name: name, tensor: Tensor(shape: [n], storage: (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }))
        }
        let m = try w.publish(pin: "test")
        try store.exportCheckpoint(m.digest, to: folder.path("a"))
        XCTAssertEqual(try JSONValue.parse(contentsOf: folder.path("a/config.json")), ["model_type": "gpt2", "n_embd": 8])
        let again = try store.importCheckpoint(at: folder.path("a"))
        XCTAssertEqual(again.digest, m.digest)
        try store.exportCheckpoint(again.digest, to: folder.path("b"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder.path("a/model.safetensors"))),
                       try Data(contentsOf: URL(fileURLWithPath: folder.path("b/model.safetensors"))))
    }
}
