import Checkpoint
import Foundation
import XCTest

/// The binary end to end: output, messages and exit codes (0 ok, 1 work failed, 2 usage/input).
final class CommandLineTests: XCTestCase {
    func writeCheckpoint(_ path: String, values: [Float]) throws {
        try SafetensorsWriter.write(to: path, items: [SafetensorsWriter.Item(name: "w", dtype: .f32, shape: [values.count])]) { _, b in
            b.copyMemory(from: values.withUnsafeBytes { UnsafeRawBufferPointer($0) })
        }
    }

    func testHelpForEveryCommandAndUsageErrors() throws {
        let cli = CLIRunner()
        let top = try cli.run("--help")
        XCTAssertEqual(top.status, 0)
        for command in ["import", "export", "status", "verify", "gc", "bench"] {
            XCTAssertTrue(top.stdout.contains("  \(command) "), "top-level help lists \(command)")
            let r = try cli.run(command, "--help")
            XCTAssertEqual(r.status, 0, command)
            XCTAssertTrue(r.stdout.hasPrefix("usage: mergeflow \(command)"), r.stdout)
        }
        XCTAssertEqual(try cli.run().status, 2)
        let unknown = try cli.run("frobnicate")
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("unknown command \"frobnicate\""))
        let badOption = try cli.run("status", "--bogus")
        XCTAssertEqual(badOption.status, 2)
        XCTAssertTrue(badOption.stderr.contains("unknown option --bogus"), badOption.stderr)
        let missing = try cli.run("import")
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("expected PATH, got 0 argument(s)"), missing.stderr)
        let threads = try cli.run("status", "--threads", "0")
        XCTAssertEqual(threads.status, 2)
        XCTAssertTrue(threads.stderr.contains("--threads expects an integer in 1...1024"), threads.stderr)
    }

    func testImportExportStatusVerifyGC() throws {
        let folder = try TestFolder()
        let cli = CLIRunner(cache: folder.path("cache/c.sqlite"))  // through $MERGEFLOW_CACHE
        try writeCheckpoint(folder.path("m.safetensors"), values: [1, 2, 3, 4.5])
        let imported = try cli.run("import", folder.path("m.safetensors"))
        XCTAssertEqual(imported.status, 0, imported.stderr)
        let digest = imported.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(digest.count, 64)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.path("cache/c.sqlite")))

        let again = try cli.run("import", folder.path("m.safetensors"))
        XCTAssertEqual(again.stdout.trimmingCharacters(in: .whitespacesAndNewlines), digest, "same content, same digest")

        let exported = try cli.run("export", String(digest.prefix(10)), folder.path("out"))
        XCTAssertEqual(exported.status, 0, exported.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder.path("out/model.safetensors"))),
                       try Data(contentsOf: URL(fileURLWithPath: folder.path("m.safetensors"))),
                       "our own file round-trips byte for byte")

        let status = try cli.run("status")
        XCTAssertEqual(status.status, 0)
        XCTAssertTrue(status.stdout.contains("artifacts   1 checkpoint"), status.stdout)
        XCTAssertTrue(status.stdout.contains("pins        1"), status.stdout)

        let verify = try cli.run("verify")
        XCTAssertEqual(verify.status, 0, verify.stdout)
        XCTAssertTrue(verify.stdout.contains("ok"))

        let gc = try cli.run("gc", "--grace", "0")
        XCTAssertEqual(gc.status, 0)
        XCTAssertTrue(gc.stdout.contains("removed 0 artifacts, 0 chunks"), "the import is pinned: \(gc.stdout)")

        // --cache wins over the environment.
        let other = try cli.run("status", "--cache", folder.path("other.sqlite"))
        XCTAssertTrue(other.stdout.contains("artifacts   0"), other.stdout)
    }

    func testBadInputGivesExitCode2AndNamesTheProblem() throws {
        let folder = try TestFolder()
        let cli = CLIRunner(cache: folder.path("c.sqlite"))
        try Data([9, 0, 0, 0, 0, 0, 0, 0, 123]).write(to: URL(fileURLWithPath: folder.path("bad.safetensors")))
        let bad = try cli.run("import", folder.path("bad.safetensors"))
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("bad.safetensors: header length 9 runs past the end of the file"), bad.stderr)
        XCTAssertEqual(bad.stdout, "")

        let noSuch = try cli.run("export", String(repeating: "ab", count: 32), folder.path("o"))
        XCTAssertEqual(noSuch.status, 2)
        XCTAssertTrue(noSuch.stderr.contains("no artifact abab"), noSuch.stderr)
        let notHex = try cli.run("export", "xyz", folder.path("o"))
        XCTAssertEqual(notHex.status, 2)
        XCTAssertTrue(notHex.stderr.contains("is not an artifact digest"), notHex.stderr)

        let verify = try cli.run("verify")
        XCTAssertEqual(verify.status, 0, "a rejected import leaves the cache sound: \(verify.stdout)")
    }

    func testNewerCacheSchemaIsRefusedWithExitCode2() throws {
        let folder = try TestFolder()
        let cli = CLIRunner(cache: folder.path("c.sqlite"))
        XCTAssertEqual(try cli.run("status").status, 0)
        // Bump the schema version the way a future mergeflow would.
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version=99'); c.commit()", folder.path("c.sqlite")]
        try sqlite.run()
        sqlite.waitUntilExit()
        try XCTSkipIf(sqlite.terminationStatus != 0, "python3 with sqlite3 is needed to forge a newer cache")
        let r = try cli.run("status")
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("cache schema version 99 is newer"), r.stderr)
    }
}
