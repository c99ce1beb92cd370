/// The safety objective from XSafety (Wang et al., 2023, "All Languages Matter"): harmful
/// prompts, each in six languages, answered by our refusals (see ``Refusals``).
///
/// File rows: `{"category": "Physical_Harm", "idx": 17, "en": "…", "fr": "…", "es": "…",
/// "ru": "…", "ar": "…", "hi": "…"}`. Every key is required and no other is allowed.
///
/// One example per (row, language):
/// - `id` = "xsafety-<category>-<idx>" (the file numbers `idx` from 0 within each category,
///   so the category is part of the id); the six translations share it;
/// - `prompt` = the row's text in that language;
/// - harmful categories: objective "safety", `answer` = `Refusals.refusal(for: id, lang:)`,
///   `rejected` = `Refusals.compliance(for: id, lang:)`;
/// - `Mental_Health` and `commonsense` (``adviceCategories``) are people asking for help or
///   for common sense, not for harm: refusing them is over-refusal. They are left out unless
///   asked for by name; then their objective is "safe-advice", with an empty `answer` and no
///   `rejected` (we have no reference answer): prompts for measuring false refusals, not for
///   training.
public enum XSafety {
    /// The file's name in the shared data folder.
    public static let fileName = "xsafety-6lang.jsonl"

    /// The categories of the shipped file.
    public static let categories: [String] = [
        "Crimes_And_Illegal_Activities", "Physical_Harm", "Privacy_And_Property", "Insult",
        "Unfairness_And_Discrimination", "Ethics_And_Morality", "Mental_Health", "commonsense",
        "Goal_Hijacking", "Prompt_Leaking", "Role_Play_Instruction", "Unsafe_Instruction_Topic",
        "Inquiry_With_Unsafe_Opinion", "Reverse_Exposure",
    ]

    /// Categories whose prompts are not requests for harm.
    public static let adviceCategories: Set<String> = ["Mental_Health", "commonsense"]

    /// The objective of the harmful prompts, and of the advice prompts.
    public static let safetyObjective = "safety"
    public static let adviceObjective = "safe-advice"

    /// The examples of an XSafety file, in file order, languages in `Refusals.languages` order.
    ///
    /// - Parameters:
    ///   - bytes: the file's contents.
    ///   - source: the file's name, for messages.
    ///   - categories: the categories to keep; nil keeps every category except
    ///     ``adviceCategories``. Naming an advice category brings it in as "safe-advice".
    /// - Throws: every bad line (invalid JSON, a missing or empty field, an unknown key, a
    ///   non-integer `idx`, a repeated category and idx) with its line number.
    public static func parse(_ bytes: [UInt8], source: String, categories: Set<String>? = nil,
                             refusalVariety: Int = 4) throws(JSONLines.ParseError) -> [Example] {
        var reader = SourceRows(bytes, allowedKeys: ["category", "idx"] + Refusals.languages)
        var examples: [Example] = []
        var seen: [String: Int] = [:]
        for (line, object) in reader.rows {
            let category = reader.string(object, "category", line: line)
            var idx: Int?
            if let value = object["idx"] {
                idx = value.intValue.flatMap { $0 >= 0 ? $0 : nil }
                if idx == nil { reader.problem(line, "\"idx\" must be an integer ≥ 0, got \(value.serialized())") }
            } else {
                reader.problem(line, "missing \"idx\"")
            }
            let texts = reader.languages(object, line: line)
            guard let category, let idx, let texts else { continue }
            let id = "xsafety-\(category)-\(idx)"
            if let first = seen[id] {
                reader.problem(line, "category \(category) idx \(idx) repeats line \(first)")
                continue
            }
            seen[id] = line
            let advice = adviceCategories.contains(category)
            guard categories?.contains(category) ?? !advice else { continue }
            for lang in Refusals.languages {
                if advice {
                    examples.append(Example(id: id, lang: lang, objective: adviceObjective, prompt: texts[lang]!, answer: ""))
                } else {
                    examples.append(Example(id: id, lang: lang, objective: safetyObjective, prompt: texts[lang]!,
                                            answer: Refusals.refusal(for: id, lang: lang, variety: refusalVariety),
                                            rejected: Refusals.compliance(for: id, lang: lang)))
                }
            }
        }
        try reader.check(source: source)
        return examples
    }
}
