import JSON
import XCTest
@testable import Merge

/// Scalars, gradients and filters resolve as mergekit's do.
final class ParameterTests: XCTestCase {
    func parse(_ text: String) throws -> MergeParameter { try MergeParameter.parse(JSONValue.parse(text)).get() }

    func testGradientInterpolatesAcrossLayersLikeMergekit() throws {
        // MERGEKIT-NOTES: [0, 0.5, 0.3, 0.7, 1] over 4 layers gives 0, .4333, .5667, 1.
        let g = try parse("[0, 0.5, 0.3, 0.7, 1]")
        let values = (0..<4).map { g.value(tensor: "transformer.h.\($0).mlp.c_fc.weight", layer: $0, layers: 4)! }
        for (got, want) in zip(values, [0, 0.4333333, 0.5666667, 1.0]) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        XCTAssertEqual(g.value(tensor: "transformer.wte.weight", layer: nil, layers: 4), 0, "outside the layers: first value")
        XCTAssertEqual(try parse("[2, 4]").value(tensor: "x", layer: 0, layers: 1), 4, "one layer: t = 1, as mergekit")
    }

    func testFirstMatchingFilterWins() throws {
        let p = try parse(#"[{"filter": "attn", "value": 0.1}, {"filter": "mlp", "value": [0, 1]}, {"value": 0.5}]"#)
        XCTAssertEqual(p.value(tensor: "transformer.h.1.attn.c_attn.weight", layer: 1, layers: 3), 0.1)
        XCTAssertEqual(p.value(tensor: "transformer.h.1.mlp.c_fc.weight", layer: 1, layers: 3), 0.5)
        XCTAssertEqual(p.value(tensor: "transformer.h.2.mlp.c_fc.weight", layer: 2, layers: 3), 1)
        XCTAssertEqual(p.value(tensor: "transformer.ln_f.weight", layer: nil, layers: 3), 0.5)
        let noCatchAll = try parse(#"[{"filter": "attn", "value": 0.1}]"#)
        XCTAssertNil(noCatchAll.value(tensor: "transformer.h.0.mlp.c_fc.weight", layer: 0, layers: 3))
    }

    func testMalformedParametersAreRejected() {
        for bad in [#""x""#, "[]", #"[{"value": 1, "colour": 2}]"#, #"[{"filter": 3, "value": 1}]"#, #"[1, "a"]"#, #"{"value": 1}"#] {
            XCTAssertThrowsError(try parse(bad), bad)
        }
    }

    func testLayerIndexFromNames() {
        XCTAssertEqual(Merger.layerIndex("transformer.h.11.attn.c_attn.weight"), 11)
        XCTAssertEqual(Merger.layerIndex("model.layers.3.self_attn.q_proj.weight"), 3)
        XCTAssertNil(Merger.layerIndex("transformer.wte.weight"))
        XCTAssertNil(Merger.layerIndex("transformer.h.weird.x"))
        XCTAssertEqual(Merger.layerCount(["transformer.h.0.a", "transformer.h.5.a", "transformer.wte.weight"]), 6)
    }
}
