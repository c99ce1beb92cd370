import XCTest
@testable import Evaluation

final class StatisticsTests: XCTestCase {
    func testStudentT() {
        XCTAssertEqual(StudentT.twoSided95(degreesOfFreedom: 1), 12.706, accuracy: 5e-4)
        XCTAssertEqual(StudentT.twoSided95(degreesOfFreedom: 2), 4.303, accuracy: 5e-4)
        XCTAssertEqual(StudentT.twoSided95(degreesOfFreedom: 4), 2.776, accuracy: 5e-4)
        XCTAssertEqual(StudentT.twoSided95(degreesOfFreedom: 9), 2.262, accuracy: 5e-4)
        XCTAssertEqual(StudentT.twoSided95(degreesOfFreedom: 30), 2.042, accuracy: 5e-4)
        XCTAssertEqual(StudentT.twoSided95(degreesOfFreedom: 31), 1.96, accuracy: 5e-4)
        XCTAssertEqual(StudentT.twoSided95(degreesOfFreedom: 1000), 1.96, accuracy: 5e-4)
        // Decreasing in df, and always above the normal quantile.
        for df in 1...30 {
            XCTAssertGreaterThan(StudentT.twoSided95(degreesOfFreedom: df), StudentT.twoSided95(degreesOfFreedom: df + 1))
        }
    }

    /// Values 2, 4, 4, 4, 5: mean 19/5 = 3.8; squared deviations 3.24 + 0.04·3 + 1.44
    /// = 4.8, s² = 4.8/4 = 1.2, s = 1.095445; half-width = 2.776445 · 1.095445 / √5
    /// = 1.360175, so the interval is [2.439825, 5.160175].
    func testSummaryByHand() throws {
        let s = try XCTUnwrap(Summary([2, 4, 4, 4, 5]))
        XCTAssertEqual(s.count, 5)
        XCTAssertEqual(s.mean, 3.8, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(s.standardDeviation), 1.2.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(s.halfWidth95), 1.360175, accuracy: 1e-6)
        let interval = try XCTUnwrap(s.interval95)
        XCTAssertEqual(interval.lowerBound, 2.439825, accuracy: 1e-6)
        XCTAssertEqual(interval.upperBound, 5.160175, accuracy: 1e-6)
    }

    /// Two seeds, 10 and 12: mean 11, s = √2, half-width = 12.706205 · √2 / √2 = 12.706205.
    func testTwoValues() throws {
        let s = try XCTUnwrap(Summary([10, 12]))
        XCTAssertEqual(s.mean, 11)
        XCTAssertEqual(try XCTUnwrap(s.halfWidth95), 12.706205, accuracy: 1e-9)
    }

    func testOneValueHasNoSpread() throws {
        let s = try XCTUnwrap(Summary([0.42]))
        XCTAssertEqual(s.mean, 0.42)
        XCTAssertNil(s.standardDeviation)
        XCTAssertNil(s.halfWidth95)
        XCTAssertNil(s.interval95)
    }

    func testEdgeCases() throws {
        XCTAssertNil(Summary([]))
        XCTAssertNil(Statistics.mean([]))
        XCTAssertNil(Statistics.sampleStandardDeviation([1]))
        // Equal values: zero spread, a zero-width interval.
        XCTAssertEqual(Summary([3, 3, 3])?.halfWidth95, 0)
        // A large common offset does not cancel the spread away.
        XCTAssertEqual(try XCTUnwrap(Statistics.sampleStandardDeviation([1e9 + 1, 1e9 + 2, 1e9 + 3])), 1, accuracy: 1e-6)
        // A NaN shows up in the summary instead of being dropped.
        XCTAssertTrue(try XCTUnwrap(Summary([1, .nan])).mean.isNaN)
    }

    func testRelativeChange() {
        XCTAssertEqual(Statistics.relativeChange(value: 55, reference: 50), 10)
        XCTAssertEqual(Statistics.relativeChange(value: 45, reference: 50), -10)
        XCTAssertEqual(Statistics.relativeChange(value: 50, reference: 50), 0)
        XCTAssertEqual(Statistics.relativeChange(value: -3, reference: -2), 50)   // the sign follows the formula
        XCTAssertNil(Statistics.relativeChange(value: 1, reference: 0))
        XCTAssertNil(Statistics.relativeChange(value: 0, reference: 0))
    }

    func testProportion() {
        XCTAssertEqual(Statistics.proportion(successes: 3, trials: 4), 0.75)
        XCTAssertEqual(Statistics.proportion(successes: 0, trials: 5), 0)
        XCTAssertEqual(Statistics.proportion(successes: 5, trials: 5), 1)
        XCTAssertNil(Statistics.proportion(successes: 0, trials: 0))
    }
}

final class WilsonIntervalTests: XCTestCase {
    func testMatchesPublishedWilsonIntervals() {
        // Published values (e.g. Newcombe 1998, Table I; any Wilson calculator): 0/10 → [0, 0.2775],
        // 5/10 → [0.2366, 0.7634], 81/263 → [0.2553, 0.3662].
        let zero = Statistics.wilson95(proportion: 0, trials: 10)
        XCTAssertEqual(zero.lowerBound, 0, accuracy: 1e-12)
        XCTAssertEqual(zero.upperBound, 0.2775, accuracy: 5e-5)
        let half = Statistics.wilson95(proportion: 0.5, trials: 10)
        XCTAssertEqual(half.lowerBound, 0.2366, accuracy: 5e-5)
        XCTAssertEqual(half.upperBound, 0.7634, accuracy: 5e-5)
        let newcombe = Statistics.wilson95(proportion: 81.0 / 263, trials: 263)
        XCTAssertEqual(newcombe.lowerBound, 0.2553, accuracy: 5e-5)
        XCTAssertEqual(newcombe.upperBound, 0.3662, accuracy: 5e-5)
        let all = Statistics.wilson95(proportion: 1, trials: 100)
        XCTAssertEqual(all.upperBound, 1, accuracy: 1e-12)
        XCTAssertLessThan(all.lowerBound, 0.97, "a 100% rate over 100 items still has an interval")
    }
}
