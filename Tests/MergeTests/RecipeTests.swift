import Numerics
import XCTest
@testable import Merge

/// Bad merges get clear errors that name the tensor or parameter, before any work.
final class RecipeTests: XCTestCase {
    func recipe(_ method: String, models: Int = 2, base: Bool = true, _ params: [String: MergeParameter] = [:],
                perModel: [[String: MergeParameter]]? = nil) throws -> MergeRecipe {
        try MergeRecipe(method: method, modelCount: models, hasBase: base,
                        modelParameters: perModel ?? Array(repeating: ["weight": .scalar(1)], count: models), parameters: params, seed: 1)
    }

    func expect(_ message: String, _ body: () throws -> Any, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { XCTAssertEqual("\($0)", message, line: line) }
    }

    func testRecipeValidation() {
        expect("unknown merge method \"frankenmerge\" (known: arcee_fusion, breadcrumbs, breadcrumbs_ties, dare_linear, dare_ties, della, della_linear, karcher, linear, model_stock, multislerp, nearswap, nuslerp, passthrough, ram, ramplus_tl, sce, slerp, task_arithmetic, ties)") { try self.recipe("frankenmerge") }
        expect("ties needs a base model") { try self.recipe("ties", base: false) }
        expect("linear takes no base model") { try self.recipe("linear") }
        expect("slerp merges exactly 1 model besides the base, got 2") { try self.recipe("slerp", ["t": .scalar(0.5)], perModel: [[:], [:]]) }
        expect("slerp needs \"t\"") { try self.recipe("slerp", models: 1, perModel: [[:]]) }
        expect("model 1: density 1.5 is outside (0, 1]") { try self.recipe("ties", perModel: [["weight": .scalar(1)], ["weight": .scalar(1), "density": .scalar(1.5)]]) }
        expect("model 0: density 0.0 is outside (0, 1]") { try self.recipe("dare_ties", ["density": .scalar(0)]) }
        expect("ties has no parameter \"t\" (parameters: weight, density, int8_mask, normalize, rescale, lambda)") { try self.recipe("ties", ["t": .scalar(1)]) }
        expect("model 0: ties has no per-model parameter \"lambda\" (\"lambda\" is shared: set it once, outside the models)") {
            try self.recipe("ties", perModel: [["weight": .scalar(1), "lambda": .scalar(1)], ["weight": .scalar(1)]])
        }
        expect("model 1 needs a \"weight\" for linear") { try self.recipe("linear", base: false, perModel: [["weight": .scalar(1)], [:]]) }
        expect("model_stock merges at least 2 models besides the base, got 1") { try self.recipe("model_stock", models: 1, perModel: [[:]]) }
    }

    func testMismatchedModelsNameTheTensor() throws {
        let a = MemorySource("model 0", ["w": Tensor(shape: [2]), "b": Tensor(shape: [3])])
        let b = MemorySource("model 1", ["w": Tensor(shape: [2]), "b": Tensor(shape: [4])])
        let c = MemorySource("model 2", ["w": Tensor(shape: [2])])
        let linear = try recipe("linear", base: false)
        expect("tensor b: shape [4] in model 1 differs from [3] in model 0") { try MemorySource.merge(linear, [a, b]) }
        expect("tensor b: in model 0 but not in model 2") { try MemorySource.merge(linear, [a, c]) }
        expect("tensor b: in model 0 but not in model 2") { try MemorySource.merge(linear, [a, c]) }
        expect("tensor b: in model 0 but not in model 2") { try MemorySource.merge(linear, [c, a].reversed()) }
        expect("tensor b: in model 0 but not in model 2") { try MemorySource.merge(linear, [c, a]) }
    }

    func testLinearAndFilteredWeights() throws {
        let a = MemorySource("a", ["attn.w": Tensor(shape: [2], storage: [1, 2]), "mlp.w": Tensor(shape: [2], storage: [1, 2])])
        let b = MemorySource("b", ["attn.w": Tensor(shape: [2], storage: [3, 6]), "mlp.w": Tensor(shape: [2], storage: [3, 6])])
        let r = try recipe("linear", base: false, perModel: [["weight": .filtered([("attn", .scalar(3)), (nil, .scalar(1))])], ["weight": .scalar(1)]])
        let out = try MemorySource.merge(r, [a, b])
        XCTAssertEqual(out["attn.w"]!.storage, [1.5, 3])   // (3·a + b) / 4
        XCTAssertEqual(out["mlp.w"]!.storage, [2, 4])      // (a + b) / 2
        let sum = try recipe("linear", base: false, ["normalize": .scalar(0)], perModel: [["weight": .scalar(1)], ["weight": .scalar(1)]])
        XCTAssertEqual(try MemorySource.merge(sum, [a, b])["mlp.w"]!.storage, [4, 8])
    }

