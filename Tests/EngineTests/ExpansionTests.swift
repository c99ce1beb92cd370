import JSON
import XCTest
@testable import Engine
import EngineTestSupport

/// Grids, fan-out, gathering, selectors and aligned diamonds.
final class ExpansionTests: XCTestCase {
    var h: EngineHarness!
    override func setUpWithError() throws { h = try EngineHarness(registry: FakeOps.registry(FakeOps.constant(), FakeOps.sum())) }
    // XCTest keeps every test case alive until the process ends: let the harness go (and
    // its deinit remove its temporary cache) after each test.
    override func tearDown() { h = nil }

    func ids(_ g: ExpandedGraph, _ node: String) -> [String] { g.byNode[node]!.map { g.instances[$0].id } }

    func testGridIsACartesianProductInSpecOrder() throws {
        let g = try h.graph(#"{"name": "x", "nodes": {"a": {"op": "const", "grid": {"value": [1, 2.5], "label": ["p", "q", "r"]}}}}"#)
        XCTAssertEqual(ids(g, "a"), ["a[value=1,label=p]", "a[value=1,label=q]", "a[value=1,label=r]",
                                     "a[value=2.5,label=p]", "a[value=2.5,label=q]", "a[value=2.5,label=r]"])
        XCTAssertEqual(g.instances[4].params["value"], 2.5)
        XCTAssertEqual(g.instances[4].params["label"], "q")
    }

    func testOneArtifactInputFansOutAndListInputGathers() throws {
        let g = try h.graph(#"""
        {"name": "x", "nodes": {
          "a": {"op": "const", "grid": {"value": [1, 2, 3]}},
          "per": {"op": "sum", "inputs": {"items": ["a"], "extra": "a"}},
          "all": {"op": "sum", "inputs": {"items": ["a"]}}
        }}
        """#)
        // `extra` takes one artifact: `per` fans out over a, and `items` gathers only the
        // instances that agree with that coordinate.
        XCTAssertEqual(ids(g, "per"), ["per[value=1]", "per[value=2]", "per[value=3]"])
        let per2 = g.instances[g.byNode["per"]![1]]
        XCTAssertEqual(per2.inputs.map(\.name), ["items", "extra"])
        XCTAssertEqual(per2.inputs[0].instances, [1])
        XCTAssertEqual(per2.inputs[1].instances, [1])
        XCTAssertEqual(ids(g, "all"), ["all"])
        XCTAssertEqual(g.instances[g.byNode["all"]![0]].inputs[0].instances, [0, 1, 2])
    }

    /// Two nodes fanned out from one gridded node, listed together: the consumer is built
    /// once per value of the shared axis (a merge per seed), not once over everything.
    func testExplicitListOfNodesSharingAnAxisIsAligned() throws {
        let g = try h.graph(#"""
        {"name": "x", "nodes": {
          "base": {"op": "const", "grid": {"value": [1, 2]}},
          "p": {"op": "sum", "inputs": {"items": ["base"], "extra": "base"}},
          "q": {"op": "sum", "inputs": {"items": ["base"], "extra": "base"}},
          "pair": {"op": "sum", "inputs": {"items": ["p", "q"]}},
          "all_p": {"op": "sum", "inputs": {"items": ["p"]}}
        }}
        """#)
        XCTAssertEqual(ids(g, "pair"), ["pair[value=1]", "pair[value=2]"])
        let pair2 = g.instances[g.byNode["pair"]![1]]
        XCTAssertEqual(pair2.inputs[0].instances.map { g.instances[$0].id }, ["p[value=2]", "q[value=2]"])
        // One node listed alone still gathers every instance.
        XCTAssertEqual(ids(g, "all_p"), ["all_p"])
        XCTAssertEqual(g.instances[g.byNode["all_p"]![0]].inputs[0].instances.count, 2)
    }

    func testSelectorsPickInstances() throws {
        let g = try h.graph(#"""
        {"name": "x", "nodes": {
          "a": {"op": "const", "grid": {"value": [1, 2, 3], "label": ["en", "fr"]}},
          "en": {"op": "sum", "inputs": {"items": ["a[label=en]"]}},
          "two": {"op": "sum", "inputs": {"items": ["a[value=2,label=fr]", "a[value=3,label=en]"]}}
        }}
        """#)
        let en = g.instances[g.byNode["en"]![0]].inputs[0].instances.map { g.instances[$0].id }
        XCTAssertEqual(en, ["a[value=1,label=en]", "a[value=2,label=en]", "a[value=3,label=en]"])
        let two = g.instances[g.byNode["two"]![0]].inputs[0].instances.map { g.instances[$0].id }
        XCTAssertEqual(two, ["a[value=2,label=fr]", "a[value=3,label=en]"])
    }

    func testDiamondStaysAligned() throws {
        let g = try h.graph(#"""
        {"name": "x", "nodes": {
          "a": {"op": "const", "grid": {"value": [1, 2]}},
          "b": {"op": "sum", "inputs": {"items": ["a"], "extra": "a"}},
          "c": {"op": "sum", "inputs": {"items": ["a"], "extra": "a"}, "grid": {"fail": [false]}},
          "d": {"op": "sum", "inputs": {"items": ["c"], "extra": "b"}}
        }}
        """#)
        // d fans out over b (value=1,2); items gathers the c with the same value only.
        XCTAssertEqual(ids(g, "d"), ["d[value=1]", "d[value=2]"])
        let d1 = g.instances[g.byNode["d"]![0]]
        XCTAssertEqual(d1.inputs[0].instances.map { g.instances[$0].id }, ["c[value=1,fail=false]"])
        XCTAssertEqual(d1.inputs[1].instances.map { g.instances[$0].id }, ["b[value=1]"])
    }

    func testSameParamNameFromTwoNodesIsQualified() throws {
        let g = try h.graph(#"""
        {"name": "x", "nodes": {
          "a": {"op": "const", "grid": {"value": [1, 2]}},
          "b": {"op": "sum", "inputs": {"items": ["a"], "extra": "a"}, "grid": {"fail": [false]}},
          "c": {"op": "sum", "inputs": {"items": ["b"], "extra": "b"}, "grid": {"fail": [false]}}
        }}
        """#)
        XCTAssertEqual(ids(g, "c"), ["c[value=1,b.fail=false,c.fail=false]", "c[value=2,b.fail=false,c.fail=false]"])
    }

    func testInstancesAreTopologicallyOrderedAndUpDownstream() throws {
        let g = try h.graph(#"""
        {"name": "x", "nodes": {
          "s": {"op": "sum", "inputs": {"items": ["a"]}},
          "a": {"op": "const", "grid": {"value": [1, 2]}},
          "t": {"op": "sum", "inputs": {"items": ["s"]}}
        }}
        """#)
        for inst in g.instances { XCTAssertTrue(inst.dependencies.allSatisfy { $0 < inst.index }, inst.id) }
        let s = Set(g.byNode["s"]!)
        XCTAssertEqual(g.upstream(of: s).map { g.instances[$0].id }.sorted(), ["a[value=1]", "a[value=2]", "s"])
        XCTAssertEqual(g.downstream(of: Set([g.byNode["a"]![0]])).map { g.instances[$0].id }.sorted(), ["a[value=1]", "s", "t"])
    }
}
