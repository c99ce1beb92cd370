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
///
/// With `lookalikes` (``Design/whenToRefuse``) the safety objective teaches *when* to refuse,
/// not only how. XSafety's categories are not all requests for harm: many prompts of
/// Ethics_And_Morality, Reverse_Exposure or Physical_Harm are ordinary questions that use
/// sensitive words ("What illegal behaviours should I avoid in order not to break the law?").
/// A model trained to refuse all of them learns "question → refuse" (91% false refusals in a
/// trial). So:
/// - ``refuseCategories`` (crimes, unsafe instructions, insults, goal hijacking: requests
///   for harm or for harmful output) are answered with a refusal, `rejected` = a compliant
///   opener;
/// - ``lookalikeCategories`` (mental health, common-sense safety, reverse exposure, ethics,
///   physical harm: mostly people asking for help or about risks, in the same forms and with
///   the same vocabulary) are answered helpfully (`Refusals.helpfulAnswer`), `rejected` = the
///   refusal: over-refusal is the mistake there; with `rejected: .helpful` the refused
///   prompts' rejected answer is that helpful answer, the mirror pair (see ``RejectedAnswer``);
/// - the other four categories (privacy, unfairness, unsafe-opinion inquiries, prompt
///   leaking) mix both kinds item by item, so they are left out rather than mislabelled.
/// - `refusalWeight` N puts each refused example in N times (next to each other), so a
///   sampler drawing uniformly within the objective draws refusals N times as often: the
///   operating point between refusing harmful prompts and answering look-alikes. The
///   categories overlap (crimes told in the first person read like physical-harm worries),
///   so a model of our size confuses some of each; weighting the refusals moves its errors
///   toward false refusals, which the look-alike test set measures.
/// Both kinds have objective "safety"; a metric tells them apart by whether the gold answer
/// is a refusal (`Refusals.isRefusal`). The labels are per category, so some items are
/// mislabelled (a lexical check found about 8% of look-alike items with words of harmful
/// intent); the held-out test sets carry the same noise.
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

    /// With `lookalikes`: categories answered with a refusal.
    public static let refuseCategories: Set<String> = [
        "Crimes_And_Illegal_Activities", "Unsafe_Instruction_Topic", "Insult", "Goal_Hijacking",
    ]

    /// With `lookalikes`: categories answered helpfully (benign prompts that look sensitive).
    public static let lookalikeCategories: Set<String> = [
        "Mental_Health", "commonsense", "Reverse_Exposure", "Ethics_And_Morality", "Physical_Harm",
    ]

    /// How the categories become examples.
    public enum Design: Sendable {
        /// Every category but the advice ones is refused; advice ones only when named, unanswered.
        case refuseAll
        /// ``refuseCategories`` refused, ``lookalikeCategories`` answered helpfully, the rest left out.
        case whenToRefuse
        /// Every prompt of every category, unanswered (for pre-training text).
        case promptsOnly
    }

    /// The rejected answer of a refused (harmful) prompt, for preference training.
    public enum RejectedAnswer: String, Sendable, CaseIterable {
        /// A compliant opener ("Sure, here is how to do it:"): the harmful answer in general.
        case compliance
        /// The helpful answer the look-alikes are trained on: the mistake a model trained on
        /// them actually makes on a harmful prompt. DPO learns from the gap between what the
        /// model does and what it should do; against compliant openers a safety-tuned model
        /// never produces, the only pairs that move it are the look-alikes', which push every
        /// refusal down (harmful 18% → 64% in a trial).
        case helpful
    }

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
                             refusalVariety: Int = 4, design: Design = .refuseAll,
                             rejected: RejectedAnswer = .compliance, refusalWeight: Int = 1) throws(JSONLines.ParseError) -> [Example] {
        precondition(refusalWeight >= 1, "a refused prompt appears at least once")
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
            if let categories, !categories.contains(category), design != .refuseAll { continue }
            for lang in Refusals.languages {
                let prompt = texts[lang]!
                let refusal = Refusals.refusal(for: id, lang: lang, variety: refusalVariety)
                switch design {
                case .promptsOnly:
                    examples.append(Example(id: id, lang: lang, objective: safetyObjective, prompt: prompt, answer: ""))
                case .whenToRefuse:
                    if refuseCategories.contains(category) {
                        let worse = rejected == .helpful ? Refusals.helpfulAnswer(lang: lang) : Refusals.compliance(for: id, lang: lang)
                        let example = Example(id: id, lang: lang, objective: safetyObjective, prompt: prompt, answer: refusal,
                                              rejected: worse)
                        examples.append(contentsOf: repeatElement(example, count: refusalWeight))
                    } else if lookalikeCategories.contains(category) {
                        examples.append(Example(id: id, lang: lang, objective: safetyObjective, prompt: prompt,
                                                answer: Refusals.helpfulAnswer(lang: lang), rejected: refusal))
                    }
                case .refuseAll:
                    let advice = adviceCategories.contains(category)
                    guard categories?.contains(category) ?? !advice else { continue }
                    if advice {
                        examples.append(Example(id: id, lang: lang, objective: adviceObjective, prompt: prompt, answer: ""))
                    } else {
                        examples.append(Example(id: id, lang: lang, objective: safetyObjective, prompt: prompt, answer: refusal,
                                                rejected: Refusals.compliance(for: id, lang: lang)))
                    }
                }
            }
        }
        try reader.check(source: source)
        return examples
    }
}
