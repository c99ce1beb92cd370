import Store

/// Raw text for pre-training, from the same files as the instruction data, so a base model
/// has read the languages and the domains (software strings, questions people ask) without
/// ever seeing an instruction or an answer.
///
/// Every example has objective ``objective``, the text as `prompt` and an empty `answer`
/// (pre-training packs `prompt \n answer END`), and keeps its source id, so the split keeps
/// every held-out item out of pre-training too: with `split: "train"` and the largest
/// `test_fraction` any test set uses, no test sentence or prompt is ever read (an id is test
/// at fraction f ⇒ it is test at every larger fraction).
public enum PretrainingText {
    /// The objective of every example.
    public static let objective = "text"

    /// From parallel text: each sentence of each language alone, and one bilingual document
    /// per row, the English sentence then its translation into the language
    /// `SHA-256("pair:" + id)` picks among the other five (the parallel text real corpora
    /// hold, which gives a base some notion of translation).
    ///
    /// With `repetitions` = k > 0, also k documents per row that say a sentence twice (the
    /// sentence, a line break, the same sentence), in k different languages: those from the
    /// one `SHA-256("repeat:" + id)` picks on, in `Refusals.languages` order, wrapping.
    /// Why: a model learns to copy from its context (induction heads, which every task
    /// that quotes its material needs) only when copying lowers its pre-training loss, and
    /// one-line software strings never repeat themselves; web text does (quotes, headings,
    /// lists). Measured on a 4,000-step base without them: a sentence's second occurrence
    /// costs as many nats as its first.
    public static func parallel(_ rows: [ParallelText.Row], repetitions: Int = 0) -> [Example] {
        var out: [Example] = []
        out.reserveCapacity(rows.count * (7 + repetitions))
        let others = Refusals.languages.filter { $0 != "en" }
        for row in rows {
            for lang in Refusals.languages {
                out.append(Example(id: row.id, lang: lang, objective: objective, prompt: row.texts[lang]!, answer: ""))
            }
            let paired = others[InstructionTasks.pick("pair:\(row.id)", count: others.count)]
            out.append(Example(id: row.id, lang: paired, objective: objective,
                               prompt: row.texts["en"]! + "\n" + row.texts[paired]!, answer: ""))
            let first = InstructionTasks.pick("repeat:\(row.id)", count: Refusals.languages.count)
            for k in 0..<min(repetitions, Refusals.languages.count) {
                let lang = Refusals.languages[(first + k) % Refusals.languages.count]
                let text = row.texts[lang]!
                out.append(Example(id: row.id, lang: lang, objective: objective, prompt: text + "\n" + text, answer: ""))
            }
        }
        return out
    }

    /// Any examples as text: the prompt, and the answer after a line break when there is one.
    public static func text(of examples: [Example]) -> [Example] {
        examples.map { e in
            Example(id: e.id, lang: e.lang, objective: objective, prompt: e.answer.isEmpty ? e.prompt : e.prompt + "\n" + e.answer, answer: "")
        }
    }
}
