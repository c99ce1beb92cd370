@testable import Datasets
import XCTest

final class InstructionTasksTests: XCTestCase {
    /// A row whose six sentences are real-looking and long enough for every task.
    static let row = ParallelText.Row(id: "parallel-test", texts: [
        "en": "Open the selected file, please.", "fr": "Ouvre le fichier sélectionné, s'il te plaît.",
        "es": "Abre el archivo seleccionado, por favor.", "ru": "Откройте выбранный файл, пожалуйста.",
        "ar": "افتح الملف المحدد من فضلك.", "hi": "कृपया चयनित फ़ाइल खोलें।",
    ], domain: "caja")

    func testEveryLanguageHasTwoDistinctFormsOfEveryTaskAndHalfAreQuestions() {
        var all: Set<String> = []
        for lang in Refusals.languages {
            let tasks = InstructionTasks.instructions[lang]!
            XCTAssertEqual(tasks.count, InstructionTasks.Task.allCases.count, lang)
            for (t, forms) in tasks.enumerated() {
                XCTAssertEqual(forms.count, 2, "\(lang) task \(t)")
                XCTAssertTrue(forms[1].hasSuffix("?") || forms[1].hasSuffix("؟"), "\(lang): the second form is a question: \(forms[1])")
                XCTAssertFalse(forms[0].hasSuffix("?"), "\(lang): the first form is an imperative: \(forms[0])")
                for form in forms {
                    XCTAssertTrue(all.insert(form).inserted, "instruction used twice: \(form)")
                    XCTAssertEqual(InstructionTasks.task(ofPrompt: form + "\nsome text"), InstructionTasks.Task.allCases[t])
                }
            }
            XCTAssertEqual(Set(InstructionTasks.languageNames[lang]!).count, 6, "\(lang): six distinct language names")
        }
        XCTAssertNil(InstructionTasks.task(ofPrompt: "Translate into German:\nHallo"))
    }

    func testWordsDropPunctuationInEveryScript() {
        XCTAssertEqual(InstructionTasks.words("«Open» the file... now!"), ["Open", "the", "file", "now"])
        XCTAssertEqual(InstructionTasks.words("कृपया चयनित फ़ाइल खोलें।"), ["कृपया", "चयनित", "फ़ाइल", "खोलें"])
        XCTAssertEqual(InstructionTasks.words("هل تريد الحفظ؟"), ["هل", "تريد", "الحفظ"])
        XCTAssertEqual(InstructionTasks.words("a — b"), ["a", "b"], "a lone dash is not a word")
    }

    func testEachTaskHasTheAnswerItsInstructionAsksFor() {
        for lang in Refusals.languages {
          for task in InstructionTasks.Task.allCases {
            let e = InstructionTasks.example(Self.row, lang: lang, tasks: [task])
            XCTAssertEqual(InstructionTasks.task(ofPrompt: e.prompt), task, "\(lang): the only task asked for")
            XCTAssertEqual(e.id, "parallel-test")
            XCTAssertEqual(e.objective, "general")
            let lines = e.prompt.split(separator: "\n", maxSplits: 1).map(String.init)
            XCTAssertEqual(lines.count, 2)
            let material = lines[1], text = Self.row.texts[lang]!
            switch InstructionTasks.task(ofPrompt: e.prompt)! {
            case .repeat:
                XCTAssertEqual(material, text); XCTAssertEqual(e.answer, text); XCTAssertNil(e.rejected)
            case .firstWords:
                XCTAssertEqual(material, text)
                XCTAssertEqual(e.answer, InstructionTasks.words(text).prefix(3).joined(separator: " "))
            case .lastWord:
                XCTAssertEqual(material, text)
                XCTAssertEqual(e.answer, String(InstructionTasks.words(text).last!))
                XCTAssertFalse(e.answer.last!.isPunctuation)
            case .language:
                let shown = Refusals.languages.first { Self.row.texts[$0] == material }!
                XCTAssertNotEqual(shown, lang, "the text shown is in another language")
                XCTAssertEqual(e.answer, InstructionTasks.name(of: shown, in: lang))
                XCTAssertEqual(e.rejected, InstructionTasks.name(of: lang, in: lang))
            case .translate:
                XCTAssertEqual(material, Self.row.texts[lang == "en" ? "fr" : "en"]!)
                XCTAssertEqual(e.answer, text)
                XCTAssertEqual(e.rejected, material)
            case .complete:
                // The first half of the pieces shown, the rest asked for, nothing lost or added.
                XCTAssertEqual(material + " " + e.answer, text)
                let pieces = text.split(separator: " ").count
                XCTAssertEqual(material.split(separator: " ").count, pieces / 2, lang)
                XCTAssertEqual(e.rejected, material)
            case .program:
                XCTAssertEqual(material, text)
                XCTAssertEqual(e.answer, ProgramKinds.name(of: .fileManager, in: lang), "caja is a file manager")
                XCTAssertEqual(e.rejected, text)
            }
          }
        }
    }

