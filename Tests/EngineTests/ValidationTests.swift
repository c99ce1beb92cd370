import XCTest
@testable import Engine

/// Every validation error, with its message and JSON path, reported together.
final class ValidationTests: XCTestCase {
    var h: EngineHarness!
    override func setUpWithError() throws { h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(), FakeOps.sum())) }

    func problems(_ text: String) -> [String] { EngineHarness.problems { try self.h.graph(text) } }

    func testSyntaxErrorPositionFromFile() throws {
        let path = h.folder.appendingPathComponent("broken.json").path
        try "{\"name\": \"x\",\n \"nodes\": {\n  \"a\": {\"op\": \"const\",}\n }\n}".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SpecParser.load(path, registry: h.registry)) { error in
            XCTAssertEqual((error as? SpecError)?.issues, [SpecIssue(path: "(root)", message: "invalid JSON at line 3, column 22: trailing comma before '}'")])
        }
        XCTAssertThrowsError(try SpecParser.load(h.folder.appendingPathComponent("none.json").path, registry: h.registry)) { error in
            XCTAssertEqual((error as? SpecError)?.issues.first?.path, "(file)")
        }
    }

    func testTopLevelShape() {
        XCTAssertEqual(problems("[1]"), ["(root): expected an object with \"name\", \"seed\" and \"nodes\", got array"])
        XCTAssertEqual(problems(#"{"seed": "7", "extra": true}"#), [
            "extra: unknown key (allowed: name, seed, nodes, description)",
            "name: missing (every spec has a name)",
            "seed: expected an integer in [0, 2147483647], got \"7\"",
            "nodes: missing",
        ])
        XCTAssertEqual(problems(#"{"name": "", "nodes": {}}"#), ["name: expected a non-empty string, got \"\"", "nodes: expected at least one node"])
    }

    func testUnknownOpAndNodeKeysAndBadIDs() {
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a b": {"op": "frob", "colour": 1}}}"#), [
            "nodes[\"a b\"]: node ids use letters, digits, '_' and '-' only",
            "nodes[\"a b\"].colour: unknown key (allowed: op, inputs, params, grid, description)",
            "nodes[\"a b\"].op: unknown op \"frob\" (known: const, dataset, dpo, eval, finetune, import, init, merge, pretrain, report, sum, table)",
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

    func testInputsMissingUnknownWrongShapeAndMissingNodes() {
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"s": {"op": "sum", "inputs": {"itemz": "a", "extra": ["a"]}}}}"#), [
            "nodes.s.inputs.itemz: op sum has no input \"itemz\" (inputs: items, extra)",
            "nodes.s.inputs.extra: input \"extra\" takes one node reference, got a list",
            "nodes.s.inputs.items: missing (sum needs a checkpoint: things to add)",
        ])
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "const"}, "s": {"op": "sum", "inputs": {"items": ["a", "ghost", 3]}}}}"#), [
            "nodes.s.inputs.items[2]: expected a node id, got number",
            "nodes.s.inputs.items[1]: reference to a missing node \"ghost\"",
        ])
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "const", "inputs": {"x": "a"}}}}"#),
                       ["nodes.a.inputs.x: op const has no input \"x\" (it takes none)"])
    }

    func testInputOfTheWrongKind() {
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"data": {"op": "table"}, "s": {"op": "sum", "inputs": {"items": ["data"]}}}}"#),
                       ["nodes.s.inputs.items[0]: input \"items\" expects a checkpoint, but node \"data\" (table) produces a dataset"])
    }

    func testCyclesAreNamed() {
        let cycle = problems(#"{"name": "x", "nodes": {"a": {"op": "sum", "inputs": {"items": ["c"]}}, "b": {"op": "sum", "inputs": {"items": ["a"]}}, "c": {"op": "sum", "inputs": {"items": ["b"]}}}}"#)
        XCTAssertEqual(cycle, ["nodes.a.inputs: cycle: a → c → b → a"])
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "sum", "inputs": {"items": ["a"]}}}}"#),
                       ["nodes.a.inputs.items[0]: a node cannot take its own output"])
    }

    func testGridErrors() {
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "const", "params": {"value": 1}, "grid": {"value": [1, "x"], "colour": [1], "label": []}}}}"#), [
            "nodes.a.grid.value: \"value\" is both in params and in grid; keep one",
            "nodes.a.grid.value[1]: expected a number, got \"x\"",
            "nodes.a.grid.colour: grid over \"colour\", which is not a parameter of const",
            "nodes.a.grid.label: empty grid: give at least one value",
        ])
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "const", "grid": {"value": 3}}}}"#),
                       ["nodes.a.grid.value: expected a list of values to sweep, got number"])
    }

    func testSelectorThatMatchesNothing() {
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "const", "grid": {"value": [1, 2]}}, "s": {"op": "sum", "inputs": {"items": ["a[value=3]"]}}}}"#),
                       ["nodes.s.inputs.items: a[value=3] matches no instance"])
    }

    func testAllProblemsAreReportedTogether() {
        let all = problems(#"{"name": "x", "seed": -1, "nodes": {"a": {"op": "const", "params": {"value": "v"}}, "b": {"op": "nope"}, "s": {"op": "sum", "inputs": {"items": ["zz"]}}}}"#)
        XCTAssertEqual(all.count, 4, "\(all)")
    }
}
