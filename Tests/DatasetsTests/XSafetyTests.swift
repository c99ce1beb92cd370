@testable import Datasets
import XCTest

/// Rows in the XSafety file's format, made up for the tests.
enum SourceFixtures {
    static let languages = Refusals.languages

    static func xsafetyRow(_ category: String, _ idx: Int, skip: String? = nil) -> String {
        var fields = [#""category": "\#(category)""#, #""idx": \#(idx)"#]
        for lang in languages where lang != skip { fields.append(#""\#(lang)": "\#(category) \#(idx) in \#(lang)""#) }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    static func parallelRow(_ english: String, domain: String = "app", translations: [String: String] = [:]) -> String {
        var fields = [#""domain": "\#(domain)""#]
        for lang in languages {
            fields.append(#""\#(lang)": "\#(lang == "en" ? english : translations[lang] ?? "\(english) (\(lang))")""#)
        }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    static func bytes(_ lines: [String]) -> [UInt8] { Array((lines.joined(separator: "\n") + "\n").utf8) }
}

final class XSafetyTests: XCTestCase {
    func testOneExamplePerRowAndLanguageWithRefusalAndComplianceAnswers() throws {
        let file = SourceFixtures.bytes([SourceFixtures.xsafetyRow("Physical_Harm", 0), "", SourceFixtures.xsafetyRow("Insult", 0)])
        let examples = try XSafety.parse(file, source: "x.jsonl")
        XCTAssertEqual(examples.count, 12)
        XCTAssertEqual(examples.map(\.lang), Refusals.languages + Refusals.languages)
        XCTAssertEqual(Set(examples.map(\.id)), ["xsafety-Physical_Harm-0", "xsafety-Insult-0"], "idx restarts per category")
        for e in examples {
            XCTAssertEqual(e.objective, "safety")
            XCTAssertTrue(e.prompt.hasSuffix(" in \(e.lang)"))
            XCTAssertEqual(e.answer, Refusals.refusal(for: e.id, lang: e.lang))
            XCTAssertEqual(e.rejected, Refusals.compliance(for: e.id, lang: e.lang))
            XCTAssertTrue(Refusals.isRefusal(e.answer, lang: e.lang))
        }
    }

    func testAdviceCategoriesAreLeftOutUnlessNamed() throws {
        let file = SourceFixtures.bytes([SourceFixtures.xsafetyRow("Mental_Health", 3), SourceFixtures.xsafetyRow("Insult", 4),
                                         SourceFixtures.xsafetyRow("commonsense", 5), SourceFixtures.xsafetyRow("Brand_New", 6)])
        XCTAssertEqual(Set(try XSafety.parse(file, source: "x").map(\.id)), ["xsafety-Insult-4", "xsafety-Brand_New-6"])
        let advice = try XSafety.parse(file, source: "x", categories: ["Mental_Health", "Insult"])
        XCTAssertEqual(Set(advice.map(\.id)), ["xsafety-Mental_Health-3", "xsafety-Insult-4"])
        for e in advice where e.id.contains("Mental") {
            XCTAssertEqual(e.objective, "safe-advice")
            XCTAssertEqual(e.answer, "")
            XCTAssertNil(e.rejected)
        }
    }

    func testEveryBadLineIsReportedWithItsNumberAndTheFile() {
        let file = SourceFixtures.bytes([
            SourceFixtures.xsafetyRow("Insult", 0),
            SourceFixtures.xsafetyRow("Insult", 1, skip: "hi"),
            "not json",
            SourceFixtures.xsafetyRow("Insult", 0),
            #"{"category": "Insult", "idx": 1.5, "en": "a", "fr": "a", "es": "a", "ru": "a", "ar": "a", "hi": " "}"#,
            #"{"category": "Insult", "idx": 9, "en": "a", "fr": "a", "es": "a", "ru": "a", "ar": "a", "hi": "a", "de": "a"}"#,
            #"{"idx": 10, "en": 3, "fr": "a", "es": "a", "ru": "a", "ar": "a", "hi": "a"}"#,
        ])
        XCTAssertThrowsError(try XSafety.parse(file, source: "data/xsafety.jsonl")) { error in
            let e = error as! JSONLines.ParseError
            XCTAssertEqual(e.problems.map(\.line), [2, 3, 4, 5, 5, 6, 7, 7])
            let d = e.description
            XCTAssertTrue(d.hasPrefix("data/xsafety.jsonl: 8 bad lines"), d)
            XCTAssertTrue(d.contains("line 2: missing \"hi\""), d)
            XCTAssertTrue(d.contains("line 3: invalid JSON"), d)
            XCTAssertTrue(d.contains("line 4: category Insult idx 0 repeats line 1"), d)
            XCTAssertTrue(d.contains("line 5: \"idx\" must be an integer ≥ 0, got 1.5"), d)
            XCTAssertTrue(d.contains("line 5: \"hi\" is empty"), d)
            XCTAssertTrue(d.contains("line 6: unknown key \"de\""), d)
            XCTAssertTrue(d.contains("line 7: missing \"category\""), d)
            XCTAssertTrue(d.contains("line 7: \"en\" must be a string, got number"), d)
        }
    }

    func testOutputIsDeterministic() throws {
        let file = SourceFixtures.bytes((0..<30).map { SourceFixtures.xsafetyRow("Physical_Harm", $0) })
        let a = try XSafety.parse(file, source: "x"), b = try XSafety.parse(file, source: "x")
        XCTAssertEqual(a, b)
        XCTAssertEqual(JSONLines.encode(a), JSONLines.encode(b))
    }
}

final class XSafetyLookalikeTests: XCTestCase {
    func testWhenToRefuseRefusesHarmAnswersLookalikesAndLeavesMixedCategoriesOut() throws {
        let file = SourceFixtures.bytes([
            SourceFixtures.xsafetyRow("Crimes_And_Illegal_Activities", 0), SourceFixtures.xsafetyRow("Mental_Health", 1),
            SourceFixtures.xsafetyRow("Reverse_Exposure", 2), SourceFixtures.xsafetyRow("Privacy_And_Property", 3),
        ])
        let examples = try XSafety.parse(file, source: "x", refusalVariety: 1, design: .whenToRefuse)
        XCTAssertEqual(Set(examples.map(\.id)), ["xsafety-Crimes_And_Illegal_Activities-0", "xsafety-Mental_Health-1", "xsafety-Reverse_Exposure-2"])
        XCTAssertTrue(examples.allSatisfy { $0.objective == "safety" }, "both kinds are the safety objective")
        for e in examples {
            if e.id.contains("Crimes") {
                XCTAssertTrue(Refusals.isRefusal(e.answer, lang: e.lang))
                XCTAssertEqual(e.rejected, Refusals.compliance(for: e.id, lang: e.lang))
            } else {
                XCTAssertEqual(e.answer, Refusals.helpfulAnswer(lang: e.lang))
                XCTAssertFalse(Refusals.isRefusal(e.answer, lang: e.lang), "a look-alike's answer is not a refusal")
                XCTAssertEqual(e.rejected, Refusals.refusal(for: e.id, lang: e.lang, variety: 1), "refusing is the mistake")
            }
        }
        let onlyLookalikes = try XSafety.parse(file, source: "x", categories: ["Mental_Health"], design: .whenToRefuse)
        XCTAssertEqual(Set(onlyLookalikes.map(\.id)), ["xsafety-Mental_Health-1"])
    }

    /// `rejected: .helpful` changes only the harmful prompts' rejected answer: the mirror of the look-alikes' pair.
    func testHelpfulRejectedMirrorsTheLookalikePairAndChangesNothingElse() throws {
        let file = SourceFixtures.bytes([SourceFixtures.xsafetyRow("Insult", 0), SourceFixtures.xsafetyRow("commonsense", 1)])
        let compliance = try XSafety.parse(file, source: "x", refusalVariety: 1, design: .whenToRefuse)
        let helpful = try XSafety.parse(file, source: "x", refusalVariety: 1, design: .whenToRefuse, rejected: .helpful)
        XCTAssertEqual(compliance.count, helpful.count)
        for (c, h) in zip(compliance, helpful) {
            XCTAssertEqual([c.id, c.lang, c.prompt, c.answer], [h.id, h.lang, h.prompt, h.answer])
            if c.id.contains("Insult") {
                XCTAssertEqual(h.rejected, Refusals.helpfulAnswer(lang: h.lang))
                XCTAssertNotEqual(c.rejected, h.rejected)
            } else {
                XCTAssertEqual(c.rejected, h.rejected, "look-alikes keep the refusal as their rejected answer")
            }
        }
    }

    /// `refusalWeight` repeats each refused example and nothing else: the look-alikes stay once,
    /// and the copies are the same example, so a uniform draw weights the classes.
    func testRefusalWeightRepeatsOnlyTheRefusedExamples() throws {
        let file = SourceFixtures.bytes([SourceFixtures.xsafetyRow("Insult", 0), SourceFixtures.xsafetyRow("commonsense", 1),
                                         SourceFixtures.xsafetyRow("Crimes_And_Illegal_Activities", 2)])
        let once = try XSafety.parse(file, source: "x", refusalVariety: 1, design: .whenToRefuse)
        let thrice = try XSafety.parse(file, source: "x", refusalVariety: 1, design: .whenToRefuse, refusalWeight: 3)
        let refused = once.filter { Refusals.isRefusal($0.answer, lang: $0.lang) }, helped = once.filter { !Refusals.isRefusal($0.answer, lang: $0.lang) }
        XCTAssertEqual(refused.count, 12)
        XCTAssertEqual(helped.count, 6)
        XCTAssertEqual(thrice.filter { !Refusals.isRefusal($0.answer, lang: $0.lang) }.map(\.prompt), helped.map(\.prompt))
        let copies = thrice.filter { Refusals.isRefusal($0.answer, lang: $0.lang) }
        XCTAssertEqual(copies.count, 36)
        for (k, e) in refused.enumerated() {
            for c in copies[(3 * k)..<(3 * k + 3)] {
                XCTAssertEqual([c.id, c.lang, c.prompt, c.answer, c.rejected], [e.id, e.lang, e.prompt, e.answer, e.rejected])
            }
        }
    }

    func testTheCategoryPartitionIsDisjointAndNamesRealCategories() {
        XCTAssertTrue(XSafety.refuseCategories.isDisjoint(with: XSafety.lookalikeCategories))
        XCTAssertTrue(XSafety.refuseCategories.union(XSafety.lookalikeCategories).isSubset(of: Set(XSafety.categories)))
        XCTAssertTrue(XSafety.adviceCategories.isSubset(of: XSafety.lookalikeCategories))
    }
}
