import Store

/// The general objective as instruction following over real text: tasks of graded
/// difficulty on the sentences of the parallel-text file (gettext catalogs), every
/// instruction written in the language of the answer, half of them as questions.
///
/// Why not translation alone: a model of a few million parameters trained for minutes
/// translates software strings badly (chrF ≈ 7), so every variant sits near the floor and
/// mixing or merging cannot move it. The paper's general objective is open-ended instruction
/// following judged by GPT-4; what we keep of it is that the answer depends on an
/// instruction in the user's language, the material is real text in six scripts, answers can
/// be checked against a reference, and difficulty is graded:
///
/// | task | the answer | difficulty |
/// |---|---|---|
/// | `language` | the name (in the prompt's language) of the language the text is in | recognising six languages |
/// | `complete` | the rest of a text whose first half is shown | continuing in the text's language and domain |
/// | `translate` | the text translated (from English; into English from French) | mapping words across languages, hard |
/// | `program` | the kind of program the text comes from (accounting, email, …; `ProgramKinds`) | classifying a text's topic by its words |
/// | `repeat` | the text itself | copying through the context |
/// | `first_words` | its first three words | copying, segmenting words in any script |
/// | `last_word` | its last word, without punctuation | copying, finding the end |
///
/// The first three are the default (``standard``). The copying tasks are there for larger
/// models: copying from the context needs induction heads, and a 4-layer, 128-channel base
/// trained for minutes has none (a sentence said twice costs as many nats the second time as
/// the first, even with pre-training documents that repeat sentences), so their scores sit at
/// the floor (chrF 5–10) whatever the fine-tuning. `complete` asks for what a language model
/// does, in a format it has to learn: the answer is not in the prompt.
///
/// The prompt forms matter for safety: when every general prompt is an imperative and every
/// safety prompt a question, a small model learns "question → refuse". Here each task has an
/// imperative and a question form, picked per example.
///
/// One example per (row, language L), objective "general":
/// - the task is `SHA-256("task:" + id + ":" + L)` (first 8 bytes) modulo the number of
///   tasks asked for, indexing the tasks in the order given; the form
///   `SHA-256("form:" + id + ":" + L)` modulo 2: the six languages of a row get different
///   tasks, and the choice does not depend on file order;
/// - `prompt` = the instruction in L, a line break, the material; `answer` as in the table;
///   for `complete`, the material is the text up to the end of its ⌊n/2⌋-th
///   whitespace-separated piece (n pieces) and the answer the rest;
/// - `rejected` (for preference training) is the answer a model that ignores the instruction
///   gives: the material itself (for `translate`, `first_words`, `last_word`, `complete`; nil
///   when equal to the answer), the name of L for `language`, nil for `repeat`;
/// - `id` = the row's id (`ParallelText.id`), so the split keeps every language of a test
///   sentence out of training.
/// A text too short for its task (fewer than four words for `first_words` and `last_word`,
/// fewer than two pieces for `complete`, a catalog `ProgramKinds` does not map for `program`)
/// gets the next task asked for that fits it (`language` and `translate` fit every text;
/// `repeat` too).
public enum InstructionTasks {
    public enum Task: String, Sendable, CaseIterable {
        case `repeat` = "repeat", firstWords = "first_words", lastWord = "last_word", language = "language", translate = "translate"
        case complete = "complete", program = "program"
    }

    /// The tasks a dataset has when none are named: those a small model can learn.
    public static let standard: [Task] = [.language, .complete, .translate]

    /// The objective of every example.
    public static let objective = "general"

