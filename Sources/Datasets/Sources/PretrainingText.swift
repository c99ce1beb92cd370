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
    public static func parallel(_ rows: [ParallelText.Row]) -> [Example] {
        var out: [Example] = []
        out.reserveCapacity(rows.count * 7)
        let others = Refusals.languages.filter { $0 != "en" }
        for row in rows {
            for lang in Refusals.languages {
                out.append(Example(id: row.id, lang: lang, objective: objective, prompt: row.texts[lang]!, answer: ""))
            }
            let paired = others[InstructionTasks.pick("pair:\(row.id)", count: others.count)]
            out.append(Example(id: row.id, lang: paired, objective: objective,
                               prompt: row.texts["en"]! + "\n" + row.texts[paired]!, answer: ""))
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
