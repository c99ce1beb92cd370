import Datasets
import XCTest

final class JSONLinesTests: XCTestCase {
    func testParsesTheDocumentedSchemaAndRoundTrips() throws {
        let text = """
        {"id": "q1", "lang": "fr", "objective": "safety", "prompt": "Comment …", "answer": "Je ne peux pas.", "rejected": "Voici.", "meta": {"source": "x"}}

        {"lang": "hi", "objective": "general", "prompt": "नमस्ते", "answer": ""}
        """
        let examples = try JSONLines.parse(Array(text.utf8), source: "t.jsonl")
        XCTAssertEqual(examples, [
            Example(id: "q1", lang: "fr", objective: "safety", prompt: "Comment …", answer: "Je ne peux pas.", rejected: "Voici."),
            Example(id: "line-3", lang: "hi", objective: "general", prompt: "नमस्ते", answer: ""),
        ])
        let encoded = JSONLines.encode(examples)
        XCTAssertEqual(try JSONLines.parse(encoded, source: "again"), examples)
        XCTAssertEqual(JSONLines.encode(try JSONLines.parse(encoded, source: "again")), encoded, "encoding is canonical")
    }

    func testEveryBadLineIsReportedWithItsNumber() {
        let text = """
        {"lang": "en", "objective": "general", "prompt": "ok", "answer": "fine"}
        {"lang": "en", "objective": "general", "prompt": "no answer"}
        not json
        [1, 2]
        {"lang": 3, "objective": "general", "prompt": "p", "answer": "a"}
        {"lang": "en", "objective": "general", "prompt": "p", "anwser": "typo", "answer": "a"}
        {"lang": "en", "objective": "", "prompt": "p", "answer": "a", "meta": 5}
        """
        XCTAssertThrowsError(try JSONLines.parse(Array(text.utf8), source: "bad.jsonl")) { error in
            let e = error as! JSONLines.ParseError
            XCTAssertEqual(e.problems.map(\.line), [2, 3, 4, 5, 6, 7, 7])
            let d = e.description
            XCTAssertTrue(d.hasPrefix("bad.jsonl: 7 bad lines"), d)
            XCTAssertTrue(d.contains("line 2: missing \"answer\""), d)
            XCTAssertTrue(d.contains("line 3: invalid JSON"), d)
            XCTAssertTrue(d.contains("line 4: expected an object, got"), d)
            XCTAssertTrue(d.contains("line 5: \"lang\" must be a string, got"), d)
            XCTAssertTrue(d.contains("line 6: unknown key \"anwser\""), d)
            XCTAssertTrue(d.contains("line 7: \"objective\" is empty"), d)
            XCTAssertTrue(d.contains("line 7: \"meta\" must be an object"), d)
        }
    }
}

final class SplitTests: XCTestCase {
    /// Translations share an id, so the test split holds every language of an item or none.
    func testSplitIsByIdSoNoTranslationOfATestItemIsTrainedOn() {
        let languages = ["en", "fr", "es", "ru", "ar", "hi"]
        var examples: [Example] = []
        for i in 0..<2000 {
            for lang in languages { examples.append(Example(id: "item\(i)", lang: lang, objective: "general", prompt: "p\(i)", answer: "a")) }
        }
        let test = examples.filter { Split.test.contains(id: $0.id, testFraction: 0.1) }
        let train = examples.filter { Split.train.contains(id: $0.id, testFraction: 0.1) }
        XCTAssertEqual(test.count + train.count, examples.count)
        XCTAssertTrue(Set(test.map(\.id)).isDisjoint(with: Set(train.map(\.id))))
        for id in Set(test.map(\.id)) { XCTAssertEqual(test.filter { $0.id == id }.count, languages.count) }
        // About 10% of ids, with a binomial spread (σ ≈ 13 of 2000).
        let share = Double(Set(test.map(\.id)).count) / 2000
        XCTAssertEqual(share, 0.1, accuracy: 0.03)
        XCTAssertEqual(examples.filter { Split.all.contains(id: $0.id, testFraction: 0.1) }.count, examples.count)
        XCTAssertTrue(Split.isTest(id: "x", testFraction: 1))
        XCTAssertFalse(Split.isTest(id: "x", testFraction: 0))
    }
}
