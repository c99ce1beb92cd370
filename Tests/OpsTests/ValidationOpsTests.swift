import Foundation
import XCTest
@testable import Engine
@testable import Ops

/// Validation errors that name the built-in ops and their parameters (moved from
/// EngineTests.ValidationTests).
final class ValidationOpsTests: XCTestCase {
    var h: EngineHarness!
    override func setUpWithError() throws { h = try EngineHarness(registry: FakeOps.registry(base: .builtin, FakeOps.constant(), FakeOps.sum())) }
    // XCTest keeps every test case alive until the process ends: let the harness go (and
    // its deinit remove its temporary cache) after each test.
    override func tearDown() { h = nil }

    func problems(_ text: String) -> [String] { EngineHarness.problems { try self.h.graph(text) } }

    func testUnknownOpAndNodeKeysAndBadIDs() {
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a b": {"op": "frob", "colour": 1}}}"#), [
            "nodes[\"a b\"]: node ids use letters, digits, '_' and '-' only",
            "nodes[\"a b\"].colour: unknown key (allowed: op, inputs, params, grid, resources, description)",
            "nodes[\"a b\"].op: unknown op \"frob\" (known: command, const, dataset, dpo, eval, finetune, import, init, merge, output, pretrain, report, sum, table, tokenizer)",
        ])
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"params": {}}}}"#), ["nodes.a.op: missing"])
    }

    func testUnknownMissingAndMistypedParameters() {
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "const", "params": {"value": "high", "colour": 2}}}}"#), [
            "nodes.a.params.value: expected a number, got \"high\"",
            "nodes.a.params.colour: op const has no parameter \"colour\" (parameters: value, label)",
        ])
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "init", "params": {"seed": 1.5, "model": "gpt-huge"}}}}"#), [
            "nodes.a.params.seed: expected an integer in [0, 2147483647], got 1.5",
            "nodes.a.params.model: expected one of \"gpt-mini\", \"gpt-mini-256\", \"gpt-mini-512\", \"gpt-small\", \"gpt-tiny\", got \"gpt-huge\"",
        ])
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "import"}}}"#).count, 1)
        XCTAssertTrue(problems(#"{"name": "x", "nodes": {"a": {"op": "import"}}}"#)[0].hasPrefix("nodes.a.params.path: missing (required: "))
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "const", "params": [1]}}}"#), ["nodes.a.params: expected an object, got array"])
    }
}
