/// mergeflow's byte-level vocabulary: the 256 byte values, then three specials.
///
/// An instruction example is laid out as `BOP prompt-bytes BOA answer-bytes END`; fine-tuning
/// puts loss on the answer bytes and the closing END only.
public enum ByteTokens {
    /// Begin-of-prompt.
    public static let beginPrompt: Int32 = 256
    /// Begin-of-answer: the model's cue to start answering.
    public static let beginAnswer: Int32 = 257
    /// End of an answer (and of a document in pre-training).
    public static let end: Int32 = 258

    /// The UTF-8 bytes of `text` as token ids.
    public static func bytes(_ text: String) -> [Int32] { text.utf8.map { Int32($0) } }

    /// `BOP prompt BOA`: what the model sees before it answers.
    public static func promptTokens(_ prompt: String) -> [Int32] {
        [beginPrompt] + bytes(prompt) + [beginAnswer]
    }

    /// Decodes generated ids back to text: bytes are gathered (invalid UTF-8 is repaired by
    /// `String(decoding:)`), specials are dropped.
    public static func text(_ tokens: [Int32]) -> String {
        String(decoding: tokens.compactMap { $0 >= 0 && $0 < 256 ? UInt8($0) : nil }, as: UTF8.self)
    }

    /// A readable name for a token id, for `--json` output and error messages.
    public static func describe(_ token: Int32) -> String {
        switch token {
        case beginPrompt: return "<bop>"
        case beginAnswer: return "<boa>"
        case end: return "<end>"
        default: return token >= 32 && token < 127 ? String(UnicodeScalar(UInt8(token))) : "<0x\(String(token, radix: 16))>"
        }
    }
}
