import Foundation
import XCTest
@testable import Checkpoint
@testable import Store

/// Issue 16: inputs that change, block or mislead while being read, and output folders
/// that hold something else.
final class HostileInputTests: XCTestCase {
    /// A checkpoint of one F32 tensor of `count` values.
    func checkpoint(_ folder: TestFolder, _ name: String, count: Int) throws -> String {
        let header = #"{"w":{"dtype":"F32","shape":[\#(count)],"data_offsets":[0,\#(count * 4)]}}"#
        return try folder.safetensors(name, header: header, data: [UInt8](repeating: 0x3f, count: count * 4))
    }

    /// Issue 16, item 4: reading a mapping past the end of a file truncated meanwhile was a
    /// SIGBUS that killed the process; now the read sees zeros and the check after it throws.
    func testTruncatedWhileMappedIsAnErrorNotACrash() throws {
        let folder = try TestFolder()
        let path = try checkpoint(folder, "m.safetensors", count: 1 << 20)
        let file = try SafetensorsFile(path: path)
        let entry = file.entries[0]
        let before = fileState(path)
        XCTAssertEqual(truncate(path, 4096), 0)
        // Touch every page of the tensor (as SHA-256 or a merge kernel would).
        var sum = 0
        for b in file.bytes(of: entry) { sum &+= Int(b) }
        XCTAssertGreaterThan(sum, 0, "the first page is still the file's")
        XCTAssertThrowsError(try file.checkUnchanged()) { error in
            XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
            XCTAssertTrue("\(error)".contains("truncated while being read"), "\(error)")
        }
        // The fault itself is remembered: restoring size and time does not hide it.
        XCTAssertEqual(truncate(path, off_t(before.size)), 0)
        var times = [before.modified, before.modified]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &times, 0), 0)
        XCTAssertThrowsError(try file.checkUnchanged())
        // A fresh reader of the restored file is fine.
        XCTAssertNoThrow(try SafetensorsFile(path: path).checkUnchanged())
    }

    /// The merges that read stored bytes copy them (`pread`): a read that a truncation cut
    /// short is an error naming the file, never a buffer left partly stale.
    func testStoredBytesCutShortAreAnError() throws {
        let folder = try TestFolder()
        let path = try checkpoint(folder, "m.safetensors", count: 1 << 16)
        let file = try SafetensorsFile(path: path)
        let entry = file.entries[0]
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 18, alignment: 64)
        defer { buffer.deallocate() }
        XCTAssertNoThrow(try file.copyStored(entry, elements: 0..<(1 << 16), into: buffer))
        XCTAssertEqual(buffer.load(fromByteOffset: (1 << 18) - 1, as: UInt8.self), 0x3f)
        XCTAssertEqual(truncate(path, 8192), 0)
        XCTAssertNoThrow(try file.copyStored(entry, elements: 0..<100, into: buffer), "what is still there reads")
        XCTAssertThrowsError(try file.copyStored(entry, elements: 0..<(1 << 16), into: buffer)) { error in
            XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
            XCTAssertTrue("\(error)".contains("truncated while being read"), "\(error)")
        }
    }

    func fileState(_ path: String) -> (size: Int, modified: timespec) {
        var info = stat()
        XCTAssertEqual(lstat(path, &info), 0)
        return (Int(info.st_size), info.st_mtim)
    }

    /// Issue 16, item 5: opening a FIFO waited forever for a writer.
    func testFIFOIsRefusedWithoutHanging() throws {
        let folder = try TestFolder()
        let fifo = folder.path("model.safetensors")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let cache = try Store(path: folder.path("c.sqlite"))
        let folderPath = folder.url.path
        let done = DispatchSemaphore(value: 0)
        let messages = Messages()
        Thread {
            for attempt in [{ _ = try SafetensorsFile(path: fifo) }, { _ = try CheckpointFolder(path: folderPath) },
                            { _ = try cache.importCheckpoint(at: fifo) }] {
                do { try attempt(); messages.append("no error") } catch { messages.append("\(error)") }
            }
            done.signal()
        }.start()
        if done.wait(timeout: .now() + 10) == .timedOut {
            // Unblock the reader (a writer opens the other end) so the test process can end.
            let fd = open(fifo, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
            XCTFail("opening a FIFO blocked")
            return
        }
        XCTAssertEqual(messages.all, Array(repeating: "\(fifo): is a FIFO (named pipe), not a regular file", count: 3))
    }

    /// Issue 16, item 14: a symlink loop was reported as "no such file or folder".
    func testSymlinkLoopIsNamedAsSuch() throws {
        let folder = try TestFolder()
        let loop = folder.path("loop")
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        XCTAssertThrowsError(try CheckpointFolder(path: loop)) { error in
            XCTAssertEqual("\(error)", "\(loop): too many levels of symbolic links (a symlink loop?)")
        }
        XCTAssertThrowsError(try CheckpointFolder(path: folder.path("absent"))) { error in
            XCTAssertEqual("\(error)", "\(folder.path("absent")): no such file or folder")
        }
    }

    /// Issue 16, item 14: a tensor whose offsets run past the end sorts last; the gap it
    /// leaves was blamed on the tensor before it.
    func testTensorPastTheEndIsBlamedNotItsNeighbour() throws {
        let folder = try TestFolder()
        let path = try folder.safetensors("bad.safetensors", header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                                          data: [UInt8](repeating: 0, count: 8))
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { error in
            XCTAssertEqual((error as? CheckpointError)?.tensor, "a", "\(error)")
            XCTAssertTrue("\(error)".contains("run past the 8-byte data section"), "\(error)")
        }
    }

    /// Issue 16, item 7: export into a folder holding a sharded checkpoint left the old
    /// index in charge (re-importing gave the old model's digest).
    func testExportRefusesAFolderHoldingAShardedCheckpoint() throws {
        let folder = try TestFolder()
        let cache = try Store(path: folder.path("c.sqlite"))
        let digest = try cache.importCheckpoint(at: try checkpoint(folder, "one.safetensors", count: 4)).digest
        let out = folder.path("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try #"{"weight_map": {"w": "model-00001-of-00001.safetensors"}}"#.write(toFile: out + "/model.safetensors.index.json", atomically: true, encoding: .utf8)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: out + "/model-00001-of-00001.safetensors"))
        XCTAssertThrowsError(try cache.exportCheckpoint(digest, to: out)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(out): holds a sharded checkpoint (model.safetensors.index.json)"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(),
                       ["model-00001-of-00001.safetensors", "model.safetensors.index.json"], "nothing written, nothing lost")
        // Into a clean folder the export round-trips.
        try cache.exportCheckpoint(digest, to: folder.path("clean"))
        XCTAssertEqual(try cache.importCheckpoint(at: folder.path("clean")).digest, digest)
    }

    /// Issue 16, item 10: `kill -9` during a write left NAME.partial-PID for ever.
    func testStalePartialFileOfADeadWriterIsRemoved() throws {
        let folder = try TestFolder()
        let cache = try Store(path: folder.path("c.sqlite"))
        let digest = try cache.importCheckpoint(at: try checkpoint(folder, "one.safetensors", count: 4)).digest
        let out = folder.path("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // A process that has exited: its PID names no process now.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let dead = out + "/model.safetensors.partial-\(gone.processIdentifier)"
        let alive = out + "/model.safetensors.partial-\(getppid())"
        let other = out + "/notes.txt.partial-\(gone.processIdentifier)"
        for p in [dead, alive, other] { try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: p)) }
        try cache.exportCheckpoint(digest, to: out)
        let left = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertFalse(left.contains((dead as NSString).lastPathComponent), "\(left)")
        XCTAssertTrue(left.contains((alive as NSString).lastPathComponent), "a live writer's file stays: \(left)")
        XCTAssertTrue(left.contains((other as NSString).lastPathComponent), "another output's file is not ours to judge: \(left)")
        XCTAssertTrue(left.contains("model.safetensors"))
    }
}

/// Messages collected on another thread.
final class Messages: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
