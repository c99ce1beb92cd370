import Foundation
import JSON
import XCTest
@testable import Store

/// Artifact bundles, how the Slurm executor moves artifacts between caches that share no
/// database: a round trip gives the same digest and bytes; a truncated, altered or
/// unexpected bundle is refused and publishes nothing.
final class BundleTests: XCTestCase {
    /// An artifact of one tensor spanning three chunks and a small one.
    func makeArtifact(_ store: Store) throws -> Digest {
        let big = (0..<(2 * Store.chunkSize + 1000)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let writer = store.newArtifact(kind: "checkpoint", metadata: .object(JSONObject([("step", .number(60))])))
        try big.withUnsafeBytes { try writer.add(name: "w", dtype: .u8, shape: [big.count], bytes: $0) }
        try writer.add(name: "b", fileBytes: Array("tiny".utf8))
        return try writer.publish().digest
    }

    func testARoundTripGivesTheSameArtifactAndPublishesItsResultInOneGo() throws {
        let a = try TemporaryCache(), b = try TemporaryCache()
        let source = try a.open(), target = try b.open()
        let digest = try makeArtifact(source)
        let path = a.folder.appendingPathComponent("x.bundle").path
        try source.exportBundle(digest, to: path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: a.folder.path).filter { $0.contains(".partial-") }, [])

        let key = Digest(bytes: Array(repeating: 7, count: 32))
        let run = try target.beginRun(specName: "s", specDigest: "d", command: "c", engineVersion: "e")
        guard case .acquired(let nodeRun?) = try target.acquireLease(key, owner: "me", seconds: 30, starting: (run, "n", "op", "{}")) else {
            return XCTFail("no lease")
        }
        XCTAssertEqual(try target.importBundle(at: path, expected: digest, as: .result(key: key, owner: "me", nodeRun: nodeRun, detail: nil)), digest)
        XCTAssertEqual(try target.lookupAction(key), digest)
        let manifest = try target.manifest(digest)
        for t in manifest.tensors { XCTAssertEqual(try target.bytes(of: t), try source.bytes(of: t), t.name) }
        XCTAssertEqual(try target.integerForTest("SELECT count(*) FROM leases"), 0, "the lease is released with the publish")
        XCTAssertEqual(try target.nodeRuns(ofRun: run).first?.status, .succeeded)
    }

    func testATruncatedAlteredOrUnexpectedBundleIsRefusedAndPublishesNothing() throws {
        let a = try TemporaryCache(), b = try TemporaryCache()
        let source = try a.open(), target = try b.open()
        let digest = try makeArtifact(source)
        let path = a.folder.appendingPathComponent("x.bundle").path
        try source.exportBundle(digest, to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))

        var truncated = good
        truncated.removeLast(10)
        var flipped = good
        flipped[flipped.count - Store.chunkSize - 5] ^= 1
        var longer = good
        longer.append(0)
        for (name, data) in [("truncated", truncated), ("a flipped bit", flipped), ("trailing bytes", longer), ("empty", Data())] {
            try data.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try target.importBundle(at: path, expected: digest), name) { error in
                guard case StoreError.corrupt = error else { return XCTFail("\(name): \(error)") }
            }
            XCTAssertFalse(try target.contains(digest), name)
        }
        try good.write(to: URL(fileURLWithPath: path))
        let other = Digest(bytes: Array(repeating: 1, count: 32))
        XCTAssertThrowsError(try target.importBundle(at: path, expected: other), "a bundle of another artifact")
        XCTAssertFalse(try target.contains(digest))
        XCTAssertEqual(try target.importBundle(at: path, expected: digest), digest)
    }
}
