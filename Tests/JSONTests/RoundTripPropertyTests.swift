import XCTest
@testable import JSON

/// Random documents from a seeded generator: every serialization parses back to the same
/// value, and shuffling member order never changes the canonical encoding.
final class RoundTripPropertyTests: XCTestCase {
    func testRandomValuesRoundTrip() throws {
        var random = SplitMix64(seed: 0x5EED_1234)
        for iteration in 0..<500 {
            let value = random.jsonValue(depth: 0)
            for pretty in [false, true] {
                let text = value.serialized(pretty: pretty)
                let parsed: JSONValue
                do {
                    parsed = try JSONValue.parse(text)
                } catch {
                    XCTFail("iteration \(iteration): \(error) in \(text)")
                    continue
                }
                XCTAssertEqual(parsed, value, "iteration \(iteration), pretty \(pretty)")
            }
            let canonical = value.canonicalData()
            XCTAssertEqual(try JSONValue.parse(canonical).canonicalData(), canonical, "iteration \(iteration)")

            let shuffled = random.shuffledMembers(of: value)
            XCTAssertEqual(shuffled.canonicalData(), canonical, "iteration \(iteration)")
            XCTAssertTrue(shuffled.isEquivalent(to: value))
        }
    }
}
