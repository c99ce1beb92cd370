@testable import Datasets
import Store
import XCTest

final class ParallelTextTests: XCTestCase {
    func testTranslationInstructionsWithTheSourceAsTheRejectedAnswer() throws {
        let file = SourceFixtures.bytes([SourceFixtures.parallelRow("Open the file\\n", translations: [
            "fr": "Ouvrir le fichier\\n", "hi": "फ़ाइल खोलें\\n"])])
        let examples = try ParallelText.parse(file, source: "p.jsonl")
        XCTAssertEqual(examples.map(\.lang), Refusals.languages)
        let id = "parallel-" + SHA256.hash("Open the file").hex.prefix(16)
        for e in examples {
            XCTAssertEqual(e.id, id, "the id hashes the English text without its line end")
            XCTAssertEqual(e.objective, "general")
            XCTAssertTrue(e.prompt.hasPrefix(ParallelText.instruction(for: e.lang) + "\n"), e.prompt)
        }
        let byLang = Dictionary(uniqueKeysWithValues: examples.map { ($0.lang, $0) })
        XCTAssertEqual(byLang["hi"]!.prompt, "हिंदी में अनुवाद करें:\nOpen the file")
        XCTAssertEqual(byLang["hi"]!.answer, "फ़ाइल खोलें")
        XCTAssertEqual(byLang["hi"]!.rejected, "Open the file")
        XCTAssertEqual(byLang["en"]!.prompt, "Translate into English:\nOuvrir le fichier", "English is translated from French")
        XCTAssertEqual(byLang["en"]!.answer, "Open the file")
        XCTAssertEqual(byLang["en"]!.rejected, "Ouvrir le fichier")
        XCTAssertEqual(byLang["es"]!.answer, "Open the file\n (es)", "only a trailing line end is stripped")
    }

    func testRepeatedEnglishKeepsTheFirstRowAndUntranslatedHasNoPair() throws {
        let file = SourceFixtures.bytes([
            SourceFixtures.parallelRow("Save as", domain: "a", translations: ["fr": "Enregistrer sous"]),
            SourceFixtures.parallelRow("GIMP", translations: ["fr": "GIMP", "ru": "GIMP"]),
            SourceFixtures.parallelRow("Save as", domain: "b", translations: ["fr": "Sauver sous"]),
        ])
        let examples = try ParallelText.parse(file, source: "p")
        XCTAssertEqual(examples.count, 12)
        XCTAssertEqual(examples.first { $0.lang == "fr" }!.answer, "Enregistrer sous")
        let gimp = examples.filter { $0.id == ParallelText.id(english: "GIMP") }
        XCTAssertNil(gimp.first { $0.lang == "ru" }!.rejected, "answer equals source: no worse answer")
        XCTAssertNil(gimp.first { $0.lang == "en" }!.rejected)
        XCTAssertNotNil(gimp.first { $0.lang == "es" }!.rejected)
    }

    func testEveryBadLineIsReportedWithItsNumber() {
        let file = SourceFixtures.bytes([
            SourceFixtures.parallelRow("fine"),
            #"{"domain": "a", "en": "x", "fr": "x", "es": "x", "ru": "x", "ar": "x"}"#,
            #"{"domain": 4, "en": "x", "fr": "x", "es": "x", "ru": "x", "ar": "x", "hi": "x"}"#,
            #"["en"]"#,
            #"{"en": "x", "fr": "x", "es": "x", "ru": "x", "ar": "x", "hi": "\n", "source": "y"}"#,
        ])
        XCTAssertThrowsError(try ParallelText.parse(file, source: "gettext.jsonl")) { error in
            let e = error as! JSONLines.ParseError
            XCTAssertEqual(e.problems.map(\.line), [2, 3, 4, 5])
            let d = e.description
            XCTAssertTrue(d.hasPrefix("gettext.jsonl: 4 bad lines"), d)
            XCTAssertTrue(d.contains("line 2: missing \"hi\""), d)
            XCTAssertTrue(d.contains("line 3: \"domain\" must be a string"), d)
            XCTAssertTrue(d.contains("line 4: expected an object, got array"), d)
            XCTAssertTrue(d.contains("line 5: unknown key \"source\""), d)
        }
    }

    func testTheSameRowsGiveTheSameExamples() throws {
        let file = SourceFixtures.bytes((0..<40).map { SourceFixtures.parallelRow("Sentence number \($0)") })
        XCTAssertEqual(JSONLines.encode(try ParallelText.parse(file, source: "p")), JSONLines.encode(try ParallelText.parse(file, source: "p")))
    }
}
