import Foundation
import JSON
import Numerics
import XCTest
@testable import Store

/// Round trips, deduplication, actions, gc, verify and schema handling.
final class StoreTests: XCTestCase {
    func bytes(_ n: Int, seed: UInt8) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ ($0 >> 9)) }
    }

    /// A bare relative name (`--cache c`) once crashed inside Foundation's path handling.
    func testOpensACacheNamedByAOneCharacterRelativePath() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-relative-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(folder.path)
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        let store = try Store(path: "c")
        XCTAssertTrue(try store.verify().isClean)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("c").path))
    }

    func testRoundTripAcrossChunkBoundariesAndReopen() throws {
        let cache = try TemporaryCache()
        let sizes = [0, 4, Store.chunkSize - 4, Store.chunkSize, Store.chunkSize + 4, 2 * Store.chunkSize + 12]
        var digest: Digest?
        do {
            let store = try cache.open()
            let w = store.newArtifact(kind: "checkpoint", metadata: ["note": "x", "n": 3])
            for (i, n) in sizes.enumerated() {
                let b = bytes(n, seed: UInt8(i))
                try b.withUnsafeBytes { try w.add(name: "t\(i)", dtype: .f32, shape: [n / 4], bytes: $0) }
            }
            digest = try w.publish().digest
        }
        let store = try cache.open()  // a new connection sees the published artifact
        let m = try store.manifest(digest!)
        XCTAssertEqual(m.kind, "checkpoint")
        XCTAssertTrue(m.metadata.isEquivalent(to: ["note": "x", "n": 3]), "\(m.metadata)")
        XCTAssertEqual(m.tensors.map(\.name), sizes.indices.map { "t\($0)" })
        for (i, n) in sizes.enumerated() {
            let entry = m.tensor(named: "t\(i)")!
            XCTAssertEqual(entry.chunks.count, max(1, (n + Store.chunkSize - 1) / Store.chunkSize))
            var out = [UInt8](repeating: 0, count: n)
            try out.withUnsafeMutableBytes { try store.readBytes(of: entry, into: $0) }
            XCTAssertEqual(out, bytes(n, seed: UInt8(i)), "tensor t\(i)")
        }
    }

    func testDigestIgnoresInsertionOrderButNotContent() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        func publish(_ names: [String], value: Float) throws -> Digest {
            let w = store.newArtifact(kind: "checkpoint")
            for n in names { try w.add(name: n, tensor: Tensor(shape: [2], repeating: value)) }
            return try w.publish().digest
        }
        XCTAssertEqual(try publish(["a", "b"], value: 1), try publish(["b", "a"], value: 1))
        XCTAssertNotEqual(try publish(["a", "b"], value: 1), try publish(["a", "b"], value: 2))
    }

    func testIdenticalTensorsAreStoredOnce() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let big = Tensor(shape: [Store.chunkSize / 4 + 10], repeating: 0.5)
        for kind: ArtifactKind in ["checkpoint", "checkpoint", "other"] {
            let w = store.newArtifact(kind: kind)
            try w.add(name: "w", tensor: big)
            try w.add(name: "copy", tensor: big)
            try w.publish(pin: kind.rawValue)
        }
        // Two chunks (4 MiB + 40 bytes) of the same values, shared by every tensor.
        XCTAssertEqual(try store.integerForTest("SELECT count(*) FROM chunks"), 2)
        XCTAssertEqual(try store.integerForTest("SELECT count(*) FROM artifacts"), 2)
    }

    func testInvalidTensorsAreRejected() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let w = store.newArtifact(kind: "checkpoint")
        try w.add(name: "a", tensor: Tensor(shape: [3]))
        XCTAssertThrowsError(try w.add(name: "a", tensor: Tensor(shape: [3]))) {
            XCTAssertEqual("\($0)", "tensor a: added twice")
        }
        XCTAssertThrowsError(try [UInt8](repeating: 0, count: 10).withUnsafeBytes { try w.add(name: "b", dtype: .f32, shape: [3], bytes: $0) }) {
            XCTAssertEqual("\($0)", "tensor b: shape [3] × F32 needs 12 bytes, got 10")
        }
        XCTAssertThrowsError(try [UInt8]().withUnsafeBytes { try w.add(name: "c", dtype: .f16, shape: [1 << 40, 1 << 40], bytes: $0) }) {
            XCTAssertTrue("\($0)".contains("too large"), "\($0)")
        }
        XCTAssertEqual(w.tensorNames, ["a"])
    }

    func testActionsRequireTheirChunks() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let key = SHA256.hash("action")
        XCTAssertNil(try store.lookupAction(key))
        let w = store.newArtifact(kind: "checkpoint")
        try w.add(name: "w", tensor: Tensor(shape: [4], repeating: 3))
        let m = try w.publish(actionKey: key)
        XCTAssertEqual(try store.lookupAction(key), m.digest)
        try store.executeForTest("DELETE FROM chunks")
        XCTAssertNil(try store.lookupAction(key), "a hit whose chunks are gone must not be trusted")
    }

    func testPublishRefusesMissingChunks() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let w = store.newArtifact(kind: "checkpoint")
        // Large enough to be written at once rather than with the publish.
        try w.add(name: "w", tensor: Tensor(shape: [ArtifactWriter.deferLimit / 4 + 1], repeating: 3))
        try store.executeForTest("DELETE FROM chunks")  // as if a concurrent gc took them
        XCTAssertThrowsError(try w.publish()) { XCTAssertTrue("\($0)".contains("1 chunk(s) missing"), "\($0)") }
        XCTAssertEqual(try store.integerForTest("SELECT count(*) FROM artifacts"), 0)
    }

    func testGarbageCollectionKeepsReferencedAndYoungOrphans() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        func publish(_ v: Float, action: String? = nil, pin: String? = nil) throws -> Digest {
            let w = store.newArtifact(kind: "checkpoint")
            try w.add(name: "w", tensor: Tensor(shape: [8], repeating: v))
            return try w.publish(actionKey: action.map { SHA256.hash($0) }, pin: pin).digest
        }
        let kept1 = try publish(1, action: "k1")
        let kept2 = try publish(2, pin: "import:x")
        let dropped = try publish(3)
        // An orphan chunk from an interrupted writer (large tensors are written at once).
        let orphan = store.newArtifact(kind: "checkpoint")
        let orphanCount = ArtifactWriter.deferLimit / 4 + 1
        try orphan.add(name: "w", tensor: Tensor(shape: [orphanCount], repeating: 4))

        var r = try store.collectGarbage(grace: 600)
        XCTAssertEqual(r.artifactsRemoved, 1)
        XCTAssertEqual(r.chunksRemoved, 1, "the dropped artifact's chunk goes, the young orphan stays")
        XCTAssertFalse(try store.contains(dropped))
        XCTAssertTrue(try store.contains(kept1))
        XCTAssertTrue(try store.contains(kept2))
        XCTAssertEqual(try store.integerForTest("SELECT count(*) FROM chunks"), 3)

        r = try store.collectGarbage(grace: 0)
        XCTAssertEqual(r.chunksRemoved, 1)
        XCTAssertEqual(r.bytesRemoved, orphanCount * 4)
        XCTAssertTrue(try store.unpin(label: "import:x"))
        r = try store.collectGarbage(grace: 0)
        XCTAssertEqual(r.artifactsRemoved, 1)
        XCTAssertFalse(try store.contains(kept2))
        XCTAssertTrue(try store.verify().isClean)
    }

    func testSmallTensorsAreWrittenWithThePublishOnly() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let abandoned = store.newArtifact(kind: "checkpoint")
        try abandoned.add(name: "w", tensor: Tensor(shape: [8], repeating: 1))
        XCTAssertEqual(try store.status().chunkCount, 0, "an unpublished small artifact leaves nothing behind")
        let w = store.newArtifact(kind: "checkpoint")
        for i in 0..<5 { try w.add(name: "t\(i)", tensor: Tensor(shape: [8], repeating: Float(i))) }
        XCTAssertEqual(try store.status().chunkCount, 0)
        let m = try w.publish()
        XCTAssertEqual(try store.status().chunkCount, 5)
        XCTAssertEqual(try store.loadTensor(m.tensor(named: "t3")!).storage, [Float](repeating: 3, count: 8))
    }

    func testVerifyFindsCorruptedChunksAndDanglingReferences() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let w = store.newArtifact(kind: "checkpoint")
        try w.add(name: "w", tensor: Tensor(shape: [1000], repeating: 1))
        let d = try w.publish(actionKey: SHA256.hash("k")).digest
        var report = try store.verify()
        XCTAssertTrue(report.isClean, "\(report.problems)")
        XCTAssertEqual(report.chunksChecked, 1)
        XCTAssertEqual(report.bytesChecked, 4000)

        try store.executeForTest("UPDATE chunks SET data = zeroblob(4000)")
        report = try store.verify()
        XCTAssertEqual(report.problems.count, 1)
        XCTAssertTrue(report.problems[0].contains("content hashes to"), report.problems[0])

        try store.executeForTest("PRAGMA foreign_keys = OFF; DELETE FROM chunks; DELETE FROM artifacts; PRAGMA foreign_keys = ON;")
        report = try store.verify()
        XCTAssertTrue(report.problems.contains { $0.contains("action") && $0.contains(d.hex) && $0.contains("artifact missing") }, "\(report.problems)")
    }

    func testNewerSchemaIsRefusedAndOlderIsMigrated() throws {
        let cache = try TemporaryCache()
        do {
            let store = try cache.open()
            XCTAssertEqual(try store.schemaVersion, Schema.currentVersion)
            try store.executeForTest("PRAGMA user_version = 99")
        }
        XCTAssertThrowsError(try cache.open()) { error in
            guard case StoreError.newerSchema(_, 99, Schema.currentVersion) = error else { return XCTFail("\(error)") }
        }
    }

    func testNotADatabaseIsAnError() throws {
        let cache = try TemporaryCache()
        try Data("this is not sqlite, just text that is long enough to be a header".utf8).write(to: URL(fileURLWithPath: cache.path))
        XCTAssertThrowsError(try cache.open())
    }

    func testHalfWideningIsExactForEveryBitPattern() throws {
        // Independent reference: Swift's own Float16 conversion.
        for bits in 0...UInt16.max {
            let ours = DType.halfToFloat(bits)
            let reference = Float(Float16(bitPattern: bits))
            if ours.isNaN {
                XCTAssertTrue(reference.isNaN, "bits \(bits)")
                XCTAssertEqual(ours.bitPattern & 0x007f_ffff, UInt32(bits & 0x3ff) << 13, "NaN payload kept")
            } else if ours.bitPattern != reference.bitPattern {
                return XCTFail("F16 \(String(bits, radix: 16)): \(ours) != \(reference)")
            }
        }
    }

    func testLoadTensorWidensHalfTypes() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let w = store.newArtifact(kind: "checkpoint")
        let f16: [UInt16] = [0x3c00, 0xc000, 0x0001, 0x7c00]   // 1, -2, smallest subnormal, +inf
        let bf16: [UInt16] = [0x3f80, 0xc040, 0x0000, 0x8000]  // 1, -3, 0, -0
        try f16.withUnsafeBytes { try w.add(name: "h", dtype: .f16, shape: [4], bytes: $0) }
        try bf16.withUnsafeBytes { try w.add(name: "b", dtype: .bf16, shape: [2, 2], bytes: $0) }
        let m = try w.publish()
        XCTAssertEqual(try store.loadTensor(m.tensor(named: "h")!).storage, [1, -2, Float(bitPattern: 0x3380_0000), .infinity])
        let b = try store.loadTensor(m.tensor(named: "b")!)
        XCTAssertEqual(b.shape, [2, 2])
        XCTAssertEqual(b.storage.map(\.bitPattern), [0x3f80_0000, 0xc040_0000, 0, 0x8000_0000])
    }
}
