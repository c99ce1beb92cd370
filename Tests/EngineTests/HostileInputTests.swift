import Foundation
import JSON
import Numerics
@testable import Store
import XCTest
@testable import Engine
@testable import Ops

/// Issue 16: a cache deleted under a run, paths that name the wrong thing.
final class HostileInputTests: XCTestCase {
    /// Issue 16, item 9: a run whose cache file was deleted reported success, and its
    /// results were gone with the unlinked file.
    func testRunFailsLoudlyWhenTheCacheFileIsDeleted() throws {
        let unlink = OpDefinition(name: "unlink", version: 1, summary: "deletes the cache file", inputs: [], params: [],
                                  produces: Store.checkpointKind) { ctx in
            try FileManager.default.removeItem(atPath: ctx.store.path)
            let w = ctx.newArtifact(kind: Store.checkpointKind)
            try w.add(name: "w", tensor: Tensor(shape: [1], repeating: 1))
            return w
        }
        let h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(), unlink))
        XCTAssertThrowsError(try h.run(#"{"name": "x", "nodes": {"gone": {"op": "unlink"}}}"#)) { error in
            XCTAssertEqual("\(error)", "\(h.store.path): the cache file was deleted or replaced while this run was using it; its results are lost with it (run again)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.store.path))
    }

    /// Issue 16, item 14: an empty path resolved silently to the spec's own folder.
    func testEmptyPathIsAnError() {
        let h = try! EngineHarness(registry: OpRegistry.builtin)
        XCTAssertEqual(EngineHarness.problems { try h.graph(#"{"name": "x", "nodes": {"m": {"op": "import", "params": {"path": ""}}}}"#) },
                       ["nodes.m.params.path: expected a path to a .safetensors file or folder, got an empty string"])
        XCTAssertEqual(EngineHarness.problems { try h.graph(#"{"name": "x", "nodes": {"d": {"op": "dataset", "params": {"path": ""}}}}"#) },
                       ["nodes.d.params.path: expected a file path, got an empty string"])
    }

    /// Issue 16, item 14: a dataset path naming a folder blamed a file inside it.
    func testDatasetPathThatIsAFolderIsNamedAsSuch() throws {
        let h = try EngineHarness(registry: OpRegistry.builtin)
        let folder = h.folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "{}".write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let (summary, _) = try h.run(#"{"name": "t", "nodes": {"d": {"op": "dataset", "params": {"path": "data"}}}}"#)
        let error = summary.failed.first?.error ?? "no failure"
        XCTAssertTrue(error.contains("\(folder.path): is a folder, not a file (a dataset is one file)"), error)
    }
}
