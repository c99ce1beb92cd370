import JSON
import Store
import XCTest
@testable import Engine
import EngineTestSupport

/// Keys depend on what is computed, never on how the spec is written.
final class ActionKeyTests: XCTestCase {
    var h: EngineHarness!
    override func setUpWithError() throws { h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(), FakeOps.sum())) }
    // XCTest keeps every test case alive until the process ends: let the harness go (and
    // its deinit remove its temporary cache) after each test.
    override func tearDown() { h = nil }

    func key(_ text: String, node: String = "a", inputs: [Int: Digest] = [:]) throws -> Digest {
        let g = try h.graph(text)
        return try Action(instance: g.instances[g.byNode[node]![0]], inputDigests: inputs, directory: h.folder.path, store: h.store).key
    }

    func testReorderingKeysAndWhitespaceKeepsTheKey() throws {
        let a = try key(#"{"name": "x", "nodes": {"a": {"op": "const", "params": {"value": 2, "label": "q"}}}}"#)
        let b = try key("{\n  \"nodes\": {\"a\": {\"params\": {\"label\": \"q\",\n \"value\": 2.0}, \"op\": \"const\"}},\n  \"name\": \"x\"\n}")
        XCTAssertEqual(a, b)
    }

    func testDefaultsSpelledOutKeepTheKey() throws {
        XCTAssertEqual(try key(#"{"name": "x", "nodes": {"a": {"op": "const"}}}"#),
                       try key(#"{"name": "x", "nodes": {"a": {"op": "const", "params": {"value": 1, "label": "x"}}}}"#))
    }

    func testSpecNameAndNodeIDDoNotMatter() throws {
        XCTAssertEqual(try key(#"{"name": "x", "nodes": {"a": {"op": "const"}}}"#),
                       try key(#"{"name": "y", "nodes": {"other": {"op": "const"}}}"#, node: "other"))
    }

    func testEveryParamChangesTheKey() throws {
        let base = try key(#"{"name": "x", "nodes": {"a": {"op": "const"}}}"#)
        XCTAssertNotEqual(base, try key(#"{"name": "x", "nodes": {"a": {"op": "const", "params": {"value": 1.0000001}}}}"#))
        XCTAssertNotEqual(base, try key(#"{"name": "x", "nodes": {"a": {"op": "const", "params": {"label": "y"}}}}"#))
    }

    func testInputDigestsAndOpVersionChangeTheKey() throws {
        let spec = #"{"name": "x", "nodes": {"a": {"op": "const"}, "s": {"op": "sum", "inputs": {"items": ["a"]}}}}"#
        let d1 = SHA256.hash("one"), d2 = SHA256.hash("two")
        XCTAssertEqual(try key(spec, node: "s", inputs: [0: d1]), try key(spec, node: "s", inputs: [0: d1]))
        XCTAssertNotEqual(try key(spec, node: "s", inputs: [0: d1]), try key(spec, node: "s", inputs: [0: d2]))
        let v1 = try key(#"{"name": "x", "nodes": {"a": {"op": "const"}}}"#)
        h.registry = h.registry.adding(FakeOps.constant(version: 2))
        XCTAssertNotEqual(v1, try key(#"{"name": "x", "nodes": {"a": {"op": "const"}}}"#))
    }

    func testSpecDigestIgnoresFormatting() throws {
        let a = try h.spec(#"{"name": "x", "nodes": {"a": {"op": "const", "params": {"value": 2}}}}"#)
        let b = try h.spec("{\"nodes\": {\"a\": {\"params\": {\"value\": 2}, \"op\": \"const\"}}, \"name\": \"x\"}")
        XCTAssertEqual(a.digest, b.digest)
    }
}
