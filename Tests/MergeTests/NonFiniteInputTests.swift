import Numerics
import XCTest
@testable import Merge

/// Issue 16, item 8: NaN and infinity in a merge input are an error naming the model and
/// the tensor, on every method (TIES and DARE would otherwise drop them silently).
final class NonFiniteInputTests: XCTestCase {
    func recipe(_ method: String, models: Int, base: Bool, extra: [String: MergeParameter] = [:]) throws -> MergeRecipe {
        try MergeRecipe(method: method, modelCount: models, hasBase: base,
                        modelParameters: Array(repeating: ["weight": .scalar(1)], count: models),
                        parameters: extra, seed: 3)
    }

    func testNonFiniteInputIsAnErrorNamingModelAndTensor() throws {
        let clean = Tensor(shape: [4], storage: [1, 2, 3, 4])
        for (bad, word) in [(Float.nan, "NaN"), (Float.infinity, "+infinity"), (-Float.infinity, "-infinity")] {
            let broken = Tensor(shape: [4], storage: [1, 2, bad, 4])
            let cases: [(String, Bool, [String: MergeParameter])] = [
                ("linear", false, [:]), ("ties", true, ["density": .scalar(0.5)]), ("dare_ties", true, ["density": .scalar(0.5)]),
                ("task_arithmetic", true, [:]),
            ]
            for (method, hasBase, extra) in cases {
                let models = [MemorySource("models/a", ["a.w": clean, "b.w": clean]), MemorySource("models/b", ["a.w": clean, "b.w": broken])]
                let base = hasBase ? MemorySource("models/base", ["a.w": clean, "b.w": clean]) : nil
                let r = try recipe(method, models: 2, base: hasBase, extra: extra)
                XCTAssertThrowsError(try MemorySource.merge(r, models, base: base), method) { error in
                    XCTAssertEqual("\(error)", "models/b: tensor b.w holds \(word) (at element 2); a merge input must be finite", method)
                }
            }
            // In the base too.
            let models = [MemorySource("models/a", ["w": clean])]
            XCTAssertThrowsError(try MemorySource.merge(try recipe("task_arithmetic", models: 1, base: true), models,
                                                        base: MemorySource("models/base", ["w": broken]))) { error in
                XCTAssertEqual("\(error)", "models/base: tensor w holds \(word) (at element 2); a merge input must be finite")
            }
        }
    }

    /// Issue 16, item 14: weights of 3e38 were told "do they sum to zero?".
    func testOverflowingWeightsAreNotBlamedOnASumOfZero() throws {
        let a = MemorySource("a", ["w": Tensor(shape: [2], storage: [1, 2])])
        let b = MemorySource("b", ["w": Tensor(shape: [2], storage: [3, 4])])
        let r = try MergeRecipe(method: "linear", modelCount: 2, hasBase: false,
                                modelParameters: [["weight": .scalar(3e38)], ["weight": .scalar(3e38)]],
                                parameters: ["normalize": .scalar(0)], seed: 0)
        XCTAssertThrowsError(try MemorySource.merge(r, [a, b])) { error in
            XCTAssertEqual("\(error)", "tensor w: the merge produced NaN or infinity from finite inputs (a parameter as large as 3e+38 overflows Float32 (largest finite value 3.4e38))")
        }
    }
}
