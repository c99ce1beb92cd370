import Numerics
import XCTest
@testable import Merge

/// The task-vector mix runs 8 entries at a time with integer lane masks and finishes with a
/// scalar tail. Both must do exactly what a plain reading of the method does: checked here
/// against a scalar reference (sort-based top-k, sign election, disjoint mean) on lengths
/// that are not multiples of 8 and on quantised deltas, so ties at the threshold straddle a
/// vector block and many deltas are exactly zero.
final class TaskVectorMixTests: XCTestCase {
    /// mergekit's TIES written out plainly, in the same floating-point order.
    func referenceTIES(base: [Float], models: [[Float]], weights: [Float], densities: [Double]) -> [Float] {
        let n = base.count
        let values: [[Float]] = models.indices.map { i in
            let delta = zip(models[i], base).map { $0 - $1 }
            let k = max(1, Int(densities[i] * Double(n)))
            var keep = [Bool](repeating: densities[i] >= 1 || k >= n, count: n)
            if !keep.allSatisfy({ $0 }) {
                let order = delta.indices.sorted { abs(delta[$0]) > abs(delta[$1]) || (abs(delta[$0]) == abs(delta[$1]) && $0 < $1) }
                for j in order.prefix(k) { keep[j] = true }
            }
            return delta.indices.map { keep[$0] ? delta[$0] * weights[i] : 0 }
        }
        return (0..<n).map { j in
            var s: Float = 0
            for v in values { s += v[j] }
            let positive = s >= 0
            var mixed: Float = 0, divisor: Float = 0
            for (k, v) in values.enumerated() where v[j] != 0 && (v[j] > 0) == positive { mixed += v[j]; divisor += weights[k] }
            if divisor == 0 { divisor = 1 }
            return base[j] + mixed / divisor
        }
    }

    func testTIESMatchesScalarReferenceBitForBit() throws {
        var rng = SeededRandom(seed: 11)
        for n in [5, 8, 64, 1_001, 70_003] {
            for densities in [[0.5, 0.3], [0.9, 1.0], [0.02, 0.7]] {
                let base = (0..<n).map { _ in Float((rng.normal() * 4).rounded()) / 4 }
                // Quantised deltas: many exact ties in magnitude, of both signs, and zeros.
                let models = (0..<2).map { _ in base.map { $0 + Float((rng.normal() * 3).rounded()) / 8 } }
                let weights: [Float] = [0.6, 0.4]
                let recipe = try MergeRecipe(method: "ties", modelCount: 2, hasBase: true, modelParameters: (0..<2).map {
                    ["weight": .scalar(Double(weights[$0])), "density": .scalar(densities[$0])]
                }, parameters: [:], seed: 0)
                let out = try MemorySource.merge(recipe, models.map { MemorySource("m", ["w": Tensor(shape: [n], storage: $0)]) },
                                                 base: MemorySource("b", ["w": Tensor(shape: [n], storage: base)]))["w"]!
                let want = referenceTIES(base: base, models: models, weights: weights, densities: densities)
                let differing = (0..<n).filter { out.storage[$0].bitPattern != want[$0].bitPattern }
                XCTAssertTrue(differing.isEmpty, "n=\(n) densities=\(densities): \(differing.count) entries differ, first at \(differing.first ?? -1): \(differing.first.map { (out.storage[$0], want[$0]) }.debugDescription)")
            }
        }
    }

    /// DARE-TIES: the random mask is one draw per entry in index order from the tensor's
    /// stream, model after model; kept entries are rescaled by ‖δ‖₁ / ‖kept‖₁.
    func testDareTIESMatchesScalarReference() throws {
        var rng = SeededRandom(seed: 12)
        let n = 10_007, density = 0.4
        let base = (0..<n).map { _ in Float(rng.normal()) }
        let models = (0..<3).map { _ in base.map { $0 + Float(rng.normal() * 0.01) } }
        let weights: [Float] = [0.5, 0.3, 0.2]
        let recipe = try MergeRecipe(method: "dare_ties", modelCount: 3, hasBase: true,
                                     modelParameters: weights.map { ["weight": .scalar(Double($0)), "density": .scalar(density)] },
                                     parameters: [:], seed: 42)
        let out = try MemorySource.merge(recipe, models.map { MemorySource("m", ["w": Tensor(shape: [n], storage: $0)]) },
                                         base: MemorySource("b", ["w": Tensor(shape: [n], storage: base)]))["w"]!
        var random = SeededRandom(seed: 42, stream: "w")
        let values: [[Float]] = models.indices.map { i in
            let delta = zip(models[i], base).map { $0 - $1 }
            let keep = (0..<n).map { _ in random.uniform() < density }
            let all = delta.reduce(0.0) { $0 + Double(abs($1)) }
            let kept = delta.indices.reduce(0.0) { keep[$1] ? $0 + Double(abs(delta[$1])) : $0 }
            let rescale = Float(all / kept)
            return delta.indices.map { keep[$0] ? delta[$0] * rescale * weights[i] : 0 }
        }
        var worst: Float = 0
        for j in 0..<n {
            var s: Float = 0
            for v in values { s += v[j] }
            var mixed: Float = 0
            for v in values where v[j] != 0 && (v[j] > 0) == (s >= 0) { mixed += v[j] }
            worst = max(worst, abs(out.storage[j] - (base[j] + mixed)))
        }
        // dare_ties does not normalise; the rescale factor's Double sums are blocked in the
        // implementation, so the last bit of a factor may differ.
        XCTAssertLessThan(worst, 1e-6)
    }
}
