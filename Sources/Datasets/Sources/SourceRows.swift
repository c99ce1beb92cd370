import JSON

/// The lines of a source file (JSON Lines with fixed fields), read the way `JSONLines`
/// reads its format: every problem collected with its line number, then one error.
struct SourceRows {
    /// The non-blank lines that are JSON objects with only allowed keys.
    private(set) var rows: [(line: Int, object: JSONObject)] = []
    private(set) var problems: [JSONLines.Problem] = []

    /// - Parameter allowedKeys: every key a row may have; any other is a problem.
    init(_ bytes: [UInt8], allowedKeys: [String]) {
        let allowed = Set(allowedKeys)
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            let value: JSONValue
            do { value = try JSONValue.parse(Array(line)) } catch {
                problem(lineNumber, "invalid JSON: \(error)")
                continue
            }
            guard let object = value.objectValue else {
                problem(lineNumber, "expected an object, got \(value.typeName)")
                continue
            }
            var good = true
            for key in object.keys where !allowed.contains(key) {
                problem(lineNumber, "unknown key \"\(key)\" (allowed: \(allowedKeys.joined(separator: ", ")))")
                good = false
            }
            if good { rows.append((lineNumber, object)) }
        }
    }

    mutating func problem(_ line: Int, _ message: String) {
        problems.append(JSONLines.Problem(line: line, message: message))
    }

    /// The non-empty string at `key`, or nil after recording why not.
    mutating func string(_ object: JSONObject, _ key: String, line: Int) -> String? {
        guard let value = object[key] else { problem(line, "missing \"\(key)\""); return nil }
        guard let s = value.stringValue else { problem(line, "\"\(key)\" must be a string, got \(value.typeName)"); return nil }
        if s.allSatisfy(\.isWhitespace) { problem(line, "\"\(key)\" is empty"); return nil }
        return s
    }

    /// The sentence of every language at `line`, or nil after recording each missing one.
    mutating func languages(_ object: JSONObject, line: Int) -> [String: String]? {
        var texts: [String: String] = [:]
        for lang in Refusals.languages {
            if let s = string(object, lang, line: line) { texts[lang] = s }
        }
        return texts.count == Refusals.languages.count ? texts : nil
    }

    /// Throws every problem recorded, if any, in line order (a line's own in the order found).
    func check(source: String) throws(JSONLines.ParseError) {
        guard !problems.isEmpty else { return }
        let ordered = problems.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
        throw JSONLines.ParseError(source: source, problems: ordered)
    }
}
