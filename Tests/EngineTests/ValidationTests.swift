import Foundation
import XCTest
@testable import Engine
import EngineTestSupport

/// Every validation error, with its message and JSON path, reported together.
final class ValidationTests: XCTestCase {
    var h: EngineHarness!
    override func setUpWithError() throws { h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(), FakeOps.sum())) }
    // XCTest keeps every test case alive until the process ends: let the harness go (and
    // its deinit remove its temporary cache) after each test.
    override func tearDown() { h = nil }

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
                       ["nodes.s.inputs.items[0]: \"a[value=3]\" matches no instance (value is one of 1, 2)"])
    }

    /// Issue 16, item 2: in a list, one selector that matches nothing used to be dropped and
    /// the rest merged; every reference must match, and the message says what would.
    func testSelectorMatchingNothingInAListIsAnError() {
        let grid = #""a": {"op": "const", "grid": {"value": [1, 2, 3]}}"#
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {\#(grid), "s": {"op": "sum", "inputs": {"items": ["a[value=1]", "a[value=2]", "a[value=4]"]}}}}"#),
                       ["nodes.s.inputs.items[2]: \"a[value=4]\" matches no instance (value is one of 1, 2, 3)"])
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {\#(grid), "s": {"op": "sum", "inputs": {"items": ["a[value=1]", "a[colour=1]"]}}}}"#),
                       ["nodes.s.inputs.items[1]: \"a[colour=1]\" matches no instance (no instance of a has a grid value \"colour\")"])
        // A string is not the number it spells.
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {\#(grid), "s": {"op": "sum", "inputs": {"items": ["a[value=1]", "a[value=\"2\"]"]}}}}"#),
                       ["nodes.s.inputs.items[1]: \"a[value=2]\" matches no instance (value is one of 1, 2, 3)"])
    }

    func testSelectorGivingAKeyTwiceIsAnError() {
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "const", "grid": {"value": [1, 2]}}, "s": {"op": "sum", "inputs": {"items": ["a[value=1]", "a[value=1,value=2]"]}}}}"#),
                       ["nodes.s.inputs.items[1]: selector \"a[value=1,value=2]\" gives \"value\" twice (an instance has one value per parameter)"])
    }

    func testSelectorValueThatIsNotANumberIsAnError() {
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "const", "grid": {"value": [1, 2]}}, "s": {"op": "sum", "inputs": {"items": ["a[value=1]", "a[value=01]"]}}}}"#),
                       ["nodes.s.inputs.items[1]: selector value \"01\" for \"value\" is not a valid number (quote it to mean a string)"])
    }

    /// Issue 16, item 13: [1, 1, 1.0] gave three instances named a[value=1].
    func testDuplicateGridValuesAreAnError() {
        XCTAssertEqual(problems(#"{"name": "x", "nodes": {"a": {"op": "const", "grid": {"value": [1, 2, 1, 1.0]}}}}"#), [
            "nodes.a.grid.value[2]: 1 repeats the value at index 0; each grid value must be different",
            "nodes.a.grid.value[3]: 1 repeats the value at index 0; each grid value must be different",
        ])
    }

    /// Issue 16, item 6: the name becomes results/<name>/, so it must not leave results/.
    func testSpecNameCannotEscapeTheResultsFolder() {
        let node = #""nodes": {"a": {"op": "const", "params": {"value": 1}}}"#
        XCTAssertEqual(problems(#"{"name": "../../x", \#(node)}"#),
                       ["name: \"../../x\" contains a path separator (the name is used as a folder under results/; use letters, digits, '-', '_', '.')"])
        XCTAssertEqual(problems(#"{"name": "..", \#(node)}"#), ["name: \"..\" is not a name (it is used as a folder under results/)"])
        XCTAssertEqual(problems(#"{"name": "a\\b", \#(node)}"#).count, 1)
        XCTAssertEqual(problems(#"{"name": "my-run_2.b", \#(node)}"#), [])
    }

    /// Issue 16, item 14: a NUL in the name cut every path built from it short.
    func testSpecNameWithAControlCharacterIsAnError() {
        XCTAssertEqual(problems(#"{"name": "a\u0000b", "nodes": {"a": {"op": "const", "params": {"value": 1}}}}"#),
                       ["name: contains the control character U+0000"])
    }

    /// Issue 16, item 3: the product is counted before anything is expanded, so a grid of
    /// 10^9 instances fails at once instead of allocating for half a minute.
    func testGridOverTheInstanceLimitIsRefusedBeforeExpanding() throws {
        func values(_ n: Int, quoted: Bool = false) -> String { (0..<n).map { quoted ? "\"\($0)\"" : "\($0)" }.joined(separator: ",") }
        let huge = try h.spec(#"{"name": "x", "nodes": {"a": {"op": "const", "grid": {"value": [\#(values(1000))], "label": [\#(values(1000, quoted: true))]}}}}"#)
        let started = Date()
        XCTAssertThrowsError(try ExpandedGraph(spec: huge, registry: h.registry, file: "test.json", instanceLimit: 100_000)) { error in
            XCTAssertEqual((error as? SpecError)?.issues.map(\.description),
                           ["nodes.a: expands to 1000000 instances (1000 value × 1000 label), over the limit of 100000 instances per spec (raise it with --max-instances)"])
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1, "refused by counting, not by expanding")
        // A fan-out is counted too: here the first node fits and its consumer does not.
        let fan = try h.spec(#"{"name": "x", "nodes": {"a": {"op": "const", "grid": {"value": [\#(values(10))], "label": [\#(values(10, quoted: true))]}}, "s": {"op": "sum", "inputs": {"items": ["a"], "extra": "a"}}}}"#)
        XCTAssertThrowsError(try ExpandedGraph(spec: fan, registry: h.registry, file: "test.json", instanceLimit: 101)) { error in
            XCTAssertEqual((error as? SpecError)?.issues.map(\.description),
                           ["nodes.s: expands to 100 instances (100 instances of a), after 100 from earlier nodes, over the limit of 101 instances per spec (raise it with --max-instances)"])
        }
        XCTAssertEqual(try ExpandedGraph(spec: fan, registry: h.registry, file: "test.json", instanceLimit: 200).instances.count, 200)
    }

    /// 50 chained two-value grids would double the instances at every node (2^50).
    func testChainedGridsOverTheInstanceLimitAreRefused() throws {
        var nodes = [#""n0": {"op": "const", "grid": {"value": [1, 2]}}"#]
        for k in 1..<50 { nodes.append(#""n\#(k)": {"op": "sum", "inputs": {"items": ["n\#(k - 1)"], "extra": "n\#(k - 1)"}, "grid": {"fail": [false, true]}}"#) }
        let spec = try h.spec(#"{"name": "x", "nodes": {\#(nodes.joined(separator: ","))}}"#)
        XCTAssertThrowsError(try ExpandedGraph(spec: spec, registry: h.registry, file: "test.json", instanceLimit: 1000)) { error in
            XCTAssertEqual((error as? SpecError)?.issues.map(\.description),
                           ["nodes.n8: expands to 512 instances (256 input combinations × 2 fail), after 510 from earlier nodes, over the limit of 1000 instances per spec (raise it with --max-instances)"])
        }
        XCTAssertEqual(try ExpandedGraph(spec: try h.spec(#"{"name": "x", "nodes": {\#(nodes.prefix(8).joined(separator: ","))}}"#),
                                         registry: h.registry, file: "test.json", instanceLimit: 510).instances.count, 510)
    }
}
