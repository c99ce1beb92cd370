import XCTest
@testable import JSON

/// The canonical encoding used for content hashing, and the human-facing serializer that
/// shares its number and string rules.
final class CanonicalTests: XCTestCase {
    func testKeyOrderAndWhitespaceDoNotMatter() throws {
        let compact = try JSONValue.parse(#"{"b":1,"a":[1,2.5,"x"]}"#)
        let reordered = try JSONValue.parse("""
            {
              "a" : [ 1 , 2.5 , "x" ] ,
              "b" : 1.0
            }
            """)
        let expected = Array(#"{"a":[1,2.5,"x"],"b":1}"#.utf8)
        XCTAssertEqual(compact.canonicalData(), expected)
        XCTAssertEqual(reordered.canonicalData(), expected)
        XCTAssertEqual(compact.canonicalString, #"{"a":[1,2.5,"x"],"b":1}"#)
    }

    func testNestedObjectsAreSortedToo() {
        let value: JSONValue = ["z": ["y": 1, "x": [["q": 1, "p": 2]]], "a": [:]]
        XCTAssertEqual(value.canonicalString, #"{"a":{},"z":{"x":[{"p":2,"q":1}],"y":1}}"#)
    }

    func testKeysSortByUTF8Bytes() {
        // U+FFFF is EF BF BF and 😀 is F0 9F 98 80 in UTF-8, so U+FFFF sorts first, although
        // UTF-16 order (D83D < FFFF) would put 😀 first.
        let value: JSONValue = ["é": 1, "b": 2, "😀": 3, "aa": 4, "\u{FFFF}": 5, "B": 6, "a": 7, "": 8]
        XCTAssertEqual(value.canonicalString, "{\"\":8,\"B\":6,\"a\":7,\"aa\":4,\"b\":2,\"é\":1,\"\u{FFFF}\":5,\"😀\":3}")
    }

    func testNumberFormatting() {
        let cases: [(Double, String)] = [
            (1.0, "1"), (0, "0"), (-0.0, "0"), (-7, "-7"), (100, "100"), (1e15, "1000000000000000"),
            (0.1, "0.1"), (0.5, "0.5"), (-1.5, "-1.5"), (2.5, "2.5"), (1e-5, "1e-05"), (1e-7, "1e-07"),
            (9_007_199_254_740_991, "9007199254740991"), (-9_007_199_254_740_991, "-9007199254740991"),
            (9_007_199_254_740_992, "9007199254740992.0"), (-9_007_199_254_740_992, "-9007199254740992.0"),
            (1.2345678901234568e+17, "1.2345678901234568e+17"), (1e300, "1e+300"), (1.5e300, "1.5e+300"),
            (.greatestFiniteMagnitude, "1.7976931348623157e+308"), (.leastNonzeroMagnitude, "5e-324"),
            (1.0 / 3.0, "0.3333333333333333"), (123.456, "123.456"),
        ]
        for (number, expected) in cases {
            XCTAssertEqual(JSONValue.number(number).canonicalString, expected, "\(number)")
            XCTAssertEqual(JSONValue.number(number).serialized(), expected, "\(number)")
            XCTAssertEqual(try JSONValue.parse(expected).doubleValue, number == 0 ? 0 : number)
        }
    }

    func testNonFiniteNumbersEncodeAsNull() {
        XCTAssertEqual(JSONValue.number(.infinity).canonicalString, "null")
        XCTAssertEqual(JSONValue.number(-.infinity).serialized(), "null")
        XCTAssertEqual(JSONValue.array([.number(.nan)]).serialized(pretty: true), "[\n  null\n]")
    }

    func testStringEscapes() {
        let value = JSONValue.string("q\" b\\ s/ \u{0}\u{1}\u{8}\u{9}\u{A}\u{B}\u{C}\u{D}\u{1F} \u{7F} é€😀 <>&'")
        let expected = #""q\" b\\ s/ \u0000\u0001\b\t\n\u000b\f\r\u001f "# + "\u{7F} é€😀 <>&'\""
        XCTAssertEqual(value.canonicalString, expected)
        XCTAssertEqual(value.serialized(pretty: true), expected)
        XCTAssertEqual(try JSONValue.parse(expected), value)
    }

    func testKeysAreEscapedLikeStrings() {
        let value: JSONValue = ["a\nb": 1, "\"": 2]
        XCTAssertEqual(value.canonicalString, #"{"\"":2,"a\nb":1}"#)
    }

    func testScalarsAndEmptyContainers() {
        XCTAssertEqual(JSONValue.null.canonicalString, "null")
        XCTAssertEqual(JSONValue.bool(true).canonicalString, "true")
        XCTAssertEqual(JSONValue.bool(false).canonicalString, "false")
        XCTAssertEqual(JSONValue.array([]).canonicalString, "[]")
        XCTAssertEqual(JSONValue.object([:]).canonicalString, "{}")
        XCTAssertEqual(JSONValue.array([]).serialized(pretty: true), "[]")
        XCTAssertEqual(JSONValue.object([:]).serialized(pretty: true), "{}")
    }

    // MARK: - Human-facing output

    func testCompactKeepsMemberOrder() {
        let value: JSONValue = ["b": 1, "a": [true, nil]]
        XCTAssertEqual(value.serialized(), #"{"b":1,"a":[true,null]}"#)
        XCTAssertEqual(value.serialized(sortedKeys: true), #"{"a":[true,null],"b":1}"#)
    }

    func testPrettyLayout() {
        let value: JSONValue = ["name": "m", "weights": [0.5, 1], "empty": [], "none": [:], "nested": ["k": [[]]]]
        XCTAssertEqual(value.serialized(pretty: true), """
            {
              "name": "m",
              "weights": [
                0.5,
                1
              ],
              "empty": [],
              "none": {},
              "nested": {
                "k": [
                  []
                ]
              }
            }
            """)
        XCTAssertEqual(value.serialized(pretty: true, sortedKeys: true), """
            {
              "empty": [],
              "name": "m",
              "nested": {
                "k": [
                  []
                ]
              },
              "none": {},
              "weights": [
                0.5,
                1
              ]
            }
            """)
    }

    // MARK: - Round trips

    func testRoundTrips() throws {
        let values: [JSONValue] = [
            nil, true, false, 0, -1, 0.1, 1e-7, 1e300, 123456789012345678, -2.5e-300,
            "", "plain", "esc\"aped\\ \n\t\u{0} é😀",
            [], [:], [1, [2, [3, [4]]]],
            ["z": 1, "a": ["nested": [nil, true, "x"]], "": [:], "é": -0.5],
        ]
        for value in values {
            for pretty in [false, true] {
                for sortedKeys in [false, true] {
                    let text = value.serialized(pretty: pretty, sortedKeys: sortedKeys)
                    let parsed = try JSONValue.parse(text)
                    if sortedKeys {
                        XCTAssertTrue(parsed.isEquivalent(to: value), text)
                    } else {
                        XCTAssertEqual(parsed, value, text)
                    }
                    XCTAssertEqual(parsed.canonicalData(), value.canonicalData(), text)
                }
            }
            XCTAssertEqual(try JSONValue.parse(value.canonicalData()).canonicalData(), value.canonicalData())
        }
    }

    func testCanonicalOfParsedCanonicalIsStable() throws {
        let text = #"{"b":[1,2.5,1e-07,"\u00e9\/"],"a":{"y":null,"x":-0}}"#
        let canonical = try JSONValue.parse(text).canonicalData()
        XCTAssertEqual(String(decoding: canonical, as: UTF8.self), #"{"a":{"x":0,"y":null},"b":[1,2.5,1e-07,"é/"]}"#)
        XCTAssertEqual(try JSONValue.parse(canonical).canonicalData(), canonical)
    }
}
