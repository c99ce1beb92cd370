import XCTest
@testable import JSON

/// Every rejection the parser makes, each with its exact message and position.
final class SyntaxErrorTests: XCTestCase {
    // MARK: - Messages named in the module's contract

    func testEndOfInputInsideString() {
        assertRejects("{\n  \"name\": \"abc", line: 2, column: 15, "unexpected end of input inside a string")
        assertRejects("\"abc\\", line: 1, column: 6, "unexpected end of input inside a string")
        assertRejects("\"\\u12", line: 1, column: 6, "unexpected end of input inside a string")
    }

    func testInvalidEscape() {
        assertRejects("[\n \"a\\qb\"\n]", line: 2, column: 4, "invalid escape \\q")
        assertRejects("\"\\x41\"", line: 1, column: 2, "invalid escape \\x")
        assertRejects("\"\\'\"", line: 1, column: 2, "invalid escape \\'")
        assertRejects("\"a\\\u{1}\"", line: 1, column: 3, "invalid escape: backslash followed by U+0001")
    }

    func testTrailingComma() {
        assertRejects("{\n  \"a\": 1,\n}", line: 2, column: 9, "trailing comma before '}'")
        assertRejects("[1, 2,]", line: 1, column: 6, "trailing comma before ']'")
        assertRejects("[\n  1,\n  2,\n  ]", line: 3, column: 4, "trailing comma before ']'")
    }

    func testExpectedValue() {
        assertRejects("{\"a\": x}", line: 1, column: 7, "expected a value, found 'x'")
        assertRejects("x", line: 1, column: 1, "expected a value, found 'x'")
        assertRejects("[1, nul]", line: 1, column: 5, "expected a value, found 'nul'")
        assertRejects("[True]", line: 1, column: 2, "expected a value, found 'True'")
        assertRejects("truex", line: 1, column: 1, "expected a value, found 'truex'")
        assertRejects("[1,,2]", line: 1, column: 4, "expected a value, found ','")
        assertRejects("[.5]", line: 1, column: 2, "expected a value, found '.'")
        assertRejects("+1", line: 1, column: 1, "expected a value, found '+'")
        assertRejects("['a']", line: 1, column: 2, "expected a value, found '''")
        assertRejects("", line: 1, column: 1, "expected a value, found end of input")
        assertRejects(" \n\n ", line: 3, column: 2, "expected a value, found end of input")
        assertRejects("[", line: 1, column: 2, "expected a value, found end of input")
        assertRejects("{\"a\":", line: 1, column: 6, "expected a value, found end of input")
        assertRejects("[1,\u{1}]", line: 1, column: 4, "expected a value, found U+0001")
        assertRejects("[é]", line: 1, column: 2, "expected a value, found 'é'")
        assertRejects(bytes: [0x5B, 0xFF, 0x5D], line: 1, column: 2, "expected a value, found byte 0xFF")
    }

    func testNaNAndInfinityAreRejected() {
        assertRejects("{\"x\": NaN}", line: 1, column: 7, "expected a value, found 'NaN' (JSON numbers must be finite)")
        assertRejects("Infinity", line: 1, column: 1, "expected a value, found 'Infinity' (JSON numbers must be finite)")
        assertRejects("-Infinity", line: 1, column: 2, "expected a digit after '-'")
        assertRejects("1e400", line: 1, column: 1, "number 1e400 is out of range")
        assertRejects("[\n-1.5e999]", line: 2, column: 1, "number -1.5e999 is out of range")
    }

    func testNumberThatUnderflowsToZeroIsRejected() {
        assertRejects("1e-400", line: 1, column: 1, "number 1e-400 is too small to represent (it would become 0)")
        assertRejects("[\n-2.5E-999]", line: 2, column: 1, "number -2.5E-999 is too small to represent (it would become 0)")
        // Zero written any way stays zero, and a subnormal is not zero.
        XCTAssertEqual(try JSONValue.parse("0e-400").doubleValue, 0)
        XCTAssertEqual(try JSONValue.parse("0.000e5").doubleValue, 0)
        XCTAssertEqual(try JSONValue.parse("1e-310").doubleValue, Double("1e-310"))
    }

    func testLeadingZeros() {
        assertRejects("{\"n\": 012}", line: 1, column: 7, "leading zeros are not allowed")
        assertRejects("-01", line: 1, column: 2, "leading zeros are not allowed")
        assertRejects("[\n  00.5]", line: 2, column: 3, "leading zeros are not allowed")
    }

    func testDuplicateKey() {
        assertRejects("{\n  \"a\": 1,\n  \"b\": 2,\n  \"a\": 3\n}", line: 4, column: 3, "duplicate key \"a\"")
        assertRejects("{\"x\": {\"q\\\"\": 1, \"q\\u0022\": 2}}", line: 1, column: 18, "duplicate key \"q\\\"\"")
    }

    func testDuplicateKeyInLargeObject() {
        // Past the linear-search limit the object keeps an index; duplicates must still be caught.
        let members = (0..<40).map { "\"k\($0)\": \($0)" }.joined(separator: ",\n")
        assertRejects("{\n" + members + ",\n\"k17\": 0}", line: 42, column: 1, "duplicate key \"k17\"")
    }