    func testProgramIsAskedOnlyOfRowsFromAMappedCatalogAndNamesItsKindInTheAnswersLanguage() throws {
        let lines = (0..<120).map { SourceFixtures.parallelRow("Sentence number \($0) has five words", domain: $0 % 2 == 0 ? "gnucash" : "gtk20") }
        let examples = try InstructionTasks.parse(SourceFixtures.bytes(lines), source: "p", tasks: [.program, .translate])
        let programs = examples.filter { InstructionTasks.task(ofPrompt: $0.prompt) == .program }
        XCTAssertGreaterThan(programs.count, 60, "about half of the gnucash rows' 360 examples")
        for e in programs {
            XCTAssertEqual(e.answer, ProgramKinds.name(of: .accounting, in: e.lang))
            XCTAssertTrue(e.prompt.contains("Sentence number"), "the material is the text itself")
        }
        // gtk20 (a toolkit, not a kind of program) falls back to the next task; with `program`
        // alone, to `translate`'s fallback `language`.
        let gtk = ParallelText.Row(id: "gtk", texts: InstructionTasksTests.row.texts, domain: "gtk20")
        let none = ParallelText.Row(id: "none", texts: InstructionTasksTests.row.texts)
        for lang in Refusals.languages {
            XCTAssertEqual(InstructionTasks.task(ofPrompt: InstructionTasks.example(gtk, lang: lang, tasks: [.program, .translate]).prompt), .translate)
            XCTAssertEqual(InstructionTasks.task(ofPrompt: InstructionTasks.example(none, lang: lang, tasks: [.program]).prompt), .language)
        }
        XCTAssertEqual(try ParallelText.rows(SourceFixtures.bytes([SourceFixtures.parallelRow("Some text here", domain: "vlc")]), source: "p")[0].domain, "vlc")
    }

    func testEveryProgramKindHasDistinctNamesInEveryLanguage() {
        for lang in Refusals.languages {
            let names = ProgramKinds.Kind.allCases.map { ProgramKinds.name(of: $0, in: lang) }
            XCTAssertEqual(Set(names).count, ProgramKinds.Kind.allCases.count, lang)
        }
        XCTAssertEqual(Set(ProgramKinds.kindByDomain.values), Set(ProgramKinds.Kind.allCases), "every kind has a catalog")
    }

    func testCompleteCutsAtWhitespaceOfAnyKindAndKeepsTheTextsCharacters() {
        let row = ParallelText.Row(id: "cut", texts: Dictionary(uniqueKeysWithValues: Refusals.languages.map {
            ($0, "Un  deux\ttrois quatre, cinq.")
        }))
        let e = InstructionTasks.example(row, lang: "fr", tasks: [.complete])
        XCTAssertEqual(e.prompt, "Complète ce texte :\nUn  deux")
        XCTAssertEqual(e.answer, "trois quatre, cinq.")
    }

    func testTasksAndFormsAreSpreadEvenlyAndDeterministically() throws {
        let lines = (0..<400).map { SourceFixtures.parallelRow("Sentence number \($0) has five words", domain: "gnucash") }
        let standard = try InstructionTasks.parse(SourceFixtures.bytes(lines), source: "p.jsonl")
        XCTAssertEqual(Set(standard.map { InstructionTasks.task(ofPrompt: $0.prompt)! }), Set(InstructionTasks.standard))
        for task in InstructionTasks.standard {
            XCTAssertEqual(Double(standard.filter { InstructionTasks.task(ofPrompt: $0.prompt) == task }.count), 800, accuracy: 100,
                           "\(task): about a third of 2,400")
        }
        let all = InstructionTasks.Task.allCases
        let examples = try InstructionTasks.parse(SourceFixtures.bytes(lines), source: "p.jsonl", tasks: all)
        XCTAssertEqual(examples.count, 400 * 6)
        XCTAssertEqual(examples, try InstructionTasks.parse(SourceFixtures.bytes(lines), source: "p.jsonl", tasks: all))
        var counts: [InstructionTasks.Task: Int] = [:], questions = 0
        for e in examples {
            counts[InstructionTasks.task(ofPrompt: e.prompt)!, default: 0] += 1
            let instruction = String(e.prompt.prefix { $0 != "\n" })
            if instruction.hasSuffix("?") || instruction.hasSuffix("؟") { questions += 1 }
        }
        for task in InstructionTasks.Task.allCases {
            XCTAssertEqual(Double(counts[task] ?? 0), 2400 / 7, accuracy: 70, "\(task): about a seventh of 2,400")
        }
        XCTAssertEqual(Double(questions), 1200, accuracy: 120, "about half are questions")
    }

