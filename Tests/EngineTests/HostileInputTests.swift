import Foundation
import JSON
@testable import Store
import XCTest
@testable import Engine
import EngineTestSupport

/// Issue 16: a cache deleted under a run (paths given to ops: OpsTests.HostileOpInputTests).
final class HostileInputTests: XCTestCase {
    /// Issue 16, item 9: a run whose cache file was deleted reported success, and its
    /// results were gone with the unlinked file.
    func testRunFailsLoudlyWhenTheCacheFileIsDeleted() throws {
        let unlink = OpDefinition(name: "unlink", version: 1, summary: "deletes the cache file", inputs: [], params: [],
                                  produces: ArtifactKind.checkpoint) { ctx in
            try FileManager.default.removeItem(atPath: ctx.store.path)
            let w = ctx.newArtifact(kind: ArtifactKind.checkpoint)
            try w.add(name: "w", floats: [1])
            return w
        }
        let h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(), unlink))
        XCTAssertThrowsError(try h.run(#"{"name": "x", "nodes": {"gone": {"op": "unlink"}}}"#)) { error in
            XCTAssertEqual("\(error)", "\(h.store.path): the cache file was deleted or replaced while this run was using it; its results are lost with it (run again)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.store.path))
    }
}
