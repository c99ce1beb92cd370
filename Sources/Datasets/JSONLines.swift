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
        var examples: [Example] = []
        var problems: [Problem] = []
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            let value: JSONValue
            do { value = try JSONValue.parse(Array(line)) } catch {
                problems.append(Problem(line: lineNumber, message: "invalid JSON: \(error)"))
                continue
            }
            guard let object = value.objectValue else {
                problems.append(Problem(line: lineNumber, message: "expected an object, got \(value.typeName)"))
                continue
            }
            var lineProblems: [String] = []
            for key in object.keys where !allowedKeys.contains(key) {
                lineProblems.append("unknown key \"\(key)\" (allowed: \(allowedKeys.sorted().joined(separator: ", ")))")
            }
            func string(_ key: String, required: Bool) -> String? {
                guard let v = object[key] else {
                    if required { lineProblems.append("missing \"\(key)\"") }
                    return nil
                }
                guard let s = v.stringValue else {
                    lineProblems.append("\"\(key)\" must be a string, got \(v.typeName)")
                    return nil
                }
                if required && key != "answer" && s.isEmpty { lineProblems.append("\"\(key)\" is empty") }
                return s
            }
            let id = string("id", required: false), lang = string("lang", required: true)
            let objective = string("objective", required: true), prompt = string("prompt", required: true)
            let answer = string("answer", required: true), rejected = string("rejected", required: false)
            if let meta = object["meta"], meta.objectValue == nil { lineProblems.append("\"meta\" must be an object") }
            if lineProblems.isEmpty, let lang, let objective, let prompt, let answer {
                examples.append(Example(id: id ?? "line-\(lineNumber)", lang: lang, objective: objective,
                                        prompt: prompt, answer: answer, rejected: rejected))
            } else {
                problems += lineProblems.map { Problem(line: lineNumber, message: $0) }
            }
        }
        if !problems.isEmpty { throw ParseError(source: source, problems: problems) }
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
