import Numerics
import XCTest
@testable import Merge

/// The magnitude cut found a block at a time equals the whole-tensor one (`Sparsify.magnitude`)
/// in threshold and tie cut, on every path: candidates collected, or counted (the candidate
/// list capped at 0) and the ties cut in a third pass.
final class MagnitudeSelectionTests: XCTestCase {
    func blocked(_ x: [Float], _ base: [Float], k: Int, block: Int, collectLimit: Int) -> (Kept, passes: Int) {
        let selection = MagnitudeSelection(count: x.count, k: k, collectLimit: collectLimit)
        var passes = 0
        x.withUnsafeBufferPointer { x in
            base.withUnsafeBufferPointer { b in
                while !selection.isDone {
                    passes += 1
                    for start in stride(from: 0, to: x.count, by: block) where !selection.isDone {
                        let r = start..<min(x.count, start + block)
                        selection.feed(x: UnsafeBufferPointer(rebasing: x[r]), base: UnsafeBufferPointer(rebasing: b[r]), offset: start)
                    }
                    selection.endPass()
                }
            }
        }
        return (selection.result, passes)
    }

    func whole(_ x: [Float], _ base: [Float], density: Double) -> Kept {
        x.withUnsafeBufferPointer { x in base.withUnsafeBufferPointer { Sparsify.magnitude(x, minus: $0, density: density) } }
    }

    func testBlockedCutEqualsWholeTensorCut() {
        var rng = SeededRandom(seed: 11)
        for n in [2, 1000, 70_001, 300_007] {
            let base = (0..<n).map { _ in Float((rng.normal() * 64).rounded()) / 64 }  // δ exact below
            // Quantised deltas: many equal magnitudes, so the cut usually falls among ties.
            let quantised = base.map { $0 + Float((rng.normal() * 16).rounded()) / 64 }
            // Every |δ| equal: the whole tensor ties at the threshold.
            let flat = base.enumerated().map { $1 + ($0 % 3 == 0 ? -0.25 : 0.25) }
            let spread = base.map { $0 + Float(rng.normal()) }
            for (label, x) in [("quantised", quantised), ("all tied", flat), ("spread", spread)] {
                for density in [0.001, 0.3, 0.5, 0.9] {
                    let k = max(1, Int(density * Double(n)))
                    guard k < n else { continue }
                    let want = whole(x, base, density: density)
                    for block in [64, 4096, 1 << 16] { for limit in [0, MagnitudeSelection.defaultCollectLimit] {
                        let (got, passes) = blocked(x, base, k: k, block: block, collectLimit: limit)
                        let context = "\(label) n=\(n) density=\(density) block=\(block) limit=\(limit)"
                        XCTAssertEqual(got.threshold, want.threshold, context)
                        XCTAssertEqual(got.tiesBefore, want.tiesBefore, context)
                        XCTAssertLessThanOrEqual(passes, limit == 0 ? 3 : 2, context)
                    } }
                }
            }
        }
    }
}

/// The bit test that checks input blocks agrees with `Kernels.allFinite`.
final class BlockFiniteCheckTests: XCTestCase {
    func testBitCheckAgreesWithKernels() {
        let specials: [Float] = [.nan, -.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                 .leastNonzeroMagnitude, 0, -0, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFFF_FFFF)]
        for n in [0, 1, 7, 8, 9, 100] {
            for position in Set([0, n / 2, max(0, n - 1)]) where position < max(n, 1) {
                for special in specials {
                    var x = (0..<n).map { Float($0) - 3.5 }
                    if n > 0 { x[position] = special }
                    let want = x.withUnsafeBufferPointer { Kernels.allFinite($0) }
                    XCTAssertEqual(x.withUnsafeBufferPointer { BlockedMerge.allFinite($0) }, want, "n=\(n) at \(position): \(special)")
                }
            }
        }
    }
}