    func testUnescapedControlCharacters() {
        assertRejects("[\"a\nb\"]", line: 1, column: 4, "control character U+000A must be escaped")
        assertRejects("{\n  \"k\": \"a\tb\"}", line: 2, column: 10, "control character U+0009 must be escaped")
        assertRejects("\"\u{0}\"", line: 1, column: 2, "control character U+0000 must be escaped")
        assertRejects("\"\u{1F}\"", line: 1, column: 2, "control character U+001F must be escaped")
        assertRejects("\"a\\n\u{1F}\"", line: 1, column: 5, "control character U+001F must be escaped")
    }

    func testDataAfterTopLevelValue() {
        assertRejects("{\"a\": 1}\n{\"b\": 2}", line: 2, column: 1, "unexpected data after the top-level value")
        assertRejects("1 2", line: 1, column: 3, "unexpected data after the top-level value")
        assertRejects("[1]]", line: 1, column: 4, "unexpected data after the top-level value")
        assertRejects("null x", line: 1, column: 6, "unexpected data after the top-level value")
        assertRejects("1.5x", line: 1, column: 4, "unexpected data after the top-level value")
        assertRejects("0 // comment", line: 1, column: 3, "unexpected data after the top-level value")
        assertRejects(bytes: Array("1 ".utf8) + [0], line: 1, column: 3, "unexpected data after the top-level value")
    }

    func testNestingLimit() {
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        assertRejects(tooDeep, line: 1, column: 513, "nesting deeper than 512 levels")
        let tooDeepObjects = String(repeating: "{\"a\":", count: 513) + "1" + String(repeating: "}", count: 513)
        assertRejects(tooDeepObjects, line: 1, column: 512 * 5 + 1, "nesting deeper than 512 levels")
    }

    // MARK: - Punctuation

    func testObjectPunctuation() {
        // The exact example from the module's documentation.
        let text = "{\n  \"a\": 1,\n  \"bbb\": 123 \"c\": 3\n}"
        XCTAssertThrowsError(try JSONValue.parse(text)) { error in
            XCTAssertEqual("\(error)", "line 3, column 14: expected ',' or '}' after an object member")
        }
        assertRejects("{\n  \"a\": 1\n  \"b\": 2\n}", line: 3, column: 3, "expected ',' or '}' after an object member")
        assertRejects("{\"a\": 1]", line: 1, column: 8, "expected ',' or '}' after an object member")
        assertRejects("{\"a\" 1}", line: 1, column: 6, "expected ':' after an object key")
        assertRejects("{\"a\"=1}", line: 1, column: 5, "expected ':' after an object key")
        assertRejects("{1: 2}", line: 1, column: 2, "expected a string key, found '1'")
        assertRejects("{a: 2}", line: 1, column: 2, "expected a string key, found 'a'")
        assertRejects("{,}", line: 1, column: 2, "expected a string key, found ','")
        assertRejects("{\"a\": 1, b: 2}", line: 1, column: 10, "expected a string key, found 'b'")
        assertRejects("{", line: 1, column: 2, "unexpected end of input inside an object")
        assertRejects("{\"a\"", line: 1, column: 5, "unexpected end of input inside an object")
        assertRejects("{\"a\": 1", line: 1, column: 8, "unexpected end of input inside an object")
        assertRejects("{\"a\": 1,", line: 1, column: 9, "unexpected end of input inside an object")
    }

    func testArrayPunctuation() {
        assertRejects("[1 2]", line: 1, column: 4, "expected ',' or ']' after an array element")
        assertRejects("[1}", line: 1, column: 3, "expected ',' or ']' after an array element")
        assertRejects("[1, 2", line: 1, column: 6, "unexpected end of input inside an array")
        assertRejects("[1,", line: 1, column: 4, "expected a value, found end of input")
    }

    func testCommentsAreRejected() {
        assertRejects("{\"a\": 1 // note\n}", line: 1, column: 9, "expected ',' or '}' after an object member")
        assertRejects("/* c */ 1", line: 1, column: 1, "expected a value, found '/'")
    }

    // MARK: - Numbers

    func testNumberGrammar() {
        assertRejects("-", line: 1, column: 2, "expected a digit after '-'")
        assertRejects("[-x]", line: 1, column: 3, "expected a digit after '-'")
        assertRejects("1.", line: 1, column: 3, "expected a digit after the decimal point")
        assertRejects("1.e5", line: 1, column: 3, "expected a digit after the decimal point")
        assertRejects("1e", line: 1, column: 3, "expected a digit in the exponent")
        assertRejects("1E+", line: 1, column: 4, "expected a digit in the exponent")
        assertRejects("[1e-x]", line: 1, column: 5, "expected a digit in the exponent")
        assertRejects("0x10", line: 1, column: 2, "unexpected data after the top-level value")
    }

    // MARK: - Strings

    func testUnicodeEscapeNeedsFourHexDigits() {
        assertRejects("\"\\u12g4\"", line: 1, column: 2, "invalid \\u escape: expected 4 hex digits")
        assertRejects("[\"ok\",\n \"\\u00\"]", line: 2, column: 3, "invalid \\u escape: expected 4 hex digits")
    }

