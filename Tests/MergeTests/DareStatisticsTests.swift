import Numerics
import XCTest
@testable import Merge

/// DARE is random: the same seed gives the same output, and over many seeds the drop
/// rate and the rescaled mean match theory.
final class DareStatisticsTests: XCTestCase {
    func dare(seed: UInt64, density: Double, count: Int = 20_000) throws -> (out: [Float], delta: [Float]) {
        var rng = SeededRandom(seed: 99)
        let base = Tensor(shape: [count], storage: (0..<count).map { _ in Float(rng.normal()) })
        let delta = (0..<count).map { _ in Float(rng.normal() * 0.1) }
        let model = Tensor(shape: [count], storage: zip(base.storage, delta).map { $0 + $1 })
        let recipe = try MergeRecipe(method: "dare_linear", modelCount: 1, hasBase: true,
                                     modelParameters: [["weight": .scalar(1), "density": .scalar(density)]], parameters: [:], seed: seed)
        let out = try MemorySource.merge(recipe, [MemorySource("m", ["w": model])], base: MemorySource("b", ["w": base]))["w"]!
        return (zip(out.storage, base.storage).map { $0 - $1 }, delta)
    }

    func testSameSeedSameOutputDifferentSeedDifferentMask() throws {
        XCTAssertEqual(try dare(seed: 1, density: 0.5).out, try dare(seed: 1, density: 0.5).out)
        XCTAssertNotEqual(try dare(seed: 1, density: 0.5).out, try dare(seed: 2, density: 0.5).out)
    }

    func testDropRateAndRescaleMatchTheory() throws {
        for density in [0.2, 0.5, 0.9] {
            var kept = 0, total = 0
            var ratios: [Double] = []
            for seed in 1...20 {
                let (out, delta) = try dare(seed: UInt64(seed), density: density)
                var keptL1 = 0.0, allL1 = 0.0, outL1 = 0.0
                for i in out.indices {
                    allL1 += Double(abs(delta[i]))
                    outL1 += Double(abs(out[i]))
                    if abs(out[i]) > 1e-6 { kept += 1; keptL1 += Double(abs(delta[i])) }
                }
                total += out.count
                // mergekit's rescale: kept entries × ‖δ‖₁/‖kept‖₁, so ‖out‖₁ = ‖δ‖₁.
                XCTAssertEqual(outL1 / allL1, 1, accuracy: 1e-4)
                ratios.append(allL1 / keptL1)
            }
            let rate = Double(kept) / Double(total)
            // 400k Bernoulli draws: 5 standard deviations is well under 0.004.
            XCTAssertEqual(rate, density, accuracy: 5 * (density * (1 - density) / Double(total)).squareRoot(), "density \(density)")
            // The rescale factor is close to 1/density on average (not exactly: L1 ratio).
            XCTAssertEqual(ratios.reduce(0, +) / Double(ratios.count), 1 / density, accuracy: 0.05 / density)
        }
    }
}
