import Foundation
import XCTest
@testable import Store

/// Issue 16, through the built binary: exit codes, plain messages, repair, and a cache
/// that cannot be written to.
final class HostileInputCommandTests: XCTestCase {
    /// A one-tensor F32 checkpoint folder.
    func writeCheckpoint(_ folder: String, values: [Float]) throws {
        let json = #"{"w":{"dtype":"F32","shape":[\#(values.count)],"data_offsets":[0,\#(values.count * 4)]}}"#
        var bytes = withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { Array($0) }
        bytes += Array(json.utf8) + values.withUnsafeBytes { Array($0) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/model.safetensors"))
    }

    /// Issue 16, item 12: the cached merge returned 1 for a malformed checkpoint where
    /// `import` and `merge --direct` return 2.
    func testMalformedCheckpointExitsTwoOnEveryMergePath() throws {
        let dir = try TestFolder()
        try writeCheckpoint(dir.path("a"), values: [1, 2])
        try FileManager.default.createDirectory(atPath: dir.path("b"), withIntermediateDirectories: true)
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: dir.path("b/model.safetensors")))
        let config = dir.path("merge.json")
        try #"{"merge_method": "linear", "models": [{"model": "a", "parameters": {"weight": 0.5}}, {"model": "b", "parameters": {"weight": 0.5}}], "dtype": "float32"}"#
            .write(toFile: config, atomically: true, encoding: .utf8)
        let cli = CLIRunner(cache: dir.path("cache.sqlite"))
        for args in [["merge", config, dir.path("out1")], ["merge", config, dir.path("out2"), "--direct"], ["import", dir.path("b")]] {
            let r = try cli.run(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(dir.path("b/model.safetensors")), "\(args): \(r.stderr)")
        }
    }

    /// Issue 16, item 14: Foundation's NSError dumps for an output path that cannot be made.
    func testUnwritableOutputPathGetsAPlainMessage() throws {
        let dir = try TestFolder()
        try writeCheckpoint(dir.path("a"), values: [1, 2])
        let cli = CLIRunner(cache: dir.path("cache.sqlite"))
        let digest = try cli.run(["import", dir.path("a")]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try Data("a file".utf8).write(to: URL(fileURLWithPath: dir.path("file")))
        let r = try cli.run(["export", digest, dir.path("file/out")])
        XCTAssertEqual(r.status, 1)
        XCTAssertFalse(r.stderr.contains("Error Domain"), r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("mergeflow export: \(dir.path("file"))"), r.stderr)
        XCTAssertTrue(r.stderr.contains("Not a directory") || r.stderr.contains("a file is in the way"), r.stderr)
    }

    /// Issue 16, item 1: a corrupt chunk is an error for every reader, and `verify
    /// --repair` removes it and re-imports the checkpoint from its unchanged file.
    func testVerifyRepairReimportsFromTheUnchangedFile() throws {
        let dir = try TestFolder()
        try writeCheckpoint(dir.path("a"), values: [1, 2, 3])
        let cache = dir.path("cache.sqlite")
        let cli = CLIRunner(cache: cache)
        let digest = try cli.run(["import", dir.path("a")]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let store = try Store(path: cache)
            try store.executeSQLForTest("UPDATE chunks SET data = zeroblob(length(data))")
        }
        let export = try cli.run(["export", digest, dir.path("out")])
        XCTAssertEqual(export.status, 1)
        XCTAssertTrue(export.stderr.contains("does not match its digest"), export.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("out/model.safetensors")), "nothing built from bad data")
        XCTAssertEqual(try cli.run(["verify"]).status, 1)
        let repair = try cli.run(["verify", "--repair"])
        XCTAssertEqual(repair.status, 0, repair.stdout + repair.stderr)
        XCTAssertTrue(repair.stdout.contains("re-imported \(dir.path("a"))"), repair.stdout)
        XCTAssertEqual(try cli.run(["export", digest, dir.path("out")]).status, 0)
        XCTAssertEqual(try cli.run(["verify"]).status, 0)
    }

    /// Issue 16, item 11: after a disk-full failure, `status`, `verify` and `gc` all failed
    /// with "database or disk is full". Simulated without root: `ulimit -f 0` makes every
    /// write to a file fail with EFBIG, which SQLite reports as SQLITE_FULL, exactly as on a
    /// full disk. Opening a cache, `status` and `verify` must write nothing at all.
    func testStatusAndVerifyWorkWhenNothingCanBeWritten() throws {
        let dir = try TestFolder()
        try writeCheckpoint(dir.path("a"), values: [1, 2, 3])
        let cache = dir.path("cache.sqlite")
        let cli = CLIRunner(cache: cache)
        XCTAssertEqual(try cli.run(["import", dir.path("a")]).status, 0)
        // First with no other process on the cache: its WAL index (PATH-shm) cannot be
        // sized, so the store falls back to keeping the index in memory (exclusive mode).
        // Then with another connection holding it open, as after a failed run.
        var holder: Store?
        for round in ["alone", "beside another process"] {
            for command in ["status", "verify"] {
                let r = try cli.runShell("trap '' XFSZ; ulimit -f 0 && exec \"$0\" \(command)")
                XCTAssertEqual(r.status, 0, "\(round), \(command): \(r.stdout) \(r.stderr)")
                XCTAssertTrue(r.stdout.contains(command == "status" ? "pins        1" : ": ok"), "\(round), \(command): \(r.stdout)")
            }
            holder = try Store(path: cache)
        }
        XCTAssertEqual(try holder?.status().pinCount, 1)
    }
}

extension Store {
    /// Runs SQL directly (tests only: to corrupt the cache as a bad disk would).
    func executeSQLForTest(_ sql: String) throws { try locked { try db.execute(sql) } }
}
