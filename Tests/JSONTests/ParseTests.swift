import Foundation
import XCTest
@testable import JSON

/// Valid documents of every kind, and the value types' own API.
final class ParseTests: XCTestCase {
    // MARK: - Scalars

    func testLiterals() throws {
        XCTAssertEqual(try JSONValue.parse("null"), .null)
        XCTAssertEqual(try JSONValue.parse("true"), .bool(true))
        XCTAssertEqual(try JSONValue.parse(" \t\r\nfalse\n "), .bool(false))
    }

    func testNumbers() throws {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("7", 7), ("-12", -12), ("1e3", 1000), ("1E-2", 0.01),
            ("0.1", 0.1), ("-0.5", -0.5), ("2.5e+2", 250), ("0e-400", 0),
            ("123456789012345", 123456789012345),
            ("123456789012345678", 123456789012345678.0),
            ("9007199254740993", 9007199254740992.0),
            ("1.7976931348623157e308", .greatestFiniteMagnitude),
            ("5e-324", .leastNonzeroMagnitude),
            ("-9223372036854775809", -9223372036854775809.0),
        ]
        for (text, expected) in cases {
            let value = try JSONValue.parse(text)
            XCTAssertEqual(value, .number(expected), text)
            XCTAssertEqual(value.doubleValue, Double(text), "same as the standard library for \(text)")
        }
        XCTAssertEqual(try JSONValue.parse("-0").doubleValue?.sign, .minus)
        XCTAssertEqual(try JSONValue.parse("0").doubleValue?.sign, .plus)
    }

    func testStrings() throws {
        XCTAssertEqual(try JSONValue.parse(#""""#), "")
        XCTAssertEqual(try JSONValue.parse(#""plain ascii""#), "plain ascii")
        XCTAssertEqual(try JSONValue.parse(#""\"\\\/\b\f\n\r\t""#), "\"\\/\u{8}\u{C}\n\r\t")
        XCTAssertEqual(try JSONValue.parse(#""\u0041\u00e9\u20AC\u0000""#), "Aé€\u{0}")
        XCTAssertEqual(try JSONValue.parse(#""\ud83d\ude00""#), "😀")
        XCTAssertEqual(try JSONValue.parse(#""a\uD83D\uDE00b""#), "a😀b")
        XCTAssertEqual(try JSONValue.parse(#""\udbff\udfff""#), "\u{10FFFF}")
        XCTAssertEqual(try JSONValue.parse("\"café 日本語 😀 \u{7F}\""), "café 日本語 😀 \u{7F}")
        XCTAssertEqual(try JSONValue.parse("\"é\\n😀\""), "é\n😀")
        XCTAssertEqual(try JSONValue.parse(#""'single' / <tags>""#), "'single' / <tags>")
    }

    func testRawUTF8Bytes() throws {
        // é (2 bytes), € (3 bytes), 😀 (4 bytes), written as raw bytes.
        let bytes: [UInt8] = [0x22, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0x22]
        XCTAssertEqual(try JSONValue.parse(bytes), "é€😀")
    }

    // MARK: - Containers

    func testArrays() throws {
        XCTAssertEqual(try JSONValue.parse("[]"), .array([]))
        XCTAssertEqual(try JSONValue.parse("[ ]"), .array([]))
        XCTAssertEqual(try JSONValue.parse("[1, \"a\", null, true, [false], {}]"),
                       [1, "a", nil, true, [false], .object(JSONObject())])
        XCTAssertEqual(try JSONValue.parse("[[[]]]"), [[[]]])
    }

    func testObjects() throws {
        XCTAssertEqual(try JSONValue.parse("{}"), .object(JSONObject()))
        XCTAssertEqual(try JSONValue.parse("{ \n }"), .object(JSONObject()))
        let value = try JSONValue.parse("""
            {
              "name": "merge",
              "weights": [0.25, 0.75],
              "nested": {"deep": {"deeper": null}},
              "flag": false
            }
            """)
        XCTAssertEqual(value, [
            "name": "merge",
            "weights": [0.25, 0.75],
            "nested": ["deep": ["deeper": nil]],
            "flag": false,
        ])
        XCTAssertEqual(value.objectValue?.keys, ["name", "weights", "nested", "flag"])
    }

    func testObjectKeepsSourceOrder() throws {
        let object = try XCTUnwrap(JSONValue.parse(#"{"z": 1, "a": 2, "m": 3}"#).objectValue)
        XCTAssertEqual(object.keys, ["z", "a", "m"])
        XCTAssertEqual(object.map(\.value), [1, 2, 3])
    }

    func testLargeObjectLookups() throws {
        let count = 200
        let text = "{" + (0..<count).map { "\"key\($0)\": \($0)" }.joined(separator: ",") + "}"
        let object = try XCTUnwrap(JSONValue.parse(text).objectValue)
        XCTAssertEqual(object.count, count)
        for index in 0..<count { XCTAssertEqual(object["key\(index)"]?.intValue, index) }
        XCTAssertNil(object["key\(count)"])
    }

    func testKeysWithEscapesAndUnicode() throws {
        let object = try XCTUnwrap(JSONValue.parse(#"{"a\"b": 1, "é": 2, "\u00e8": 3, "": 4}"#).objectValue)
        XCTAssertEqual(object["a\"b"], 1)
        XCTAssertEqual(object["é"], 2)
        XCTAssertEqual(object["è"], 3)
        XCTAssertEqual(object[""], 4)
    }

    func testByteOrderMarkIsSkipped() throws {
        XCTAssertEqual(try JSONValue.parse([0xEF, 0xBB, 0xBF] + Array("[1]".utf8)), [1])
    }

    // MARK: - Depth

    func testNestingLimitIsExactly512() throws {
        let deepest = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        var value = try JSONValue.parse(deepest)
        var depth = 0
        while case .array(let elements) = value, let first = elements.first {
            value = first
            depth += 1
        }
        XCTAssertEqual(depth, 511)  // 512 arrays; the innermost is empty
        let objects = String(repeating: "{\"a\":", count: 511) + "{}" + String(repeating: "}", count: 511)
        XCTAssertNoThrow(try JSONValue.parse(objects))
    }

    func testDeepestDocumentFitsInASmallThreadStack() {
        // Worker threads can have far less stack than the main thread. Release builds need
        // under 256 KiB for 512 levels; unoptimized frames are several times larger.
        #if DEBUG
        let stackSize = 4 * 1024 * 1024
        #else
        let stackSize = 512 * 1024
        #endif
        let text = String(repeating: "{\"k\": [", count: 256) + String(repeating: "]}", count: 256)
        let finished = expectation(description: "parsed on a small stack")
        let thread = Thread {
            let parsed = try? JSONValue.parse(text)
            XCTAssertNotNil(parsed)
            finished.fulfill()
        }
        thread.stackSize = stackSize
        thread.start()
        wait(for: [finished], timeout: 30)
    }

    func testHostileNestingFailsCleanly() {
        for opener in ["[", "{\"k\":", "[{\"k\":"] {
            let text = String(repeating: opener, count: 100_000)
            XCTAssertThrowsError(try JSONValue.parse(text)) { error in
                XCTAssertEqual((error as? JSONSyntaxError)?.message, "nesting deeper than 512 levels")
            }
        }
    }

    // MARK: - Files

    func testParseFile() throws {
        let path = temporaryPath("config.json")
        try Data("{\"steps\": 3}\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try JSONValue.parse(contentsOf: path), ["steps": 3])
    }

    func testParseLargeFile() throws {
        let path = temporaryPath("large.json")
        let value = JSONValue.array((0..<50_000).map { .string("item \($0)") })
        try Data(value.serialized().utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try JSONValue.parse(contentsOf: path), value)
    }

    func testParseFileErrors() throws {
        let missing = temporaryPath("missing.json")
        XCTAssertThrowsError(try JSONValue.parse(contentsOf: missing)) { error in
            XCTAssertEqual(error as? JSONFileError, .unreadable(path: missing, reason: "No such file or directory"))
            XCTAssertEqual("\(error)", "\(missing): cannot read file: No such file or directory")
        }
        XCTAssertThrowsError(try JSONValue.parse(contentsOf: NSTemporaryDirectory())) { error in
            XCTAssertEqual("\(error)", "\(NSTemporaryDirectory()): cannot read file: Is a directory")
        }

        let broken = temporaryPath("broken.json")
        try Data("{\n  \"a\": 1,\n}\n".utf8).write(to: URL(fileURLWithPath: broken))
        defer { try? FileManager.default.removeItem(atPath: broken) }
        XCTAssertThrowsError(try JSONValue.parse(contentsOf: broken)) { error in
            let expected = JSONSyntaxError(line: 2, column: 9, message: "trailing comma before '}'")
            XCTAssertEqual(error as? JSONFileError, .invalidJSON(path: broken, expected))
            XCTAssertEqual("\(error)", "\(broken): line 2, column 9: trailing comma before '}'")
        }
    }

    // MARK: - Size

    /// A megabyte-sized document parses back to the value that produced it. (Speed is
    /// measured by the benchmark command, not asserted here.)
    func testOneMegabyteDocumentRoundTrips() throws {
        var records: [JSONValue] = []
        for index in 0..<6_000 {
            records.append([
                "id": .number(Double(index)),
                "name": .string("record number \(index)"),
                "weights": [0.125, -3.5e-3, 42, 1e10],
                "escaped": "tab\there \u{e9}",
                "ok": true,
            ])
        }
        let original = JSONValue.array(records)
        let bytes = Array(original.serialized(pretty: true).utf8)
        XCTAssertGreaterThan(bytes.count, 1_000_000)
        XCTAssertEqual(try JSONValue.parse(bytes), original)
    }

    // MARK: - Accessors

    func testAccessors() {
        let number: JSONValue = 2
        XCTAssertEqual(number.intValue, 2)
        XCTAssertEqual(number.doubleValue, 2)
        XCTAssertNil(number.stringValue)
        XCTAssertNil(JSONValue.number(2.5).intValue)
        XCTAssertNil(JSONValue.number(1e30).intValue)
        XCTAssertNil(JSONValue.number(9.3e18).intValue)
        XCTAssertEqual(JSONValue.number(-9.2e18).intValue, -9_200_000_000_000_000_000)
        XCTAssertEqual(JSONValue.string("s").stringValue, "s")
        XCTAssertEqual(JSONValue.bool(true).boolValue, true)
        XCTAssertNil(JSONValue.null.boolValue)
        XCTAssertEqual(JSONValue.array([1]).arrayValue, [1])
        XCTAssertEqual(JSONValue.object(["a": 1]).objectValue, ["a": 1])
        XCTAssertNil(JSONValue.array([]).objectValue)
        XCTAssertTrue(JSONValue.null.isNull)
        XCTAssertFalse(JSONValue.bool(false).isNull)
    }

    func testTypeNames() {
        let values: [JSONValue] = [nil, true, 1, "s", [], [:]]
        XCTAssertEqual(values.map(\.typeName), ["null", "boolean", "number", "string", "array", "object"])
        XCTAssertEqual("expected a number, got \(JSONValue.string("x").typeName)", "expected a number, got string")
    }

    func testLiteralConformances() {
        let value: JSONValue = ["n": nil, "b": true, "i": 3, "f": 0.5, "s": "x", "a": [1, "two"]]
        XCTAssertEqual(value, .object(JSONObject([
            ("n", .null), ("b", .bool(true)), ("i", .number(3)), ("f", .number(0.5)),
            ("s", .string("x")), ("a", .array([.number(1), .string("two")])),
        ])))
    }

    // MARK: - JSONObject

    func testObjectSubscriptSetsAppendsReplacesAndRemoves() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["c"] = 3
        object["a"] = "replaced"
        XCTAssertEqual(object.keys, ["a", "b", "c"])
        XCTAssertEqual(object["a"], "replaced")
        object["a"] = .null
        XCTAssertEqual(object["a"], .null)
        XCTAssertEqual(object.count, 3)
        object["b"] = nil as JSONValue?
        XCTAssertEqual(object.keys, ["a", "c"])
        XCTAssertNil(object["b"])
        object["missing"] = nil as JSONValue?
        XCTAssertEqual(object.count, 2)
        XCTAssertFalse(object.isEmpty)
        XCTAssertTrue(JSONObject().isEmpty)
    }

    func testLargeObjectEditing() {
        var object = JSONObject()
        for index in 0..<30 { object["k\(index)"] = .number(Double(index)) }
        object["k3"] = nil as JSONValue?
        object["k20"] = "twenty"
        XCTAssertEqual(object.count, 29)
        XCTAssertNil(object["k3"])
        XCTAssertEqual(object["k4"], 4)
        XCTAssertEqual(object["k29"], 29)
        XCTAssertEqual(object["k20"], "twenty")
        XCTAssertEqual(object.keys.firstIndex(of: "k20"), 19)
        for index in 0..<30 where index != 3 { object["k\(index)"] = nil as JSONValue? }
        XCTAssertTrue(object.isEmpty)
        object["again"] = 1
        XCTAssertEqual(object, ["again": 1])
    }

    func testObjectInitWithRepeatedKeyKeepsFirstPositionLastValue() {
        let object = JSONObject([("a", 1), ("b", 2), ("a", 3)])
        XCTAssertEqual(object.keys, ["a", "b"])
        XCTAssertEqual(object["a"], 3)
    }

    func testObjectEqualityIsOrderSensitiveButEquivalenceIsNot() {
        let forward: JSONValue = ["a": 1, "b": [2, 3]]
        let reversed: JSONValue = ["b": [2, 3], "a": 1]
        XCTAssertNotEqual(forward, reversed)
        XCTAssertTrue(forward.isEquivalent(to: reversed))
        XCTAssertFalse(forward.isEquivalent(to: ["a": 1, "b": [3, 2]]))
        XCTAssertTrue(JSONValue.number(-0.0).isEquivalent(to: 0))
        XCTAssertNotEqual(["a": 1] as JSONObject, ["a": 1, "b": 2] as JSONObject)
    }

    func testObjectDescriptionIsJSON() {
        let object: JSONObject = ["b": [1, nil], "a": "x"]
        XCTAssertEqual(object.description, #"{"b":[1,null],"a":"x"}"#)
        XCTAssertEqual("\(JSONValue.object(object))", #"{"b":[1,null],"a":"x"}"#)
    }

    private func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "jsontests-\(ProcessInfo.processInfo.processIdentifier)-\(name)"
    }
}
