/// Writes ``JSONValue``s as UTF-8 bytes, compact or pretty, keys in member order or sorted.
///
/// Compact with sorted keys *is* the canonical encoding; the rules below are chosen so that
/// equal content always gives equal bytes:
/// - Numbers: integral values with magnitude below 2^53 print as integers (`1`, `-3`; `-0`
///   prints `0`); everything else prints as Swift's shortest round-trip description
///   (`0.5`, `1e-05`, `1.5e+300`, `9007199254740992.0`). Non-finite numbers, which the parser
///   never produces, print as `null`.
/// - Strings: `"` and `\` are escaped, U+0000...U+001F become `\b \f \n \r \t` or `\u00xx`
///   (lowercase hex); everything else, including `/` and non-ASCII, is written as raw UTF-8.
/// - Sorted keys compare by their UTF-8 bytes.
/// - Pretty output indents by two spaces, writes `": "` between key and value, prints empty
///   containers as `[]` and `{}`, and has no trailing newline.
struct JSONWriter {
    let pretty: Bool
    let sortedKeys: Bool
    private(set) var output: [UInt8] = []

    init(pretty: Bool, sortedKeys: Bool) {
        self.pretty = pretty
        self.sortedKeys = sortedKeys
    }

    /// `value` written with the given layout.
    static func bytes(of value: JSONValue, pretty: Bool, sortedKeys: Bool) -> [UInt8] {
        var writer = JSONWriter(pretty: pretty, sortedKeys: sortedKeys)
        writer.write(value, indentLevel: 0)
        return writer.output
    }

    /// `text` as a JSON string literal with quotes, e.g. for `duplicate key "a"`.
    static func quoted(_ text: String) -> String {
        var writer = JSONWriter(pretty: false, sortedKeys: false)
        writer.writeString(text)
        return String(decoding: writer.output, as: UTF8.self)
    }

    mutating func write(_ value: JSONValue, indentLevel: Int) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let bool): output.append(contentsOf: (bool ? "true" : "false").utf8)
        case .number(let number): writeNumber(number)
        case .string(let string): writeString(string)
        case .array(let elements): writeArray(elements, indentLevel: indentLevel)
        case .object(let object): writeObject(object, indentLevel: indentLevel)
        }
    }

    private mutating func writeArray(_ elements: [JSONValue], indentLevel: Int) {
        output.append(ASCII.openBracket)
        for (index, element) in elements.enumerated() {
            if index > 0 { output.append(ASCII.comma) }
            writeLineBreak(indentLevel: indentLevel + 1)
            write(element, indentLevel: indentLevel + 1)
        }
        if !elements.isEmpty { writeLineBreak(indentLevel: indentLevel) }
        output.append(ASCII.closeBracket)
    }

    private mutating func writeObject(_ object: JSONObject, indentLevel: Int) {
        var members = Array(object)
        if sortedKeys {
            members.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        }
        output.append(ASCII.openBrace)
        for (index, member) in members.enumerated() {
            if index > 0 { output.append(ASCII.comma) }
            writeLineBreak(indentLevel: indentLevel + 1)
            writeString(member.key)
            output.append(ASCII.colon)
            if pretty { output.append(ASCII.space) }
            write(member.value, indentLevel: indentLevel + 1)
        }
        if !members.isEmpty { writeLineBreak(indentLevel: indentLevel) }
        output.append(ASCII.closeBrace)
    }

    /// A newline and indentation in pretty mode; nothing in compact mode.
    private mutating func writeLineBreak(indentLevel: Int) {
        guard pretty else { return }
        output.append(ASCII.newline)
        output.append(contentsOf: repeatElement(ASCII.space, count: 2 * indentLevel))
    }

    /// Below this magnitude every integer is exactly representable, so integral values print
    /// as integers without losing anything.
    private static let exactIntegerLimit = 9_007_199_254_740_992.0  // 2^53

    private mutating func writeNumber(_ number: Double) {
        guard number.isFinite else {
            output.append(contentsOf: "null".utf8)
            return
        }
        if number.rounded(.towardZero) == number && abs(number) < Self.exactIntegerLimit {
            output.append(contentsOf: String(Int64(number)).utf8)
        } else {
            output.append(contentsOf: number.description.utf8)
        }
    }

    private mutating func writeString(_ string: String) {
        output.append(ASCII.quote)
        for byte in string.utf8 {
            switch byte {
            case ASCII.quote, ASCII.backslash:
                output.append(ASCII.backslash)
                output.append(byte)
            case 0x08: appendEscape("b")
            case 0x0C: appendEscape("f")
            case ASCII.newline: appendEscape("n")
            case ASCII.carriageReturn: appendEscape("r")
            case ASCII.tab: appendEscape("t")
            case 0x00..<0x20:
                output.append(contentsOf: #"\u00"#.utf8)
                output.append(ASCII.hexDigits[Int(byte >> 4)])
                output.append(ASCII.hexDigits[Int(byte & 0xF)])
            default:
                output.append(byte)
            }
        }
        output.append(ASCII.quote)
    }

    private mutating func appendEscape(_ letter: Unicode.Scalar) {
        output.append(ASCII.backslash)
        output.append(UInt8(ascii: letter))
    }
}