    func testTIESByHand() throws {
        // Deltas: m0 = [ 2, -1, 0.5, 3], m1 = [-1, -2, 0.4, 1.5]; density 0.5 keeps the 2 largest:
        // m0 → [2, 0, 0, 3], m1 → [0, -2, 0, 1.5]. Majority of sums [2, -2, 0, 4.5] → [+, −, +, +].
        // Agreeing entries: col0 m0, col1 m1, col3 both. normalize divides by their weights.
        let base = MemorySource("base", ["w": Tensor(shape: [4], storage: [0, 0, 0, 0])])
        let m0 = MemorySource("m0", ["w": Tensor(shape: [4], storage: [2, -1, 0.5, 3])])
        let m1 = MemorySource("m1", ["w": Tensor(shape: [4], storage: [-1, -2, 0.4, 1.5])])
        let r = try recipe("ties", ["density": .scalar(0.5)])
        XCTAssertEqual(try MemorySource.merge(r, [m0, m1], base: base)["w"]!.storage, [2, -2, 0, 2.25])
    }

    func testSlerpEndpointsAndColinearFallback() throws {
        let base = MemorySource("base", ["w": Tensor(shape: [2], storage: [1, 0])])
        let m = MemorySource("m", ["w": Tensor(shape: [2], storage: [0, 1])])
        func slerp(_ t: Double) throws -> [Float] {
            try MemorySource.merge(recipe("slerp", models: 1, ["t": .scalar(t)], perModel: [[:]]), [m], base: base)["w"]!.storage
        }
        XCTAssertEqual(try slerp(0), [1, 0])
        let mid = try slerp(0.5)
        XCTAssertEqual(mid[0], Float(0.5.squareRoot()), accuracy: 1e-6)
        XCTAssertEqual(mid[1], Float(0.5.squareRoot()), accuracy: 1e-6, "on the arc, not the chord")
        let parallel = MemorySource("p", ["w": Tensor(shape: [2], storage: [2, 0])])
        let lerp = try MemorySource.merge(recipe("slerp", models: 1, ["t": .scalar(0.25)], perModel: [[:]]), [parallel], base: base)["w"]!.storage
        XCTAssertEqual(lerp, [1.25, 0])
    }
}

/// Linear with normalize refuses weights that sum to zero (mergekit writes inf/NaN).
final class LinearZeroSumTests: XCTestCase {
    func testWeightsSummingToZeroAreAnError() throws {
        let a = MemorySource("a", ["w": Tensor(shape: [2], storage: [1, 2])])
        let b = MemorySource("b", ["w": Tensor(shape: [2], storage: [3, 4])])
        let r = try MergeRecipe(method: "linear", modelCount: 2, hasBase: false,
                                modelParameters: [["weight": .scalar(1)], ["weight": .scalar(-1)]], parameters: [:], seed: 0)
        XCTAssertThrowsError(try MemorySource.merge(r, [a, b])) {
            XCTAssertEqual("\($0)", "w: the weights sum to 0.0; with normalize they must not sum to zero")
        }
        // A stream that failed keeps failing (with the same error) instead of waiting for a
        // tensor no worker is merging.
        let two = [MemorySource("a", ["v": Tensor(shape: [1], storage: [1]), "w": Tensor(shape: [1], storage: [2])]),
                   MemorySource("b", ["v": Tensor(shape: [1], storage: [3]), "w": Tensor(shape: [1], storage: [4])])]
        let stream = try MergeStream(r, models: two, base: nil, layers: 1)
        for _ in 0..<2 {
            XCTAssertThrowsError(try stream.next()) { XCTAssertEqual("\($0)", "v: the weights sum to 0.0; with normalize they must not sum to zero") }
        }
    }
}
