import Datasets
import Store
import XCTest

final class SelectionTests: XCTestCase {
    /// 200 made-up XSafety rows (four categories × 50).
    static let rows = ["Insult", "Physical_Harm", "Goal_Hijacking", "Privacy_And_Property"].flatMap { c in
        (0..<50).map { SourceFixtures.xsafetyRow(c, $0) }
    }

    func testTestIdsHaveAllSixTranslationsInTestAndNoneInTrain() throws {
        let examples = try XSafety.parse(SourceFixtures.bytes(Self.rows), source: "x")
        let test = Selection(split: .test, testFraction: 0.2).apply(examples)
        let train = Selection(split: .train, testFraction: 0.2).apply(examples)
        XCTAssertEqual(test.count + train.count, examples.count)
        XCTAssertFalse(test.isEmpty)
        XCTAssertTrue(Set(test.map(\.id)).isDisjoint(with: Set(train.map(\.id))))
        for id in Set(test.map(\.id)) {
            XCTAssertEqual(Set(test.filter { $0.id == id }.map(\.lang)), Set(Refusals.languages), id)
        }
    }

    func testMaxItemsComesAfterTheSplitAndDoesNotDependOnFileOrder() throws {
        let examples = try XSafety.parse(SourceFixtures.bytes(Self.rows), source: "x")
        let reversed = try XSafety.parse(SourceFixtures.bytes(Self.rows.reversed()), source: "x")
        let test = Selection(split: .test, testFraction: 0.5, maxItems: 20).apply(examples)
        XCTAssertEqual(Set(test.map(\.id)).count, 20, "a test set of 20 items has 20 items")
        XCTAssertEqual(test.count, 20 * 6)
        XCTAssertTrue(test.allSatisfy { Split.isTest(id: $0.id, testFraction: 0.5) })
        let again = Selection(split: .test, testFraction: 0.5, maxItems: 20).apply(reversed)
        XCTAssertEqual(Set(again.map(\.id)), Set(test.map(\.id)), "chosen by hash, not by position")
        // The chosen ids are the test ids with the smallest SHA-256.
        let allTest = Set(examples.map(\.id).filter { Split.isTest(id: $0, testFraction: 0.5) })
        XCTAssertEqual(Set(test.map(\.id)), Set(allTest.sorted { SHA256.hash($0) < SHA256.hash($1) }.prefix(20)))
        XCTAssertEqual(Selection(maxItems: 1000).apply(examples), examples, "fewer ids than the limit: all kept")
    }

    func testMaxBytesCountsPromptAndTheLongerAnswerPerLanguage() {
        let examples = [
            Example(id: "a", lang: "en", objective: "general", prompt: "12345", answer: "12345"),                 // 10
            Example(id: "a", lang: "hi", objective: "general", prompt: "नमस", answer: "12"),                      // 9 + 2
            Example(id: "b", lang: "en", objective: "general", prompt: "1234", answer: "1", rejected: "123456"), // 10
            Example(id: "c", lang: "en", objective: "general", prompt: "1234", answer: "123456", rejected: "1"), // 10
        ]
        XCTAssertEqual(Selection.byteCount(examples[1]), 11)
        XCTAssertEqual(Selection(maxBytes: 10).apply(examples).map(\.id), ["a", "b", "c"])
        XCTAssertEqual(Selection(maxBytes: 9).apply(examples), [])
        XCTAssertEqual(Selection(maxBytes: 11).apply(examples), examples)
        // max_items counts ids that survive max_bytes.
        XCTAssertEqual(Set(Selection(maxBytes: 10, maxItems: 3).apply(examples).map(\.id)), ["a", "b", "c"])
    }

    /// A test set only prompted can limit the prompt alone; and a language whose long
    /// translations fail the byte limit still gets its full share of items per language.
    func testMaxPromptBytesAndItemsPerLanguage() {
        // 30 ids: English prompts always fit; Hindi ones only for every third id.
        var examples: [Example] = []
        for i in 0..<30 {
            examples.append(Example(id: "q\(i)", lang: "en", objective: "safety", prompt: "short", answer: String(repeating: "x", count: 50)))
            examples.append(Example(id: "q\(i)", lang: "hi", objective: "safety", prompt: i % 3 == 0 ? "नमस" : String(repeating: "न", count: 20), answer: "no"))
        }
        XCTAssertEqual(Selection(maxBytes: 20).apply(examples).filter { $0.lang == "en" }.count, 0, "max_bytes counts the long answer")
        let prompted = Selection(maxPromptBytes: 20).apply(examples)
        XCTAssertEqual(prompted.filter { $0.lang == "en" }.count, 30, "max_prompt_bytes ignores the answer")
        XCTAssertEqual(prompted.filter { $0.lang == "hi" }.count, 10)

        // A shared choice of 6 ids leaves Hindi with the few of them that fit …
        let shared = Selection(maxPromptBytes: 20, maxItems: 6).apply(examples)
        XCTAssertEqual(shared.filter { $0.lang == "en" }.count, 6)
        XCTAssertLessThan(shared.filter { $0.lang == "hi" }.count, 6)
        // … a choice per language gives each 6, the smallest hashes among its own ids.
        let perLanguage = Selection(maxPromptBytes: 20, itemsPerLanguage: 6).apply(examples)
        for lang in ["en", "hi"] {
            let ids = Set(perLanguage.filter { $0.lang == lang }.map(\.id))
            let own = Set(prompted.filter { $0.lang == lang }.map(\.id))
            XCTAssertEqual(ids, Set(own.sorted { SHA256.hash($0) < SHA256.hash($1) }.prefix(6)), lang)
        }
        XCTAssertEqual(perLanguage, examples.filter { perLanguage.contains($0) }, "file order is kept")
    }

    func testLanguageAndObjectiveFiltersKeepOrder() throws {
        let examples = try XSafety.parse(SourceFixtures.bytes(Array(Self.rows.prefix(3))), source: "x")
        let kept = Selection(languages: ["hi", "fr"], objectives: ["safety"]).apply(examples)
        XCTAssertEqual(kept.map(\.lang), ["fr", "hi", "fr", "hi", "fr", "hi"])
        XCTAssertEqual(Selection(objectives: ["general"]).apply(examples), [])
    }
}
