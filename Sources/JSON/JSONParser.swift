/// A strict RFC 8259 recursive-descent parser over a byte buffer.
///
/// Strict means: no comments, no trailing commas, no NaN or Infinity, no leading zeros,
/// strings must be valid UTF-8 with control characters escaped, `\u` surrogates must pair
/// up, keys must be unique within an object, and only whitespace may follow the one
/// top-level value. A leading UTF-8 byte order mark is skipped, as RFC 8259 allows.
///
/// Speed comes from reading bytes through an unsafe buffer with an index: plain string runs
/// are scanned and turned into a `String` once, escaped strings go through one reusable
/// scratch buffer, and short integers skip text-to-double conversion. Line and column are
/// only worked out when an error is thrown.
///
/// Recursion is bounded by ``maximumDepth``, so hostile input fails with an error instead of
/// overflowing the stack. At the limit a release build uses under 256 KiB of stack (debug
/// builds about 2 MiB), within any thread's default on Linux and macOS alike.
struct JSONParser {
    /// Arrays and objects may nest this deep; one more level is an error.
    static let maximumDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private let end: Int
    /// Where line 1 starts: 0, or 3 after a byte order mark.
    private let textStart: Int
    private var offset: Int
    private var depth = 0
    /// Reused to assemble strings that contain escapes.
    private var scratch: [UInt8] = []
    /// Elements of the arrays being parsed, innermost last. Each array is copied out once,
    /// at its exact size, instead of growing its own storage step by step.
    private var elementStack: [JSONValue] = []
    /// Members of the objects being parsed, innermost last, for the same reason.
    private var memberStack: [JSONObject.Member] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        end = bytes.count
        let hasByteOrderMark = bytes.count >= 3
            && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
        textStart = hasByteOrderMark ? 3 : 0
        offset = textStart
    }

    /// Parses the whole buffer as one JSON text.
    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if offset < end {
            throw error("unexpected data after the top-level value", at: offset)
        }
        return value
    }

    // MARK: - Values

    /// Parses the value at `offset`, which must already be past any whitespace.
    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard offset < end else {
            throw error("expected a value, found end of input", at: offset)
        }
        switch bytes[offset] {
        case ASCII.openBrace: return try parseObject()
        case ASCII.openBracket: return try parseArray()
        case ASCII.quote: return .string(try parseString())
        case ASCII.minus, ASCII.zero...ASCII.nine: return .number(try parseNumber())
        default: return try parseLiteral()
        }
    }

    /// `true`, `false` or `null`. Anything else is reported as the whole word it starts, so
    /// `nul` and `NaN` read as themselves rather than as their first letter.
    private mutating func parseLiteral() throws(JSONSyntaxError) -> JSONValue {
        let start = offset
        var wordEnd = start
        while wordEnd < end && ASCII.isLetter(bytes[wordEnd]) { wordEnd += 1 }
        let word = UnsafeBufferPointer(rebasing: bytes[start..<wordEnd])
        let value: JSONValue
        if Self.matches(word, "true") {
            value = .bool(true)
        } else if Self.matches(word, "false") {
            value = .bool(false)
        } else if Self.matches(word, "null") {
            value = .null
        } else {
            var message = "expected a value, found \(describe(at: start))"
            if Self.matches(word, "NaN") || Self.matches(word, "Infinity") {
                message += " (JSON numbers must be finite)"
            }
            throw error(message, at: start)
        }
        offset = wordEnd
        return value
    }

    /// Whether `word` is exactly `literal`, compared byte by byte.
    @inline(__always)
    private static func matches(_ word: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        guard word.count == literal.utf8CodeUnitCount else { return false }
        for index in 0..<word.count where word[index] != literal.utf8Start[index] {
            return false
        }
        return true
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enterContainer()
        defer { depth -= 1 }
        offset += 1
        skipWhitespace()
        if offset < end && bytes[offset] == ASCII.closeBracket {
            offset += 1
            return .array([])
        }
        let base = elementStack.count
        while true {
            elementStack.append(try parseValue())
            skipWhitespace()
            guard offset < end else {
                throw error("unexpected end of input inside an array", at: offset)
            }
            switch bytes[offset] {
            case ASCII.comma:
                let comma = offset
                offset += 1
                skipWhitespace()
                if offset < end && bytes[offset] == ASCII.closeBracket {
                    throw error("trailing comma before ']'", at: comma)
                }
            case ASCII.closeBracket:
                offset += 1
                let elements = Array(elementStack[base...])
                elementStack.removeSubrange(base...)
                return .array(elements)
            default:
                throw error("expected ',' or ']' after an array element", at: offset)
            }
        }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enterContainer()
        defer { depth -= 1 }
        offset += 1
        skipWhitespace()
        if offset < end && bytes[offset] == ASCII.closeBrace {
            offset += 1
            return .object(JSONObject())
        }
        let base = memberStack.count
        var keys = JSONObject.KeyIndex()
        while true {
            guard offset < end else {
                throw error("unexpected end of input inside an object", at: offset)
            }
            guard bytes[offset] == ASCII.quote else {
                throw error("expected a string key, found \(describe(at: offset))", at: offset)
            }
            let keyStart = offset
            let key = try parseString()
            guard keys.insert(key, after: memberStack[base...]) else {
                throw error("duplicate key \(JSONWriter.quoted(key))", at: keyStart)
            }
            skipWhitespace()
            guard offset < end else {
                throw error("unexpected end of input inside an object", at: offset)
            }
            guard bytes[offset] == ASCII.colon else {
                throw error("expected ':' after an object key", at: offset)
            }
            offset += 1
            skipWhitespace()
            memberStack.append(JSONObject.Member(key: key, value: try parseValue()))
            skipWhitespace()
            guard offset < end else {
                throw error("unexpected end of input inside an object", at: offset)
            }
            switch bytes[offset] {
            case ASCII.comma:
                let comma = offset
                offset += 1
                skipWhitespace()
                if offset < end && bytes[offset] == ASCII.closeBrace {
                    throw error("trailing comma before '}'", at: comma)
                }
            case ASCII.closeBrace:
                offset += 1
                let object = JSONObject(uniqueMembers: Array(memberStack[base...]), keys: keys)
                memberStack.removeSubrange(base...)
                return .object(object)
            default:
                throw error("expected ',' or '}' after an object member", at: offset)
            }
        }
    }

    /// Counts one more level of nesting for the bracket at `offset`, failing past the limit.
    private mutating func enterContainer() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw error("nesting deeper than \(Self.maximumDepth) levels", at: offset)
        }
    }

    // MARK: - Strings

    /// Parses the string whose opening quote is at `offset`.
    ///
    /// The common case, no escapes, makes exactly one `String` from the bytes in place.
    /// Otherwise runs of plain bytes and decoded escapes are gathered in `scratch`.
    private mutating func parseString() throws(JSONSyntaxError) -> String {
        offset += 1
        var runStart = offset
        var hasEscapes = false
        while offset < end {
            let byte = bytes[offset]
            if byte == ASCII.quote {
                let run = UnsafeBufferPointer(rebasing: bytes[runStart..<offset])
                offset += 1
                guard hasEscapes else { return String(decoding: run, as: UTF8.self) }
                scratch.append(contentsOf: run)
                return String(decoding: scratch, as: UTF8.self)
            }
            if byte == ASCII.backslash {
                if !hasEscapes {
                    scratch.removeAll(keepingCapacity: true)
                    hasEscapes = true
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<offset]))
                try appendEscape()
                runStart = offset
                continue
            }
            offset += try plainStringCharacterLength(byte)
        }
        throw error("unexpected end of input inside a string", at: offset)
    }

    /// The byte length of the unescaped character at `offset` (whose first byte is `byte`),
    /// failing on control characters and malformed UTF-8.
    @inline(__always)
    private func plainStringCharacterLength(_ byte: UInt8) throws(JSONSyntaxError) -> Int {
        if byte >= 0x20 && byte < 0x80 { return 1 }
        if byte < 0x20 {
            throw error("control character \(Self.codePoint(UInt32(byte))) must be escaped", at: offset)
        }
        guard let length = UTF8Validation.sequenceLength(in: bytes, at: offset) else {
            throw error("invalid UTF-8 in string (byte \(Self.hexByte(byte)))", at: offset)
        }
        return length
    }

    /// Decodes the escape whose backslash is at `offset` into `scratch`.
    private mutating func appendEscape() throws(JSONSyntaxError) {
        let backslash = offset
        guard offset + 1 < end else {
            throw error("unexpected end of input inside a string", at: end)
        }
        let escaped = bytes[offset + 1]
        let replacement: UInt8
        switch escaped {
        case ASCII.quote, ASCII.backslash, ASCII.slash: replacement = escaped
        case UInt8(ascii: "b"): replacement = 0x08
        case UInt8(ascii: "f"): replacement = 0x0C
        case UInt8(ascii: "n"): replacement = ASCII.newline
        case UInt8(ascii: "r"): replacement = ASCII.carriageReturn
        case UInt8(ascii: "t"): replacement = ASCII.tab
        case ASCII.lowercaseU:
            appendUTF8(of: try parseUnicodeEscape())
            return
        default:
            let message = escaped > 0x20 && escaped < 0x7F
                ? "invalid escape \\" + String(UnicodeScalar(escaped))
                : "invalid escape: backslash followed by \(describe(at: offset + 1))"
            throw error(message, at: backslash)
        }
        scratch.append(replacement)
        offset += 2
    }

    /// Reads `\uXXXX` at `offset`, and the `\uXXXX` low surrogate after it when the first is
    /// a high surrogate; returns the scalar.
    private mutating func parseUnicodeEscape() throws(JSONSyntaxError) -> Unicode.Scalar {
        let first = offset
        let unit = try readHexQuad(backslashAt: first)
        switch unit {
        case 0xD800...0xDBFF:
            let second = offset
            let hasLowSurrogate = second + 1 < end
                && bytes[second] == ASCII.backslash && bytes[second + 1] == ASCII.lowercaseU
            guard hasLowSurrogate else {
                throw error("lone surrogate \(Self.escapeText(unit))", at: first)
            }
            let low = try readHexQuad(backslashAt: second)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw error("lone surrogate \(Self.escapeText(unit))", at: first)
            }
            return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
        case 0xDC00...0xDFFF:
            throw error("lone surrogate \(Self.escapeText(unit))", at: first)
        default:
            return Unicode.Scalar(unit)!
        }
    }

    /// Reads the four hex digits of the `\u` escape whose backslash is at `backslash`, and
    /// moves past them.
    private mutating func readHexQuad(backslashAt backslash: Int) throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for position in (backslash + 2)..<(backslash + 6) {
            guard position < end else {
                throw error("unexpected end of input inside a string", at: end)
            }
            guard let digit = ASCII.hexValue(bytes[position]) else {
                throw error("invalid \\u escape: expected 4 hex digits", at: backslash)
            }
            value = value << 4 | digit
        }
        offset = backslash + 6
        return value
    }

    private mutating func appendUTF8(of scalar: Unicode.Scalar) {
        for unit in UTF8.encode(scalar)! { scratch.append(unit) }
    }

    // MARK: - Numbers

    /// Parses the number starting at `offset` (a digit or `-`).
    ///
    /// The grammar is checked here; the conversion is `Double(String)` on the number's text,
    /// except for integers of up to 15 digits, which are exact in a `Double` and are summed
    /// directly.
    private mutating func parseNumber() throws(JSONSyntaxError) -> Double {
        let start = offset
        let isNegative = bytes[offset] == ASCII.minus
        if isNegative {
            offset += 1
            guard offset < end && ASCII.isDigit(bytes[offset]) else {
                throw error("expected a digit after '-'", at: offset)
            }
        }
        let integerStart = offset
        if bytes[offset] == ASCII.zero {
            offset += 1
            if offset < end && ASCII.isDigit(bytes[offset]) {
                throw error("leading zeros are not allowed", at: offset - 1)
            }
        } else {
            skipDigits()
        }
        let integerEnd = offset
        var isInteger = true
        if offset < end && bytes[offset] == ASCII.period {
            isInteger = false
            offset += 1
            guard offset < end && ASCII.isDigit(bytes[offset]) else {
                throw error("expected a digit after the decimal point", at: offset)
            }
            skipDigits()
        }
        var mantissaEnd: Int?
        if offset < end && (bytes[offset] == ASCII.lowercaseE || bytes[offset] == ASCII.uppercaseE) {
            mantissaEnd = offset
            isInteger = false
            offset += 1
            if offset < end && (bytes[offset] == ASCII.plus || bytes[offset] == ASCII.minus) {
                offset += 1
            }
            guard offset < end && ASCII.isDigit(bytes[offset]) else {
                throw error("expected a digit in the exponent", at: offset)
            }
            skipDigits()
        }

        if isInteger && integerEnd - integerStart <= 15 {
            var magnitude = 0
            for position in integerStart..<integerEnd {
                magnitude = magnitude &* 10 &+ Int(bytes[position] &- ASCII.zero)
            }
            // Negating the Double, not the Int, keeps `-0` as -0.0 like `Double("-0")`.
            return isNegative ? -Double(magnitude) : Double(magnitude)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw error("number \(text) is out of range", at: start)
        }
        // A non-zero literal too small for a Double (1e-400) would silently become 0: a
        // weight or a learning rate written that way is a mistake, not a zero.
        if value == 0 && hasNonZeroDigit(in: integerStart..<(mantissaEnd ?? offset)) {
            throw error("number \(text) is too small to represent (it would become 0)", at: start)
        }
        return value
    }

    /// Whether the bytes in `range` (a number's mantissa) hold a digit other than 0.
    private func hasNonZeroDigit(in range: Range<Int>) -> Bool {
        range.contains { ASCII.isDigit(bytes[$0]) && bytes[$0] != ASCII.zero }
    }

    private mutating func skipDigits() {
        while offset < end && ASCII.isDigit(bytes[offset]) { offset += 1 }
    }

    // MARK: - Whitespace

    private mutating func skipWhitespace() {
        while offset < end {
            switch bytes[offset] {
            case ASCII.space, ASCII.newline, ASCII.carriageReturn, ASCII.tab: offset += 1
            default: return
            }
        }
    }

    // MARK: - Errors

    /// An error at byte `position`, with its line and column worked out from the buffer.
    private func error(_ message: String, at position: Int) -> JSONSyntaxError {
        var line = 1
        var lineStart = textStart
        for index in textStart..<position where bytes[index] == ASCII.newline {
            line += 1
            lineStart = index + 1
        }
        return JSONSyntaxError(line: line, column: position - lineStart + 1, message: message)
    }

    /// What is at `position`, for "found ..." in messages: `'x'`, a whole word like
    /// `'NaN'`, `'é'`, `U+0007` for control characters, `byte 0xFF` for bytes that are not
    /// UTF-8, or `end of input`.
    private func describe(at position: Int) -> String {
        guard position < end else { return "end of input" }
        let byte = bytes[position]
        if ASCII.isLetter(byte) {
            var wordEnd = position
            while wordEnd < end && wordEnd - position < 32
                && (ASCII.isLetter(bytes[wordEnd]) || ASCII.isDigit(bytes[wordEnd])) {
                wordEnd += 1
            }
            return "'" + String(decoding: UnsafeBufferPointer(rebasing: bytes[position..<wordEnd]), as: UTF8.self) + "'"
        }
        if byte < 0x20 || byte == 0x7F { return Self.codePoint(UInt32(byte)) }
        if byte < 0x80 { return "'" + String(UnicodeScalar(byte)) + "'" }
        guard let length = UTF8Validation.sequenceLength(in: bytes, at: position) else {
            return "byte \(Self.hexByte(byte))"
        }
        return "'" + String(decoding: UnsafeBufferPointer(rebasing: bytes[position..<(position + length)]), as: UTF8.self) + "'"
    }

    /// `U+000A`
    private static func codePoint(_ value: UInt32) -> String {
        "U+" + hex(value, digits: 4).uppercased()
    }

    /// `0xFF`
    private static func hexByte(_ byte: UInt8) -> String {
        "0x" + hex(UInt32(byte), digits: 2).uppercased()
    }

    /// `\ud83d`, the way the escape is usually written.
    private static func escapeText(_ unit: UInt32) -> String {
        "\\u" + hex(unit, digits: 4)
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
