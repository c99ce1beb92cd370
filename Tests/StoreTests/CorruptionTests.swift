import Foundation
import XCTest
import Numerics
@testable import Store

/// Issue 16: corrupt data is never used, `verify --repair` removes it and what needs it,
/// and a cache file deleted under a process is noticed.
final class CorruptionTests: XCTestCase {
    /// Flips one byte of the stored chunk `digest` (as a bad disk sector would).
    func flipByte(of digest: Digest, in store: Store, at offset: Int = 0) throws {
        try store.locked {
            let s = try store.db.prepare("SELECT data FROM chunks WHERE digest = ?")
            s.bind(1, digest.bytes)
            XCTAssertTrue(try s.step())
            var data = s.blob(0)
            data[offset] ^= 0x5a
            let u = try store.db.prepare("UPDATE chunks SET data = ? WHERE digest = ?")
            u.bind(1, data).bind(2, digest.bytes)
            try u.run()
        }
    }

    /// An artifact with a two-chunk tensor and a small one, published under an action
    /// and a pin.
    func makeArtifact(_ store: Store, seed: Float, key: Digest?, pin: String?) throws -> ArtifactManifest {
        let w = store.newArtifact(kind: "checkpoint")
        let big = (0..<(Store.chunkSize / 4 + 1000)).map { Float($0) * seed }
        try big.withUnsafeBytes { try w.add(name: "big", dtype: .f32, shape: [big.count], bytes: $0) }
        let small: [Float] = [seed, 2 * seed, 3 * seed]
        try small.withUnsafeBytes { try w.add(name: "small", dtype: .f32, shape: [3], bytes: $0) }
        return try w.publish(actionKey: key, pin: pin)
    }

    func testCorruptChunkIsNeverUsed() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let m = try makeArtifact(store, seed: 1, key: nil, pin: nil)
        for name in ["big", "small"] {
            let entry = m.tensor(named: name)!
            let bad = entry.chunks.last!
            try flipByte(of: bad, in: store, at: 3)
            for read in [{ _ = try store.loadTensor(entry) }, { _ = try store.bytes(of: entry) }] {
                XCTAssertThrowsError(try read()) { error in
                    guard case let .corruptChunk(chunk, tensor, artifacts) = error as? StoreError else { return XCTFail("\(error)") }
                    XCTAssertEqual(chunk, bad.hex)
                    XCTAssertEqual(tensor, name)
                    XCTAssertEqual(artifacts, [m.digest.hex])
                    XCTAssertTrue("\(error)".contains("verify --repair"), "\(error)")
                }
            }
        }
    }

    func testVerifyRepairRemovesCorruptChunksAndWhatNeedsThem() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let keyA = SHA256.hash(Array("a".utf8)), keyB = SHA256.hash(Array("b".utf8))
        let a = try makeArtifact(store, seed: 1, key: keyA, pin: "import:/somewhere/a")
        let b = try makeArtifact(store, seed: 2, key: keyB, pin: nil)
        let bad = a.tensor(named: "small")!.chunks[0]
        try flipByte(of: bad, in: store)
        XCTAssertFalse(try store.verify().isClean)

        let repaired = try store.repair()
        XCTAssertEqual(repaired.chunksRemoved, 1)
        XCTAssertEqual(repaired.artifactsRemoved, [a.digest.hex])
        XCTAssertEqual(repaired.actionsRemoved, 1)
        XCTAssertEqual(repaired.pinsRemoved.map(\.label), ["import:/somewhere/a"])
        let after = try store.verify()
        XCTAssertTrue(after.isClean, "\(after.problems)")
        XCTAssertNil(try store.lookupAction(keyA), "the next run recomputes it")
        XCTAssertEqual(try store.lookupAction(keyB), b.digest, "nothing that did not need the chunk is touched")
        XCTAssertEqual(try store.loadTensor(b.tensor(named: "big")!).storage[3], 6)
        // Recomputing gives the same artifact back, with a sound chunk.
        let again = try makeArtifact(store, seed: 1, key: keyA, pin: nil)
        XCTAssertEqual(again.digest, a.digest)
        XCTAssertEqual(try store.loadTensor(again.tensor(named: "small")!).storage, [1, 2, 3])
        XCTAssertEqual(try store.repair().artifactsRemoved, [], "a sound cache has nothing to repair")
    }

    func testDeletedCacheFileIsNoticed() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        XCTAssertNoThrow(try store.checkStillAtPath())
        try FileManager.default.removeItem(atPath: cache.path)
        XCTAssertThrowsError(try store.checkStillAtPath()) { error in
            guard case .cacheFileReplaced(let path) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, cache.path)
        }
        // Replaced by another file at the same path: also not the cache this store wrote to.
        _ = try Store(path: cache.path)
        XCTAssertThrowsError(try store.checkStillAtPath())
    }

    /// Issue 16, item 14: a FIFO was reported as "not found in the cache".
    func testSpecialFileIsNamedForWhatItIs() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let fifo = cache.folder.appendingPathComponent("pipe").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertThrowsError(try store.fileDigest(path: fifo)) { error in
            XCTAssertEqual("\(error)", "\(fifo): is a FIFO (named pipe), not a regular file")
        }
        let loop = cache.folder.appendingPathComponent("loop").path
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        XCTAssertThrowsError(try store.fileDigest(path: loop)) { error in
            XCTAssertEqual("\(error)", "\(loop): too many levels of symbolic links (a symlink loop?)")
        }
    }
}

/// Issue 16, item 11: after a disk-full failure, gc could not free anything ("database or
/// disk is full" until space was freed by hand). The full disk is simulated at the SQLite
/// edge (a write transaction fails with SQLITE_FULL while the reserve file exists): making
/// a real full file system needs root. `status` and `verify` writing nothing is tested
/// through the binary under `ulimit -f 0` (MergeflowCLITests).
final class FullDiskTests: XCTestCase {
    func testGCFreesSpaceOnAFullDiskByGivingBackTheReserve() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let reserve = store.reservePath
        var info = stat()
        XCTAssertEqual(stat(reserve, &info), 0, "a cache keeps a reserve beside it")
        XCTAssertGreaterThanOrEqual(Int(info.st_blocks) * 512, Store.reserveBytes, "allocated, not sparse")
        let w = store.newArtifact(kind: "checkpoint")
        try w.add(name: "w", tensor: Tensor(shape: [4], repeating: 1))
        try w.publish()  // no action, no pin: garbage
        store.db.simulateFullDisk = { FileManager.default.fileExists(atPath: reserve) }
        let report = try store.collectGarbage(grace: 0)
        XCTAssertEqual(report.artifactsRemoved, 1)
        XCTAssertEqual(report.chunksRemoved, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: reserve), "put back once there is room")
        // Still full with no reserve left: a clear message, not SQLite's.
        store.db.simulateFullDisk = { true }
        XCTAssertEqual(unlink(reserve), 0)
        XCTAssertThrowsError(try store.collectGarbage(grace: 0)) { error in
            XCTAssertEqual("\(error)", "\(cache.path): the disk is full and the space kept in reserve is used up; free a few MiB and run gc again")
        }
    }
}
