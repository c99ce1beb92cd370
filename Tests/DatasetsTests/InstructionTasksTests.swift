@testable import Datasets
import XCTest

final class InstructionTasksTests: XCTestCase {
    /// A row whose six sentences are real-looking and long enough for every task.
    static let row = ParallelText.Row(id: "parallel-test", texts: [
        "en": "Open the selected file, please.", "fr": "Ouvre le fichier sélectionné, s'il te plaît.",
        "es": "Abre el archivo seleccionado, por favor.", "ru": "Откройте выбранный файл, пожалуйста.",
        "ar": "افتح الملف المحدد من فضلك.", "hi": "कृपया चयनित फ़ाइल खोलें।",
    ])

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
            let e = InstructionTasks.example(Self.row, lang: lang)
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
            }
        }
    }

    func testTasksAndFormsAreSpreadEvenlyAndDeterministically() throws {
        let lines = (0..<400).map { SourceFixtures.parallelRow("Sentence number \($0) has five words") }
        let examples = try InstructionTasks.parse(SourceFixtures.bytes(lines), source: "p.jsonl")
        XCTAssertEqual(examples.count, 400 * 6)
        XCTAssertEqual(examples, try InstructionTasks.parse(SourceFixtures.bytes(lines), source: "p.jsonl"))
        var counts: [InstructionTasks.Task: Int] = [:], questions = 0
        for e in examples {
            counts[InstructionTasks.task(ofPrompt: e.prompt)!, default: 0] += 1
            let instruction = String(e.prompt.prefix { $0 != "\n" })
            if instruction.hasSuffix("?") || instruction.hasSuffix("؟") { questions += 1 }
        }
        for task in InstructionTasks.Task.allCases {
            XCTAssertEqual(Double(counts[task] ?? 0), 480, accuracy: 80, "\(task): about a fifth of 2,400")
        }
        XCTAssertEqual(Double(questions), 1200, accuracy: 120, "about half are questions")
    }

    func testShortTextsAreRepeatedRatherThanCutIntoWords() throws {
        let lines = (0..<60).map { SourceFixtures.parallelRow("Two words\($0)") }
        for e in try InstructionTasks.parse(SourceFixtures.bytes(lines), source: "p") {
            let task = InstructionTasks.task(ofPrompt: e.prompt)!
            XCTAssertTrue(task != .firstWords && task != .lastWord, "a 2-word text got \(task)")
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
