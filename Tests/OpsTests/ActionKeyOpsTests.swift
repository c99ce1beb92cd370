import JSON
import Store
import XCTest
@testable import Engine
@testable import Ops

/// Action keys of the built-in ops (moved from EngineTests.ActionKeyTests: it needs a seeded op).
final class ActionKeyOpsTests: XCTestCase {
    var h: EngineHarness!
    override func setUpWithError() throws { h = try EngineHarness(registry: FakeOps.registry(base: .builtin, FakeOps.constant(), FakeOps.sum())) }
    // XCTest keeps every test case alive until the process ends: let the harness go (and
    // its deinit remove its temporary cache) after each test.
    override func tearDown() { h = nil }

    func key(_ text: String, node: String = "a", inputs: [Int: Digest] = [:]) throws -> Digest {
        let g = try h.graph(text)
        return try Action(instance: g.instances[g.byNode[node]![0]], inputDigests: inputs, directory: h.folder.path, store: h.store).key
    }

    func testSeedMattersOnlyForSeededOps() throws {
        XCTAssertNotEqual(try key(#"{"name": "x", "seed": 1, "nodes": {"a": {"op": "init"}}}"#),
                          try key(#"{"name": "x", "seed": 2, "nodes": {"a": {"op": "init"}}}"#))
        XCTAssertEqual(try key(#"{"name": "x", "seed": 1, "nodes": {"a": {"op": "const"}}}"#),
                       try key(#"{"name": "x", "seed": 2, "nodes": {"a": {"op": "const"}}}"#))
    }
}
