import Checkpoint
import Foundation
import Store
import XCTest

/// `kill -9` in the middle of a large import never leaves a corrupt cache: the database
/// opens, passes integrity_check and verify, and holds the whole artifact or none of it.
final class CrashSafetyTests: XCTestCase {
    func testSIGKILLDuringImportLeavesWholeArtifactOrNothing() throws {
        let folder = try TestFolder()
        // 192 MiB in 24 tensors of 8 MiB with distinct contents (no dedup shortcuts).
        let source = folder.path("big.safetensors")
        let items = (0..<24).map { SafetensorsWriter.Item(name: "layer.\($0).weight", dtype: .f32, shape: [2048, 1024]) }
        try SafetensorsWriter.write(to: source, items: items) { i, buffer in
            let f = buffer.bindMemory(to: UInt32.self)
            for j in 0..<f.count { f[j] = UInt32(truncatingIfNeeded: i &* 2_654_435_761 &+ j &* 40_503) }
        }

        // Reference: an uninterrupted import, timed, in a cache of its own.
        let reference = CLIRunner(cache: folder.path("reference.sqlite"))
        let t0 = Date()
        let full = try reference.run("import", source)
        let duration = Date().timeIntervalSince(t0)
        XCTAssertEqual(full.status, 0, full.stderr)
        let expected = full.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let cachePath = folder.path("killed.sqlite")
        let cli = CLIRunner(cache: cachePath)
        var sawPartial = false
        var rng = SystemRandomNumberGenerator()
        for fraction in [0.1, 0.3, 0.5, 0.7, 0.9] {
            let delay = duration * (fraction + Double.random(in: -0.05...0.05, using: &rng))
            let p = try cli.start(["import", source])
            Thread.sleep(forTimeInterval: max(0.01, delay))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()

            let store = try Store(path: cachePath)
            let report = try store.verify()
            XCTAssertTrue(report.isClean, "after kill at \(fraction): \(report.problems)")
            let status = try store.status()
            let artifacts = status.artifactsByKind.reduce(0) { $0 + $1.count }
            XCTAssertLessThanOrEqual(artifacts, 1)
            if artifacts == 1 {
                let m = try store.manifest(XCTUnwrap(Digest(hex: expected)))
                XCTAssertEqual(m.tensors.count, 24)
            } else if status.chunkCount > 0 {
                sawPartial = true  // chunks written, artifact not published: invisible
            }
        }
        XCTAssertTrue(sawPartial, "at least one kill should land mid-import (import took \(duration) s)")

        // The next run completes, and gc clears what the interrupted runs left.
        let resumed = try cli.run("import", source)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(resumed.stdout.trimmingCharacters(in: .whitespacesAndNewlines), expected)
        XCTAssertEqual(try cli.run("gc", "--grace", "0").status, 0)
        let store = try Store(path: cachePath)
        XCTAssertTrue(try store.verify().isClean)
        XCTAssertEqual(try store.status().chunkCount, try Store(path: folder.path("reference.sqlite")).status().chunkCount)
    }
}
