import Foundation
import Numerics
import XCTest

final class VectorMathTests: XCTestCase {
    /// Against Float64 exp over the whole clamped range and densely near 0 (GELU's inputs).
    func testExpIsWithinTwoUlpsOfTheTrueValue() {
        var worstUlps = 0.0, worstAt: Float = 0
        var values: [Float] = stride(from: -87.0, through: 88.0, by: 0.001).map { Float($0) }
        values += stride(from: -1.0, through: 1.0, by: 1e-5).map { Float($0) }
        var i = 0
        while i + 8 <= values.count {
            let v = SIMD8<Float>(values[i..<(i + 8)])
            let e = VectorMath.exp(v)
            for k in 0..<8 {
                let exact = Foundation.exp(Double(v[k]))
                let ulps = abs(Double(e[k]) - exact) / Double(Float(exact).ulp)
                if ulps > worstUlps { worstUlps = ulps; worstAt = v[k] }
            }
            i += 8
        }
        XCTAssertLessThanOrEqual(worstUlps, 2, "worst at x = \(worstAt)")
    }

    func testExpClampsInsteadOfOverflowing() {
        let e = VectorMath.exp(SIMD8<Float>(-1000, -88, 89, 1000, .infinity, -.infinity, 0, 1))
        for k in 0..<8 { XCTAssertTrue(e[k].isFinite && e[k] > 0, "lane \(k): \(e[k])") }
        XCTAssertEqual(e[6], 1)
        XCTAssertEqual(e[7], Float(M_E), accuracy: 2 * Float(M_E).ulp)
        XCTAssertEqual(VectorMath.exp(Float(0.5)), VectorMath.exp(SIMD8<Float>(repeating: 0.5))[0])
    }
}