    func testLoneSurrogates() {
        assertRejects("\"\\ud83d\"", line: 1, column: 2, "lone surrogate \\ud83d")
        assertRejects("\"x\\uD83Dy\"", line: 1, column: 3, "lone surrogate \\ud83d")
        assertRejects("\"\\ud83d\\u0041\"", line: 1, column: 2, "lone surrogate \\ud83d")
        assertRejects("\"\\ud83d\\ud83d\"", line: 1, column: 2, "lone surrogate \\ud83d")
        assertRejects("\"\\ude00\"", line: 1, column: 2, "lone surrogate \\ude00")
        assertRejects("{\n\"k\": \"\\ude00\\ud83d\"}", line: 2, column: 7, "lone surrogate \\ude00")
        assertRejects("\"\\ud83d\\u12\"", line: 1, column: 8, "invalid \\u escape: expected 4 hex digits")
    }

    func testInvalidUTF8InStrings() {
        func rejects(_ middle: [UInt8], column: Int, byte: String, line: UInt = #line) {
            assertRejects(bytes: Array("[\"a".utf8) + middle + Array("\"]".utf8),
                          line: 1, column: column, "invalid UTF-8 in string (byte \(byte))", testLine: line)
        }
        rejects([0xFF], column: 4, byte: "0xFF")
        rejects([0x80], column: 4, byte: "0x80")               // stray continuation byte
        rejects([0xC0, 0xAF], column: 4, byte: "0xC0")         // overlong '/'
        rejects([0xE0, 0x80, 0xAF], column: 4, byte: "0xE0")   // overlong 3-byte form
        rejects([0xED, 0xA0, 0x80], column: 4, byte: "0xED")   // encoded surrogate U+D800
        rejects([0xF4, 0x90, 0x80, 0x80], column: 4, byte: "0xF4")  // above U+10FFFF
        rejects([0xE2, 0x82], column: 4, byte: "0xE2")         // truncated before the quote
        rejects([0xC3, 0xA9, 0xE9], column: 6, byte: "0xE9")   // valid é, then Latin-1 é
        // After an escape, on the slow path.
        rejects(Array("\\n".utf8) + [0xFE], column: 6, byte: "0xFE")
        // Second line, the Latin-1 file a user might really have.
        assertRejects(bytes: Array("{\n\"caf".utf8) + [0xE9] + Array("\": 1}".utf8),
                      line: 2, column: 5, "invalid UTF-8 in string (byte 0xE9)")
        // Cut off by the end of the input.
        assertRejects(bytes: [0x22, 0xF0, 0x9F], line: 1, column: 2, "invalid UTF-8 in string (byte 0xF0)")
    }

    // MARK: - Positions

    func testColumnsCountBytes() {
        assertRejects("{\"é\": x}", line: 1, column: 8, "expected a value, found 'x'")
        assertRejects("[\"😀\" 1]", line: 1, column: 9, "expected ',' or ']' after an array element")
    }

    func testLinesCountLineFeedsOnly() {
        assertRejects("{\r\n  \"a\": 1,\r\n  \"a\": 2\r\n}", line: 3, column: 3, "duplicate key \"a\"")
    }

    func testByteOrderMarkIsNotCounted() {
        assertRejects("\u{FEFF}{\"a\": x}", line: 1, column: 7, "expected a value, found 'x'")
        assertRejects("\u{FEFF}", line: 1, column: 1, "expected a value, found end of input")
    }

    func testDescription() {
        let error = JSONSyntaxError(line: 3, column: 14, message: "expected ',' or '}' after an object member")
        XCTAssertEqual(error.description, "line 3, column 14: expected ',' or '}' after an object member")
    }

    func testStringAndByteEntryPointsAgree() {
        let text = "{\n  \"a\": [1, 2,]\n}"
        var fromString: JSONSyntaxError?
        var fromBytes: JSONSyntaxError?
        do { _ = try JSONValue.parse(text) } catch { fromString = error }
        do { _ = try JSONValue.parse(Array(text.utf8)) } catch { fromBytes = error }
        XCTAssertNotNil(fromString)
        XCTAssertEqual(fromString, fromBytes)
    }
}

// MARK: - Helpers

/// Asserts that `text` is rejected with exactly this position and message.
func assertRejects(
    _ text: String, line: Int, column: Int, _ message: String,
    file: StaticString = #filePath, testLine: UInt = #line
) {
    assertRejects(bytes: Array(text.utf8), line: line, column: column, message, file: file, testLine: testLine)
}

/// Asserts that `bytes` are rejected with exactly this position and message.
func assertRejects(
    bytes: [UInt8], line: Int, column: Int, _ message: String,
    file: StaticString = #filePath, testLine: UInt = #line
) {
    do {
        let value = try JSONValue.parse(bytes)
        XCTFail("expected \"\(message)\", but parsed \(value)", file: file, line: testLine)
    } catch {
        XCTAssertEqual(error, JSONSyntaxError(line: line, column: column, message: message),
                       file: file, line: testLine)
    }
}
