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

    func testKthLargestMagnitudeAgainstSort() {
        var rng = SeededRandom(seed: 6)
        let values = (0..<100_000).map { _ in Float(rng.normal()) }
        let sorted = values.map { abs($0) }.sorted(by: >)
        // The base is subtracted first: |x − base| is what is ranked.
        let base = (0..<100_000).map { _ in Float(rng.normal()) }
        let shifted = zip(values, base).map { $0 + $1 }
        for k in [1, 2, 50_000, 99_999, 100_000] { for sampling in [true, false] {
            let (bits, greater, equal) = shifted.withUnsafeBufferPointer { x in
                base.withUnsafeBufferPointer { Sparsify.kthLargestMagnitude(x, minus: $0, k, sampling: sampling) }
            }
            let magnitudes = zip(shifted, base).map { abs($0 - $1) }
            let kth = magnitudes.sorted(by: >)[k - 1]
            XCTAssertEqual(Float(bitPattern: bits), kth, "k=\(k)")
            XCTAssertEqual(kth, sorted[k - 1], accuracy: 1e-6, "k=\(k)")
            XCTAssertEqual(greater, magnitudes.filter { $0 > kth }.count, "k=\(k)")
            XCTAssertEqual(equal, magnitudes.filter { $0 == kth }.count, "k=\(k)")
        } }
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
