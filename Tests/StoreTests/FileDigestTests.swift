import Foundation
import XCTest
@testable import Store

/// External files are keyed by content; the cache remembers each file version's digest.
final class FileDigestTests: XCTestCase {
    func testDigestIsContentRememberedAndRecomputedWhenTheFileChanges() throws {
        let cache = try TemporaryCache()
        let store = try cache.open()
        let file = cache.folder.appendingPathComponent("data.jsonl").path
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: file))
        let first = try store.fileDigest(path: file)
        XCTAssertEqual(first, SHA256.hash(Array("hello\n".utf8)))
        XCTAssertEqual(try store.fileDigest(path: "\(cache.folder.path)/./data.jsonl"), first, "paths are normalised")

        // Remembered, not rehashed: a planted digest for the unchanged file comes back.
        XCTAssertEqual(try store.integerForTest("SELECT count(*) FROM file_digests"), 1)
        let planted = String(repeating: "ab", count: 32)
        try store.executeForTest("UPDATE file_digests SET digest = '\(planted)'")
        XCTAssertEqual(try store.fileDigest(path: file).hex, planted)

        // Same size, content changed, modification time put back: the change time still
        // moves, so the file is hashed again.
        var info = stat()
        XCTAssertEqual(stat(file, &info), 0)
        Thread.sleep(forTimeInterval: 0.01)
        try Data("HELLO\n".utf8).write(to: URL(fileURLWithPath: file))
        var times = [timespec(tv_sec: info.st_atim.tv_sec, tv_nsec: info.st_atim.tv_nsec),
                     timespec(tv_sec: info.st_mtim.tv_sec, tv_nsec: info.st_mtim.tv_nsec)]
        XCTAssertEqual(utimensat(AT_FDCWD, file, &times, 0), 0)
        XCTAssertEqual(try store.fileDigest(path: file), SHA256.hash(Array("HELLO\n".utf8)))

        // Rewritten with the first content (new times): hashed again, same digest as at first.
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(try store.fileDigest(path: file), first)

        // A file that does not exist is an error naming it.
        XCTAssertThrowsError(try store.fileDigest(path: file + ".missing")) {
            XCTAssertTrue("\($0)".contains("data.jsonl.missing"), "\($0)")
        }
    }
}