    /// Per language: for each task (in `Task.allCases` order), the imperative and the question.
    static let instructions: [String: [[String]]] = [
        "en": [
            ["Repeat this text exactly:", "Can you repeat this text exactly?"],
            ["Write the first three words of this text:", "What are the first three words of this text?"],
            ["Write the last word of this text:", "What is the last word of this text?"],
            ["Name the language of this text:", "Which language is this text written in?"],
            ["Translate into English:", "How do you say this in English?"],
            ["Complete this text:", "How does this text continue?"],
            ["Name the kind of program this text comes from:", "Which kind of program is this text from?"],
        ],
        "fr": [
            ["Répète ce texte exactement :", "Peux-tu répéter ce texte exactement ?"],
            ["Écris les trois premiers mots de ce texte :", "Quels sont les trois premiers mots de ce texte ?"],
            ["Écris le dernier mot de ce texte :", "Quel est le dernier mot de ce texte ?"],
            ["Nomme la langue de ce texte :", "En quelle langue ce texte est-il écrit ?"],
            ["Traduis en français :", "Comment dit-on cela en français ?"],
            ["Complète ce texte :", "Comment ce texte continue-t-il ?"],
            ["Nomme le type de logiciel d'où vient ce texte :", "De quel type de logiciel vient ce texte ?"],
        ],
        "es": [
            ["Repite este texto exactamente:", "¿Puedes repetir este texto exactamente?"],
            ["Escribe las tres primeras palabras de este texto:", "¿Cuáles son las tres primeras palabras de este texto?"],
            ["Escribe la última palabra de este texto:", "¿Cuál es la última palabra de este texto?"],
            ["Nombra el idioma de este texto:", "¿En qué idioma está escrito este texto?"],
            ["Traduce al español:", "¿Cómo se dice esto en español?"],
            ["Completa este texto:", "¿Cómo continúa este texto?"],
            ["Nombra el tipo de programa del que viene este texto:", "¿De qué tipo de programa viene este texto?"],
        ],
        "ru": [
            ["Повтори этот текст в точности:", "Можешь повторить этот текст в точности?"],
            ["Напиши первые три слова этого текста:", "Какие первые три слова этого текста?"],
            ["Напиши последнее слово этого текста:", "Какое последнее слово этого текста?"],
            ["Назови язык этого текста:", "На каком языке написан этот текст?"],
            ["Переведи на русский:", "Как это сказать по-русски?"],
            ["Допиши этот текст:", "Как продолжается этот текст?"],
            ["Назови тип программы, из которой взят этот текст:", "Из программы какого типа взят этот текст?"],
        ],
        "ar": [
            ["كرر هذا النص حرفيًا:", "هل يمكنك تكرار هذا النص حرفيًا؟"],
            ["اكتب الكلمات الثلاث الأولى من هذا النص:", "ما هي الكلمات الثلاث الأولى من هذا النص؟"],
            ["اكتب الكلمة الأخيرة من هذا النص:", "ما هي الكلمة الأخيرة من هذا النص؟"],
            ["اذكر لغة هذا النص:", "بأي لغة كُتب هذا النص؟"],
            ["ترجم إلى العربية:", "كيف تقول هذا بالعربية؟"],
            ["أكمل هذا النص:", "كيف يستمر هذا النص؟"],
            ["اذكر نوع البرنامج الذي أُخذ منه هذا النص:", "من أي نوع من البرامج أُخذ هذا النص؟"],
        ],
        "hi": [
            ["इस पाठ को ठीक वैसे ही दोहराएँ:", "क्या आप इस पाठ को ठीक वैसे ही दोहरा सकते हैं?"],
            ["इस पाठ के पहले तीन शब्द लिखें:", "इस पाठ के पहले तीन शब्द कौन से हैं?"],
            ["इस पाठ का अंतिम शब्द लिखें:", "इस पाठ का अंतिम शब्द क्या है?"],
            ["इस पाठ की भाषा बताएँ:", "यह पाठ किस भाषा में लिखा है?"],
            ["इसे हिंदी में अनुवाद करें:", "इसे हिंदी में कैसे कहेंगे?"],
            ["इस पाठ को पूरा करें:", "यह पाठ आगे कैसे चलता है?"],
            ["बताएँ कि यह पाठ किस प्रकार के प्रोग्राम से लिया गया है:", "यह पाठ किस प्रकार के प्रोग्राम से लिया गया है?"],
        ],
    ]

    /// Per language: the names of the six languages (in `Refusals.languages` order), written in it.
    static let languageNames: [String: [String]] = [
        "en": ["English", "French", "Spanish", "Russian", "Arabic", "Hindi"],
        "fr": ["anglais", "français", "espagnol", "russe", "arabe", "hindi"],
        "es": ["inglés", "francés", "español", "ruso", "árabe", "hindi"],
        "ru": ["английский", "французский", "испанский", "русский", "арабский", "хинди"],
        "ar": ["الإنجليزية", "الفرنسية", "الإسبانية", "الروسية", "العربية", "الهندية"],
        "hi": ["अंग्रेज़ी", "फ़्रेंच", "स्पेनिश", "रूसी", "अरबी", "हिंदी"],
    ]

    /// The name of language `named`, written in `lang`.
    public static func name(of named: String, in lang: String) -> String {
        languageNames[lang]![Refusals.languages.firstIndex(of: named)!]
    }

