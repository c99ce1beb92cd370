import JSON
import XCTest
@testable import Engine
@testable import Ops

/// Expansion with the built-in ops' defaults (moved from EngineTests.ExpansionTests).
final class ExpansionOpsTests: XCTestCase {
    var h: EngineHarness!
    override func setUpWithError() throws { h = try EngineHarness(registry: FakeOps.registry(base: .builtin, FakeOps.constant(), FakeOps.sum())) }
    // XCTest keeps every test case alive until the process ends: let the harness go (and
    // its deinit remove its temporary cache) after each test.
    override func tearDown() { h = nil }

    func ids(_ g: ExpandedGraph, _ node: String) -> [String] { g.byNode[node]!.map { g.instances[$0].id } }

    func testDefaultsAreAppliedAndListsRenderCommaJoined() throws {
        let g = try h.graph(#"{"name": "x", "seed": 9, "nodes": {"m": {"op": "init"}, "w": {"op": "merge", "inputs": {"models": ["m"]}, "grid": {"weights": [[0.5, 0.5]]}}}}"#)
        XCTAssertEqual(g.instances[0].params["model"], "gpt-tiny", "default applied")
        XCTAssertEqual(g.instances[0].params["seed"], 9, "seeded ops get the spec's seed")
        XCTAssertEqual(ids(g, "w"), ["w[weights=0.5,0.5]"])
        XCTAssertNil(g.instances[1].params["normalize"], "method defaults are the merge's business, not the node's")
        XCTAssertEqual(g.instances[1].params["method"], "linear")
    }
}
