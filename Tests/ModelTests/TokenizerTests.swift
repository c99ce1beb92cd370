@testable import Model
import XCTest

final class TokenizerTests: XCTestCase {
    func chunks(_ text: String) -> [String] {
        var out: [String] = []
        Tokenizer.forEachChunk(text) { out.append(String(decoding: $0, as: UTF8.self)) }
        return out
    }

    func testChunksAreWordsWithTheirLeadingSpaceDigitsAloneAndSymbolRuns() {
        XCTAssertEqual(chunks("Hello world, 2024!"), ["Hello", " world", ",", " 2", "0", "2", "4", "!"])
        XCTAssertEqual(chunks("a  b\n\nc "), ["a", " ", " b", "\n\n", "c", " "])
        XCTAssertEqual(chunks("(%) to:"), ["(%)", " to", ":"])
    }

    func testCombiningMarksStayInTheirWord() {
        // Devanagari vowel signs and the virama are marks, not letters: a word must not split at them.
        XCTAssertEqual(chunks("मैं इसमें मदद नहीं"), ["मैं", " इसमें", " मदद", " नहीं"])
        XCTAssertEqual(chunks("Я не могу"), ["Я", " не", " могу"])
        XCTAssertEqual(chunks("لا أستطيع"), ["لا", " أستطيع"])
    }

    func testTheByteTokenizerIsUTF8() {
        for text in ["", "abc", "Début aligné", "مرحبا", "नमस्ते दुनिया", "  \n\t x"] {
            XCTAssertEqual(Tokenizer.bytes.encode(text), ByteTokens.bytes(text), text)
            XCTAssertEqual(Tokenizer.bytes.decode(Tokenizer.bytes.encode(text)), text)
        }
        XCTAssertEqual(Tokenizer.bytes.vocabularySize, GPT2Config.byteVocabulary)
    }

    func testTrainingOnAHandMadeCorpus() {
        // Chunks: "ab" once, " ab" twice, " cd" once. (a, b) occurs 3 times → token 259;
        // then (" ", 259) twice → 260; every other pair occurs once, so training stops there.
        let t = Tokenizer.train(texts: ["ab ab ab cd"], vocabularySize: 1000)
        XCTAssertEqual(t.merges, [.init(97, 98), .init(32, 259)])
        XCTAssertEqual(t.vocabularySize, 261)
        XCTAssertEqual(t.encode("ab ab cd"), [259, 260, 32, 99, 100])
        XCTAssertEqual(t.pieces[260], Array(" ab".utf8))
    }

    func testTiesGoToTheSmallerPairAndTheVocabularyCapsTheMerges() {
        // (x, y) and (y, z) both occur twice; the smaller left id wins.
        let t = Tokenizer.train(texts: ["xyz", "xyz"], vocabularySize: 260)
        XCTAssertEqual(t.merges, [.init(120, 121)])
    }

    func testEncodingAppliesTheLowestRankedMergeFirst() throws {
        // Merge 0 is (b, c), merge 1 is (a, b): in "abc" (b, c) wins although (a, b) comes first.
        let t = try Tokenizer(merges: [.init(98, 99), .init(97, 98)])
        XCTAssertEqual(t.encode("abc"), [97, 259])
        XCTAssertEqual(t.encode("abd"), [260, 100])
    }

    func testRoundTripOnEveryScriptAndOddText() {
        let corpus = ["Change lower speed limit (%) to:", "Passer la vitesse minimale de (%) à :",
                      "Cambiar el límite inferior de velocidad (%) a:", "Изменить нижний предел скорости (%) на:",
                      "غير حد السرعة الدنيا (%) إلى:", "निम्न गति सीमा (%) को इसमें बदलें:"]
        let t = Tokenizer.train(texts: corpus + corpus, vocabularySize: 400)
        XCTAssertGreaterThan(t.merges.count, 20)
        let odd = ["", " ", "  lead", "trail  ", "\t\n", "e\u{301}t\u{e9}", "🙂 emoji 🙂🙂", "12345", "a\u{0}b", "x—y…z"]
        for text in corpus + odd {
            let ids = t.encode(text)
            XCTAssertEqual(t.decode(ids), text, text)
            XCTAssertEqual(t.byteCount(ids), text.utf8.count, text)
            XCTAssertTrue(ids.allSatisfy { $0 >= 0 && Int($0) < t.vocabularySize && !(256...258).contains($0) })
        }
        for text in corpus { XCTAssertLessThan(t.encode(text).count, text.utf8.count, "seen text is compressed: \(text)") }
    }

    func testTrainingIsDeterministicAndIndependentOfTextOrder() {
        let texts = ["the cat sat on the mat", "le chat est sur le tapis", "the hat", "el gato", "the the the"]
        let a = Tokenizer.train(texts: texts, vocabularySize: 300)
        XCTAssertEqual(a, Tokenizer.train(texts: texts, vocabularySize: 300))
        XCTAssertEqual(a, Tokenizer.train(texts: texts.reversed(), vocabularySize: 300))
    }

    func testInvalidMergesAreRefused() {
        XCTAssertThrowsError(try Tokenizer(merges: [.init(256, 97)]))        // a special
        XCTAssertThrowsError(try Tokenizer(merges: [.init(97, 259)]))        // itself, not yet defined
        XCTAssertThrowsError(try Tokenizer(merges: [.init(97, 98), .init(97, 98)]))  // twice
        XCTAssertThrowsError(try Tokenizer(merges: [.init(-1, 98)]))
        XCTAssertNoThrow(try Tokenizer(merges: [.init(97, 98), .init(259, 259)]))
    }

    func testPromptTokensWrapTheEncodedPrompt() throws {
        let t = try Tokenizer(merges: [.init(104, 105)])
        XCTAssertEqual(t.promptTokens("hi"), [ByteTokens.beginPrompt, 259, ByteTokens.beginAnswer])
        XCTAssertEqual(t.decode([ByteTokens.beginPrompt, 259, ByteTokens.end, 33]), "hi!")
    }
}