    /// The task a general prompt asks for, read from its first line (nil for a prompt that is
    /// not one of ours).
    public static func task(ofPrompt prompt: String) -> Task? {
        let first = String(prompt.prefix { $0 != "\n" })
        return taskByInstruction[first]
    }

    private static let taskByInstruction: [String: Task] = {
        var out: [String: Task] = [:]
        for (_, tasks) in instructions {
            for (t, forms) in tasks.enumerated() { for form in forms { out[form] = Task.allCases[t] } }
        }
        return out
    }()

    /// The words of a text: its whitespace-separated pieces with leading and trailing
    /// punctuation removed (so "file." and "«file»" are "file"), empty pieces dropped.
    public static func words(_ text: String) -> [Substring] {
        text.split(whereSeparator: \.isWhitespace).compactMap { piece in
            var word = piece[...]
            while let c = word.first, c.isPunctuation || c.isSymbol { word = word.dropFirst() }
            while let c = word.last, c.isPunctuation || c.isSymbol { word = word.dropLast() }
            return word.isEmpty ? nil : word
        }
    }

    /// Whether `task` can be asked of a text with `words` words and `pieces` whitespace-separated
    /// pieces, from a catalog whose program kind is known or not.
    static func fits(_ task: Task, words: Int, pieces: Int, knownProgram: Bool) -> Bool {
        switch task {
        case .firstWords, .lastWord: return words >= 4
        case .complete: return pieces >= 2
        case .program: return knownProgram
        case .repeat, .language, .translate: return true
        }
    }

    /// The example of `row` in `lang`, its task one of `tasks` (not empty).
    public static func example(_ row: ParallelText.Row, lang: String, tasks: [Task] = standard) -> Example {
        precondition(!tasks.isEmpty, "at least one task")
        let text = row.texts[lang]!
        let form = pick("form:\(row.id):\(lang)", count: 2)
        let words = words(text)
        let pieces = text.split(whereSeparator: \.isWhitespace)
        let first = pick("task:\(row.id):\(lang)", count: tasks.count)
        var task = tasks[first]
        let kind = row.domain.flatMap(ProgramKinds.kind(ofDomain:))
        let fitsText = { fits($0, words: words.count, pieces: pieces.count, knownProgram: kind != nil) }
        if !fitsText(task) {
            // The next task asked for that fits; one that fits every text when none does.
            let fitting = (1..<tasks.count).lazy.map { tasks[(first + $0) % tasks.count] }
                .first(where: fitsText)
            task = fitting ?? (tasks.contains(.translate) ? .translate : .language)
        }
        let instruction = instructions[lang]![Task.allCases.firstIndex(of: task)!][form]
        let material: String, answer: String, rejected: String?
        switch task {
        case .repeat:
            material = text; answer = text; rejected = nil
        case .firstWords:
            material = text; answer = words.prefix(3).joined(separator: " "); rejected = text
        case .lastWord:
            material = text; answer = String(words.last!); rejected = text
        case .language:
            let others = Refusals.languages.filter { $0 != lang }
            let shown = others[pick("shown:\(row.id):\(lang)", count: others.count)]
            material = row.texts[shown]!; answer = name(of: shown, in: lang); rejected = name(of: lang, in: lang)
        case .translate:
            material = lang == "en" ? row.texts["fr"]! : row.texts["en"]!; answer = text
            rejected = material == answer ? nil : material
        case .complete:
            // Cut after the ⌊n/2⌋-th piece, keeping the text's own characters on each side.
            let cut = pieces[pieces.count / 2 - 1].endIndex
            material = String(text[..<cut])
            answer = String(text[cut...].drop { $0.isWhitespace })
            rejected = material
        case .program:
            material = text; answer = ProgramKinds.name(of: kind!, in: lang); rejected = text
        }
        return Example(id: row.id, lang: lang, objective: objective, prompt: instruction + "\n" + material,
                       answer: answer, rejected: rejected)
    }

    /// The examples of a parallel-text file, in file order, languages in `Refusals.languages` order.
    /// - Throws: every bad line of the file, as `ParallelText.rows` does.
    public static func parse(_ bytes: [UInt8], source: String, tasks: [Task] = standard) throws(JSONLines.ParseError) -> [Example] {
        try ParallelText.rows(bytes, source: source).flatMap { row in Refusals.languages.map { example(row, lang: $0, tasks: tasks) } }
    }

    /// `SHA-256(key)`, first 8 bytes big-endian, modulo `count`.
    static func pick(_ key: String, count: Int) -> Int {
        Int(SHA256.hash(key).leadingWord % UInt64(count))
    }
}
