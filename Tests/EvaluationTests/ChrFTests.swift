import XCTest
@testable import Evaluation

/// chrF's definition on small hand-checked cases (the sacrebleu comparison is in
/// ChrFReferenceTests).
final class ChrFTests: XCTestCase {
    func testEmptyStringsScoreZero() {
        // No order has n-grams on both sides: sacrebleu returns 0, even for two empty strings.
        XCTAssertEqual(ChrF.score(hypothesis: "", reference: ""), 0)
        XCTAssertEqual(ChrF.score(hypothesis: "", reference: "gold"), 0)
        XCTAssertEqual(ChrF.score(hypothesis: "answer", reference: ""), 0)
        XCTAssertEqual(ChrF.score(hypothesis: " \n\t", reference: "gold"), 0)
    }

    func testIdenticalStringsScoreHundred() {
        for text in ["a", "ab", "The cat sat on the mat.", "नमस्ते", "مرحبا", "Привет"] {
            XCTAssertEqual(ChrF.score(hypothesis: text, reference: text), 100, text)
        }
    }

    /// "a" against "banana": only order 1 is effective; P = 1, R = 1/6,
    /// F₂ = 5·(1/6) / (4 + 1/6) = 0.2.
    func testHandComputedScore() {
        XCTAssertEqual(ChrF.score(hypothesis: "a", reference: "banana"), 20, accuracy: 1e-12)
        // "aaaa" against "aa": order 1 P = 2/4, R = 1; order 2 P = 1/3, R = 1; orders 3–4
        // have no reference n-grams. P = 5/12, R = 1, F₂ = 5·(5/12) / (4·5/12 + 1) = 78.125%.
        XCTAssertEqual(ChrF.score(hypothesis: "aaaa", reference: "aa"), 78.125, accuracy: 1e-12)
    }

    func testWhitespaceIsIgnored() {
        let score = ChrF.score(hypothesis: "the cat", reference: "the cat sat")
        XCTAssertEqual(ChrF.score(hypothesis: "  the\tcat\n", reference: "thecat sat"), score)
        XCTAssertEqual(ChrF.score(hypothesis: "the\u{A0}cat\u{1F}", reference: "the\u{3000}cat sat"), score)
    }

    /// Exhaustive over every scalar: Python's str.isspace() is Unicode's White_Space plus
    /// the four information separators U+001C…U+001F.
    func testWhitespaceIsPythons() {
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let expected = scalar.properties.isWhitespace || (0x1C...0x1F).contains(value)
            XCTAssertEqual(ChrF.isPythonWhitespace(scalar), expected, "U+\(String(value, radix: 16))")
        }
        XCTAssertFalse(ChrF.isPythonWhitespace("\u{200B}"))   // zero-width space is not whitespace
    }

    /// Python slices code points: a Devanagari vowel sign is an n-gram element of its own,
    /// and canonically equivalent strings (equal as Swift Strings) need not score 100.
    func testNGramsAreUnicodeScalars() {
        let kitab = "किताब"   // 5 scalars, 3 grapheme clusters
        XCTAssertEqual(ChrF.statistics(hypothesis: kitab, reference: kitab)[0].reference, 5)
        XCTAssertEqual(ChrF.statistics(hypothesis: kitab, reference: kitab)[4].reference, 1)
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        XCTAssertEqual(composed, decomposed)
        XCTAssertLessThan(ChrF.score(hypothesis: composed, reference: decomposed), 100)
        XCTAssertEqual(ChrF.score(hypothesis: "\u{929}", reference: "\u{928}\u{93C}"), 0)
    }

    func testCaseSensitive() {
        XCTAssertLessThan(ChrF.score(hypothesis: "Hello", reference: "hello"), 100)
    }

    func testScoreIsBetweenZeroAndHundred() {
        let texts = ["", "a", "ab", "ba", "abc abc", "xyz", "The cat sat.", "Le chat.", "القط", "मैं"]
        for h in texts {
            for r in texts {
                let score = ChrF.score(hypothesis: h, reference: r)
                XCTAssertTrue(score >= 0 && score <= 100, "\(h) / \(r): \(score)")
            }
        }
    }
}
