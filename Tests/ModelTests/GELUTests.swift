@testable import Model
import Numerics
import XCTest

/// GELU's value and slope, from the Swift loops and (on AVX2 + FMA) the C loops training
/// runs, against tanh's formula in Double, on a range wide enough to reach both saturations,
/// with ragged tails.
final class GELUTests: XCTestCase {
    func values(_ count: Int) -> [Float] {
        (0..<count).map { i in Float(-12 + 24 * Double(i) / Double(count - 1)) }
    }

    func check(fused: Bool) {
        for count in [1, 7, 8, 9, 1001] {
            let x = values(max(count, 2)).prefix(count).map { $0 }
            var out = [Float](repeating: .nan, count: count), slope = x
            // slope aliases inp, as in training. Outside a split the Swift loops run.
            let run = {
                out.withUnsafeMutableBufferPointer { o in
                    slope.withUnsafeMutableBufferPointer { s in
                        GELU.forward(out: o.baseAddress!, slope: s.baseAddress!, inp: UnsafePointer(s.baseAddress!), count: count)
                    }
                }
            }
            XCTAssertEqual(fused ? ComputeThreads.withFixedSplit(2) { FusedKernels.active } : FusedKernels.active, fused)
            if fused { ComputeThreads.withFixedSplit(2, run) } else { run() }
            for i in 0..<count {
                let v = Double(x[i]), u = (2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)
                let t = tanh(u)
                let want = 0.5 * v * (1 + t)
                let dwant = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * (2 / Double.pi).squareRoot() * (1 + 3 * 0.044715 * v * v)
                XCTAssertEqual(Double(out[i]), want, accuracy: 2e-6 * max(1, abs(want)), "gelu(\(v)), fused \(fused)")
                XCTAssertEqual(Double(slope[i]), dwant, accuracy: 2e-6 * max(1, abs(dwant)), "gelu'(\(v)), fused \(fused)")
            }
        }
    }

    func testSwiftLoops() { check(fused: false) }

    func testFusedLoops() throws {
        try XCTSkipUnless(FusedKernels.available, "this CPU has no AVX2 + FMA")
        check(fused: true)
    }
}
