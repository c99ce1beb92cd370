import Foundation
import XCTest
@testable import Engine
@testable import Ops

/// Issue 16: paths given to the built-in ops that name the wrong thing (moved from
/// EngineTests.HostileInputTests).
final class HostileOpInputTests: XCTestCase {
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
