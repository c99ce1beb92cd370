import JSON

/// The dataset file format: JSON Lines, one example per line.
///
///     {"id": "q17", "lang": "fr", "objective": "safety", "prompt": "…", "answer": "…", "rejected": "…"}
///
/// `lang`, `objective`, `prompt` and `answer` are required strings; `id` (default: the line
/// number) and `rejected` are optional; a `meta` object is allowed and ignored. Blank lines
/// are skipped. Any other key is an error, so a misspelt field is not silently dropped.
public enum JSONLines {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let source: String
        public let problems: [Problem]
        public var description: String {
            let shown = problems.prefix(20).map { "  \($0)" }.joined(separator: "\n")
            let more = problems.count > 20 ? "\n  … and \(problems.count - 20) more" : ""
            return "\(source): \(problems.count) bad line\(problems.count == 1 ? "" : "s")\n\(shown)\(more)"
        }
    }

    static let allowedKeys: Set<String> = ["id", "lang", "objective", "prompt", "answer", "rejected", "meta"]

    /// Parses every line, collecting every problem before failing.
    public static func parse(_ bytes: [UInt8], source: String) throws(ParseError) -> [Example] {
        var reader = SourceRows(bytes, allowedKeys: allowedKeys.sorted())
        var examples: [Example] = []
        for (line, object) in reader.rows {
            var good = true
            func string(_ key: String, required: Bool, mayBeEmpty: Bool = false) -> String? {
                guard let v = object[key] else {
                    if required { reader.problem(line, "missing \"\(key)\""); good = false }
                    return nil
                }
                guard let s = v.stringValue else {
                    reader.problem(line, "\"\(key)\" must be a string, got \(v.typeName)")
                    good = false
                    return nil
                }
                if required && !mayBeEmpty && s.isEmpty { reader.problem(line, "\"\(key)\" is empty"); good = false }
                return s
            }
            let id = string("id", required: false), lang = string("lang", required: true)
            let objective = string("objective", required: true), prompt = string("prompt", required: true)
            let answer = string("answer", required: true, mayBeEmpty: true), rejected = string("rejected", required: false)
            if let meta = object["meta"], meta.objectValue == nil { reader.problem(line, "\"meta\" must be an object"); good = false }
            if good, let lang, let objective, let prompt, let answer {
                examples.append(Example(id: id ?? "line-\(line)", lang: lang, objective: objective,
                                        prompt: prompt, answer: answer, rejected: rejected))
            }
        }
        try reader.check(source: source)
        return examples
    }

    /// One line per example, keys in a fixed order: the same examples give the same bytes.
    public static func encode(_ examples: [Example]) -> [UInt8] {
        var out: [UInt8] = []
        for e in examples {
            var members: [(String, JSONValue)] = [("id", .string(e.id)), ("lang", .string(e.lang)),
                                                  ("objective", .string(e.objective)), ("prompt", .string(e.prompt)),
                                                  ("answer", .string(e.answer))]
            if let r = e.rejected { members.append(("rejected", .string(r))) }
            out += Array(JSONValue.object(JSONObject(members)).serialized(pretty: false, sortedKeys: false).utf8)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }
}