    func testShortTextsGetTheNextTaskThatFitsThem() throws {
        let lines = (0..<60).map { SourceFixtures.parallelRow("Two words\($0)") }
        var seen = Set<InstructionTasks.Task>()
        for e in try InstructionTasks.parse(SourceFixtures.bytes(lines), source: "p", tasks: InstructionTasks.Task.allCases) {
            let task = InstructionTasks.task(ofPrompt: e.prompt)!
            XCTAssertTrue(task != .firstWords && task != .lastWord, "a 2-word text got \(task)")
            seen.insert(task)
        }
        XCTAssertEqual(seen, [.repeat, .language, .translate, .complete])
        // One piece cannot be cut in two: `complete` alone falls back to `language`.
        let one = ParallelText.Row(id: "one", texts: Dictionary(uniqueKeysWithValues: Refusals.languages.map { ($0, "Word") }))
        for lang in Refusals.languages {
            XCTAssertEqual(InstructionTasks.task(ofPrompt: InstructionTasks.example(one, lang: lang, tasks: [.complete]).prompt), .language)
            XCTAssertEqual(InstructionTasks.task(ofPrompt: InstructionTasks.example(one, lang: lang, tasks: [.complete, .translate]).prompt), .translate)
        }
    }
}

final class PretrainingTextTests: XCTestCase {
    func testEverySentenceAloneAndOneBilingualPairPerRowWithTheRowsId() {
        let examples = PretrainingText.parallel([InstructionTasksTests.row])
        XCTAssertEqual(examples.count, 7)
        XCTAssertTrue(examples.allSatisfy { $0.id == "parallel-test" && $0.objective == "text" && $0.answer == "" })
        XCTAssertEqual(Array(examples.prefix(6).map(\.prompt)), Refusals.languages.map { InstructionTasksTests.row.texts[$0]! })
        let pair = examples[6]
        XCTAssertNotEqual(pair.lang, "en")
        XCTAssertEqual(pair.prompt, InstructionTasksTests.row.texts["en"]! + "\n" + InstructionTasksTests.row.texts[pair.lang]!)
    }

    func testRepetitionsSayASentenceTwiceInThatManyDifferentLanguages() {
        let row = InstructionTasksTests.row
        XCTAssertEqual(PretrainingText.parallel([row], repetitions: 0), PretrainingText.parallel([row]))
        let examples = PretrainingText.parallel([row], repetitions: 3)
        XCTAssertEqual(examples.count, 10)
        XCTAssertEqual(Array(examples.prefix(7)), PretrainingText.parallel([row]), "the documents without repetitions come first, unchanged")
        let repeats = examples.suffix(3)
        XCTAssertEqual(Set(repeats.map(\.lang)).count, 3)
        for e in repeats {
            XCTAssertEqual(e.prompt, row.texts[e.lang]! + "\n" + row.texts[e.lang]!)
            XCTAssertEqual(e.id, row.id, "the split keeps a test row's repetitions out of pre-training too")
        }
        // Asking for more languages than there are gives each language once.
        XCTAssertEqual(Set(PretrainingText.parallel([row], repetitions: 6).suffix(6).map(\.lang)), Set(Refusals.languages))
    }

    func testExamplesBecomeTheirTextAndXSafetyGivesEveryPromptUnanswered() throws {
        let text = PretrainingText.text(of: [Example(id: "a", lang: "en", objective: "general", prompt: "Q", answer: "A"),
                                             Example(id: "b", lang: "fr", objective: "safety", prompt: "P", answer: "")])
        XCTAssertEqual(text.map(\.prompt), ["Q\nA", "P"])
        XCTAssertTrue(text.allSatisfy { $0.answer == "" && $0.objective == "text" })
        let file = SourceFixtures.bytes([SourceFixtures.xsafetyRow("Mental_Health", 1), SourceFixtures.xsafetyRow("Insult", 2),
                                         SourceFixtures.xsafetyRow("Prompt_Leaking", 3)])
        let prompts = try XSafety.parse(file, source: "x", design: .promptsOnly)
        XCTAssertEqual(prompts.count, 18, "every category, advice and mixed ones included")
        XCTAssertTrue(prompts.allSatisfy { $0.answer == "" })
    }
}
