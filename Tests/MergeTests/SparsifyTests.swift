import Numerics
import XCTest
@testable import Merge

/// Magnitude thinning by radix selection keeps exactly what a sort would.
final class SparsifyTests: XCTestCase {
    /// The spec: sort by |δ| descending (ties by index), keep the first k.
    func reference(_ values: [Float], density: Double) -> [Float] {
        let k = max(1, Int(density * Double(values.count)))
        let order = values.indices.sorted { abs(values[$0]) > abs(values[$1]) || (abs(values[$0]) == abs(values[$1]) && $0 < $1) }
        var out = [Float](repeating: 0, count: values.count)
        for i in order.prefix(k) { out[i] = values[i] }
        return out
    }

    func testMatchesSortOnRandomDataWithTiesAndSizes() {
        var rng = SeededRandom(seed: 5)
        for n in [1, 2, 7, 100, 4097, 300_000] {
            for density in [0.01, 0.3, 0.5, 0.99] {
                // Quantised values give many exact ties in magnitude (and ± pairs).
                let values = (0..<n).map { _ in Float((rng.normal() * 8).rounded()) / 8 }
                let want = reference(values, density: density)
                let zeros = [Float](repeating: 0, count: n)
                let kept = values.withUnsafeBufferPointer { x in
                    zeros.withUnsafeBufferPointer { Sparsify.magnitude(x, minus: $0, density: density) }
                }
                let got = values.indices.map { j in
                    Kept.keeps(j, values[j], threshold: kept.threshold, tiesBefore: kept.tiesBefore, mask: nil) ? values[j] : 0
                }
                // Exactly the sort's choice, ties at the threshold kept in index order.
                XCTAssertEqual(got, want, "n=\(n) density=\(density)")
            }
        }
    }

    /// Every selection path against a sort: sampled, and radix over small inputs (one
    /// thread, 11/10/10-bit digits) and large ones (per-thread histograms, 15/16 bits).
    func testKthLargestMagnitudeAgainstSort() {
        var rng = SeededRandom(seed: 6)
        for n in [100_000, (1 << 20) + 3] {
            // Quantised so that many magnitudes tie; the base is subtracted first.
            let base = (0..<n).map { _ in Float(rng.normal()) }
            let x = base.map { $0 + Float((rng.normal() * 256).rounded()) / 64 }
            let magnitudes = zip(x, base).map { abs($0 - $1) }
            let sorted = magnitudes.sorted(by: >)
            for k in [1, 2, n / 2, n - 1, n] { for sampling in [true, false] {
                let (bits, greater, equal) = x.withUnsafeBufferPointer { x in
                    base.withUnsafeBufferPointer { Sparsify.kthLargestMagnitude(x, minus: $0, k, sampling: sampling) }
                }
                let kth = sorted[k - 1]
                XCTAssertEqual(Float(bitPattern: bits), kth, "n=\(n) k=\(k) sampling=\(sampling)")
                XCTAssertEqual(greater, sorted.prefix { $0 > kth }.count, "n=\(n) k=\(k) sampling=\(sampling)")
                XCTAssertEqual(equal, sorted.filter { $0 == kth }.count, "n=\(n) k=\(k) sampling=\(sampling)")
            } }
        }
    }

    /// A sample that misrepresents the tensor (every sampled position holds an outlier)
    /// brackets the wrong window; the pass notices and radix selection decides.
    func testMisleadingSampleFallsBackToExactSelection() {
        var rng = SeededRandom(seed: 7)
        let n = 1 << 17, step = n / (1 << 14)
        var values = (0..<n).map { _ in Float(rng.normal() * 0.01) }
        for j in stride(from: 0, to: n, by: step) { values[j] = 1000 + Float(j) }
        let zeros = [Float](repeating: 0, count: n)
        let sorted = values.map { abs($0) }.sorted(by: >)
        for k in [n / 2, n / 3, 100] {
            let sampled = values.withUnsafeBufferPointer { x in zeros.withUnsafeBufferPointer { Sparsify.sampledSelect(
                DeltaMagnitudes(x: SharedFloats(x), base: SharedFloats($0)), k) } }
            if k != 100 { XCTAssertNil(sampled, "k=\(k): the misleading window should have been noticed") }
            let (bits, greater, _) = values.withUnsafeBufferPointer { x in
                zeros.withUnsafeBufferPointer { Sparsify.kthLargestMagnitude(x, minus: $0, k) }
            }
            XCTAssertEqual(Float(bitPattern: bits), sorted[k - 1], "k=\(k)")
            XCTAssertEqual(greater, sorted.filter { $0 > sorted[k - 1] }.count, "k=\(k)")
        }
    }
}
