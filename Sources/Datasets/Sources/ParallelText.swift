import Store

/// The general objective from parallel sentences (the gettext catalogs of Debian packages):
/// "translate this" instructions whose answers can be checked against a reference.
///
/// File rows: `{"domain": "gnucash", "en": "…", "fr": "…", "es": "…", "ru": "…", "ar": "…",
/// "hi": "…"}`; the six sentences are required, `domain` is optional, no other key is allowed.
/// A trailing "\n" (gettext keeps the message's own line ends) is stripped from every sentence.
///
/// One example per (row, language L), objective "general":
/// - L ≠ en: `prompt` = ``instruction(for:)`` L, a line break, the English sentence;
///   `answer` = the sentence in L; `rejected` = the English sentence, untranslated;
/// - L = en: the same with the French sentence as the source;
/// - `rejected` is nil when the reference equals the source (names, commands left
///   untranslated): such a pair has no worse answer;
/// - `id` = "parallel-" + the first 16 hex digits of SHA-256 of the English sentence, so
///   the translations share it and a sentence is on one side of the split.
///
/// The file repeats some English sentences in rows of different packages, often with other
/// translations. The first row of each English sentence is kept and later ones are skipped,
/// so an (id, language) pair names one example and N ids are N items per language.
public enum ParallelText {
    /// The file's name in the shared data folder.
    public static let fileName = "gettext-parallel-6lang.jsonl"

    /// The objective of every example.
    public static let objective = "general"

    /// "Translate into <L>:", written in L.
    static let instructions: [String: String] = [
        "en": "Translate into English:",
        "fr": "Traduis en français :",
        "es": "Traduce al español:",
        "ru": "Переведи на русский:",
        "ar": "ترجم إلى العربية:",
        "hi": "हिंदी में अनुवाद करें:",
    ]

    /// The instruction asking for a translation into `lang`, written in `lang`.
    /// - Precondition: `lang` is one of `Refusals.languages`.
    public static func instruction(for lang: String) -> String {
        guard let text = instructions[lang] else { preconditionFailure("no instruction for language \"\(lang)\"") }
        return text
    }

    /// "parallel-" + the first 16 hex digits of SHA-256(`english`).
    public static func id(english: String) -> String {
        "parallel-" + SHA256.hash(english).hex.prefix(16)
    }

    /// One row of the file: the id of its English sentence, its six sentences, and the
    /// gettext catalog (text domain) it came from, when the file names it.
    public struct Row: Sendable {
        public let id: String
        public let texts: [String: String]
        public var domain: String? = nil
    }

    /// The rows of a parallel-text file, in file order, each English sentence once (its
    /// first row), sentences stripped of trailing line breaks.
    /// - Throws: every bad line (invalid JSON, a missing or empty sentence, an unknown key)
    ///   with its line number.
    public static func rows(_ bytes: [UInt8], source: String) throws(JSONLines.ParseError) -> [Row] {
        var reader = SourceRows(bytes, allowedKeys: ["domain"] + Refusals.languages)
        var rows: [Row] = []
        var seen: Set<String> = []
        for (line, object) in reader.rows {
            let domain = object["domain"]
            if let domain, domain.stringValue == nil {
                reader.problem(line, "\"domain\" must be a string, got \(domain.typeName)")
            }
            guard var texts = reader.languages(object, line: line) else { continue }
            for (lang, text) in texts { texts[lang] = stripTrailingNewlines(text) }
            let id = id(english: texts["en"]!)
            guard seen.insert(id).inserted else { continue }
            rows.append(Row(id: id, texts: texts, domain: domain?.stringValue))
        }
        try reader.check(source: source)
        return rows
    }

    /// The examples of a parallel-text file, in file order, languages in `Refusals.languages` order.
    /// - Throws: every bad line (invalid JSON, a missing or empty sentence, an unknown key)
    ///   with its line number.
    public static func parse(_ bytes: [UInt8], source: String) throws(JSONLines.ParseError) -> [Example] {
        var examples: [Example] = []
        for row in try rows(bytes, source: source) {
            let english = row.texts["en"]!
            for lang in Refusals.languages {
                let source = lang == "en" ? row.texts["fr"]! : english
                let answer = row.texts[lang]!
                examples.append(Example(id: row.id, lang: lang, objective: objective,
                                        prompt: instruction(for: lang) + "\n" + source, answer: answer,
                                        rejected: answer == source ? nil : source))
            }
        }
        return examples
    }

    static func stripTrailingNewlines(_ text: String) -> String {
        var s = Substring(text)
        while s.last == "\n" { s = s.dropLast() }
        return String(s)
    }
}
