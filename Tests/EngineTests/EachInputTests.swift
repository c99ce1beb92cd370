import JSON
import Store
import XCTest
@testable import Engine
import EngineTestSupport

/// `{"each": [...]}` inputs: one instance per listed node, readable ids, alignment with the
/// grids upstream, the same keys as the nodes spelled out one by one, and every mistake
/// reported at its JSON path.
final class EachInputTests: XCTestCase {
    var h: EngineHarness!
    override func setUpWithError() throws { h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(), FakeOps.sum())) }
    // XCTest keeps every test case alive until the process ends: let the harness go (and
    // its deinit remove its temporary cache) after each test.
    override func tearDown() { h = nil }

    func ids(_ g: ExpandedGraph, _ node: String) -> [String] { g.byNode[node]!.map { g.instances[$0].id } }
    func problems(_ text: String) -> [String] { EngineHarness.problems { try self.h.graph(text) } }

    func testEachRunsOncePerListedNodeAndPerInstanceOfIt() throws {
        let g = try h.graph(#"""
        {"name": "x", "nodes": {
          "a": {"op": "const"},
          "b": {"op": "const", "grid": {"value": [2, 3]}},
          "c": {"op": "const", "params": {"value": 4}},
          "per": {"op": "sum", "inputs": {"items": ["c"], "extra": {"each": ["a", "b"]}}},
          "just_b": {"op": "sum", "inputs": {"items": ["per[extra=b]"]}}
        }}
        """#)
        XCTAssertEqual(ids(g, "per"), ["per[extra=a]", "per[extra=b,value=2]", "per[extra=b,value=3]"])
        let perB3 = g.instances[g.byNode["per"]![2]]
        XCTAssertEqual(perB3.inputs.map(\.name), ["items", "extra"], "inputs keep the spec's order")
        XCTAssertEqual(perB3.inputs[1].instances.map { g.instances[$0].id }, ["b[value=3]"])
        XCTAssertFalse(perB3.inputs[1].isList, "each instance reads one artifact, as a one-node input does")
        XCTAssertEqual(perB3.inputs[0].instances.map { g.instances[$0].id }, ["c"])
        // The listed node is a coordinate downstream nodes can select on.
        XCTAssertEqual(g.instances[g.byNode["just_b"]![0]].inputs[0].instances.map { g.instances[$0].id },
                       ["per[extra=b,value=2]", "per[extra=b,value=3]"])
    }

    /// Each listed node is combined with the other inputs only where shared grid
    /// coordinates agree: an eval of every model of one seed against that seed's base.
    func testEachStaysAlignedOnSharedGridAxes() throws {
        let g = try h.graph(#"""
        {"name": "x", "nodes": {
          "base": {"op": "const", "grid": {"value": [1, 2]}},
          "p": {"op": "sum", "inputs": {"items": ["base"], "extra": "base"}},
          "q": {"op": "sum", "inputs": {"items": ["base"], "extra": "base"}},
          "e": {"op": "sum", "inputs": {"extra": {"each": ["p", "q", "base"]}, "items": ["base"]}}
        }}
        """#)
        XCTAssertEqual(ids(g, "e"), ["e[extra=p,value=1]", "e[extra=p,value=2]", "e[extra=q,value=1]", "e[extra=q,value=2]",
                                     "e[extra=base,value=1]", "e[extra=base,value=2]"])
        for i in g.byNode["e"]! {
            let e = g.instances[i]
            let seed = e.coordinates.first { $0.param == "value" }!.value
            let read = e.dependencies.map { g.instances[$0] }
            XCTAssertTrue(read.allSatisfy { r in r.coordinates.contains { $0.param == "value" && $0.value == seed } }, "\(e.id) reads \(read.map(\.id))")
        }
    }

    /// Replacing nodes spelled out one by one with one `each` node keeps every key: the
    /// listed node is in the id, not in the action.
    func testEachGivesTheKeysOfTheNodesItReplaces() throws {
        let spelled = try h.graph(#"""
        {"name": "x", "nodes": {
          "a": {"op": "const"}, "b": {"op": "const", "grid": {"value": [2, 3]}},
          "sum_a": {"op": "sum", "inputs": {"items": ["a"], "extra": "a"}, "params": {"fail": false}},
          "sum_b": {"op": "sum", "inputs": {"items": ["a"], "extra": "b"}, "params": {"fail": false}}
        }}
        """#)
        let each = try h.graph(#"""
        {"name": "x", "nodes": {
          "a": {"op": "const"}, "b": {"op": "const", "grid": {"value": [2, 3]}},
          "sum": {"op": "sum", "inputs": {"items": ["a"], "extra": {"each": ["a", "b"]}}, "params": {"fail": false}}
        }}
        """#)
        func keys(_ g: ExpandedGraph, _ nodes: [String]) throws -> [String] {
            // Every upstream artifact's digest stands in as the hash of its instance id.
            var digests: [Int: Digest] = [:]
            for inst in g.instances { digests[inst.index] = SHA256.hash(inst.id) }
            return try nodes.flatMap { g.byNode[$0]! }.map {
                try Action(instance: g.instances[$0], inputDigests: digests, directory: h.folder.path, store: h.store).key.hex
            }
        }
        XCTAssertEqual(try keys(each, ["sum"]), try keys(spelled, ["sum_a", "sum_b"]))
        XCTAssertEqual(try keys(each, ["sum"]).count, 3)
    }

    /// A report's labels leave the `each` coordinate out: the input it names is there already.
    func testLabelsLeaveTheEachCoordinateOut() throws {
        let g = try h.graph(#"""
        {"name": "x", "nodes": {
          "a": {"op": "const"}, "b": {"op": "const", "grid": {"value": [2, 3]}},
          "per": {"op": "sum", "inputs": {"items": ["a"], "extra": {"each": ["a", "b"]}}}
        }}
        """#)
        let label = ExpandedGraph.label(of: g.instances[g.byNode["per"]![1]], among: g.instances).objectValue!
        XCTAssertEqual(label["id"], "per[extra=b,value=2]")
        XCTAssertEqual(label["coordinates"], .object(JSONObject([("b.value", 2)])))
    }

    func testMistakesInEachAreReportedAtTheirPaths() {
        let head = #"{"name": "x", "nodes": {"a": {"op": "const"}, "b": {"op": "const", "grid": {"value": [2, 3]}}, "t": {"op": "table"}, "#
        XCTAssertEqual(problems(head + #""s": {"op": "sum", "inputs": {"items": ["a"], "extra": {"each": []}}}}}"#),
                       ["nodes.s.inputs.extra.each: expected at least one node reference"])
        XCTAssertEqual(problems(head + #""s": {"op": "sum", "inputs": {"items": ["a"], "extra": {"each": "a"}}}}}"#),
                       ["nodes.s.inputs.extra.each: expected a list of node references, got string"])
        XCTAssertEqual(problems(head + #""s": {"op": "sum", "inputs": {"items": ["a"], "extra": {"eahc": ["a"]}}}}}"#),
                       ["nodes.s.inputs.extra.eahc: unknown key (allowed: each)",
                        "nodes.s.inputs.extra.each: missing (write {\"each\": [node ids]} to run once per node)"])
        XCTAssertEqual(problems(head + #""s": {"op": "sum", "inputs": {"items": {"each": ["a", "b"]}}}}}"#),
                       ["nodes.s.inputs.items: input \"items\" takes a list and gathers what it is given; \"each\" fans out only inputs that take one node"])
        XCTAssertEqual(problems(head + #""s": {"op": "sum", "inputs": {"items": ["a"], "extra": {"each": ["a", 3, "nope", "t", "a", "b[value=9]"]}}}}}"#), [
            "nodes.s.inputs.extra.each[1]: expected a node id, got number",
            "nodes.s.inputs.extra.each[4]: \"a\" repeats the reference at index 0; list each node once",
        ])
        XCTAssertEqual(problems(head + #""s": {"op": "sum", "inputs": {"items": ["a"], "extra": {"each": ["a", "nope", "t", "b[value=9]"]}}}}}"#), [
            "nodes.s.inputs.extra.each[1]: reference to a missing node \"nope\"",
            "nodes.s.inputs.extra.each[2]: input \"extra\" expects a checkpoint, but node \"t\" (table) produces a dataset",
        ])
        XCTAssertEqual(problems(head + #""s": {"op": "sum", "inputs": {"items": ["a"], "extra": {"each": ["a", "b[value=9]", "b[colour=1]"]}}}}}"#), [
            "nodes.s.inputs.extra.each[1]: \"b[value=9]\" matches no instance (value is one of 2, 3)",
            "nodes.s.inputs.extra.each[2]: \"b[colour=1]\" matches no instance (no instance of b has a grid value \"colour\")",
        ])
        XCTAssertEqual(problems(head + #""s": {"op": "sum", "inputs": {"items": ["a"], "extra": 7}}}}"#),
                       ["nodes.s.inputs.extra: expected a node id or {\"each\": [node ids]}, got number"])
        XCTAssertEqual(problems(head + #""s": {"op": "sum", "inputs": {"items": ["a"], "extra": {"each": ["a", "s"]}}}}}"#),
                       ["nodes.s.inputs.extra.each[1]: a node cannot take its own output"])
    }

    /// `each` counts toward the instance limit before anything is allocated.
    func testEachCountsTowardTheInstanceLimit() throws {
        let spec = try h.spec(#"""
        {"name": "x", "nodes": {
          "a": {"op": "const", "grid": {"value": [1, 2, 3]}}, "b": {"op": "const", "grid": {"value": [4, 5, 6]}},
          "s": {"op": "sum", "inputs": {"items": ["a"], "extra": {"each": ["a", "b"]}}}
        }}
        """#)
        let p = EngineHarness.problems { try ExpandedGraph(spec: spec, registry: self.h.registry, file: "t", instanceLimit: 8) }
        XCTAssertEqual(p, ["nodes.s: expands to 6 instances (6 instances of the 2 nodes of extra.each), after 6 from earlier nodes, over the limit of 8 instances per spec (raise it with --max-instances)"])
    }
}
