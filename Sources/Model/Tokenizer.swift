/// A byte-level BPE vocabulary: the 256 byte values, the three specials of ``ByteTokens``
/// (ids 256–258), then one token per merge (id 259 + rank). With no merges it is exactly
/// the byte vocabulary, so byte-level models are the special case `Tokenizer.bytes`.
///
/// Why subwords: a byte-level model of this project's size spends its capacity spelling
/// (Hindi takes 3 bytes a character, Arabic and Russian 2) and must learn words from bytes
/// before it can learn a task; with a few thousand merges a word is one to three tokens, a
/// text is 3–4× fewer positions, and training, generation and context all go further.
///
/// Text is first cut into chunks — a run of letters (with their combining marks), a single
/// digit, a run of other symbols, each taking one preceding space, or a run of whitespace —
/// and merges never cross a chunk (GPT-2's pre-tokenisation, written out without regular
/// expressions). Encoding applies, within each chunk, the lowest-ranked mergeable pair
/// first, as GPT-2 does; decoding concatenates bytes, so `decode(encode(s)) == s` for every
/// string.
public struct Tokenizer: Sendable, Equatable {
    /// Merge r joins `merges[r].0` and `merges[r].1` into token 259 + r.
    public let merges: [Pair]
    /// The bytes each token stands for (empty for the specials).
    public let pieces: [[UInt8]]
    private let rank: [UInt64: Int32]

    public struct Pair: Sendable, Equatable, Hashable {
        public var left: Int32, right: Int32
        public init(_ left: Int32, _ right: Int32) { self.left = left; self.right = right }
        var key: UInt64 { UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right)) }
    }

    public static let firstMergedId: Int32 = 259
    /// The byte vocabulary (no merges).
    public static let bytes = try! Tokenizer(merges: [])

    public var vocabularySize: Int { Int(Self.firstMergedId) + merges.count }
    public var isBytes: Bool { merges.isEmpty }

    public struct InvalidMerges: Error, CustomStringConvertible {
        public let description: String
    }

    /// - Throws: when a merge names a special or a token not defined before it.
    public init(merges: [Pair]) throws {
        var pieces = (0..<256).map { [UInt8($0)] } + [[], [], []]
        var rank: [UInt64: Int32] = [:]
        for (r, m) in merges.enumerated() {
            let known = 0..<(Int(Self.firstMergedId) + r)
            for id in [m.left, m.right] where !known.contains(Int(id)) || (id >= 256 && id < Self.firstMergedId) {
                throw InvalidMerges(description: "merge \(r) uses token \(id), which is a special or not defined before it")
            }
            if rank[m.key] != nil { throw InvalidMerges(description: "merge \(r) repeats the pair (\(m.left), \(m.right))") }
            rank[m.key] = Int32(r)
            pieces.append(pieces[Int(m.left)] + pieces[Int(m.right)])
        }
        self.merges = merges
        self.pieces = pieces
        self.rank = rank
    }

    public static func == (a: Tokenizer, b: Tokenizer) -> Bool { a.merges == b.merges }

    // MARK: Encoding

    /// The token ids of `text` (no specials).
    public func encode(_ text: String) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.utf8.count / 2 + 1)
        Self.forEachChunk(text) { chunk in encodeChunk(chunk, into: &out) }
        return out
    }

    /// `BOP prompt BOA`: what the model sees before it answers.
    public func promptTokens(_ prompt: String) -> [Int32] {
        [ByteTokens.beginPrompt] + encode(prompt) + [ByteTokens.beginAnswer]
    }

    /// Text of generated ids: each token's bytes in order (invalid UTF-8 repaired by
    /// `String(decoding:)`), specials dropped.
    public func decode(_ tokens: [Int32]) -> String {
        var bytes: [UInt8] = []
        for t in tokens where t >= 0 && Int(t) < pieces.count { bytes += pieces[Int(t)] }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The number of text bytes the tokens stand for (specials count zero).
    public func byteCount(_ tokens: some Sequence<Int32>) -> Int {
        tokens.reduce(0) { $0 + (($1 >= 0 && Int($1) < pieces.count) ? pieces[Int($1)].count : 0) }
    }

    private func encodeChunk(_ chunk: ArraySlice<UInt8>, into out: inout [Int32]) {
        if merges.isEmpty || chunk.count == 1 {
            for b in chunk { out.append(Int32(b)) }
            return
        }
        var symbols = chunk.map { Int32($0) }
        while symbols.count > 1 {
            var best = Int32.max, at = -1
            for i in 0..<(symbols.count - 1) {
                if let r = rank[Pair(symbols[i], symbols[i + 1]).key], r < best { best = r; at = i }
            }
            if at < 0 { break }
            let m = merges[Int(best)], id = Self.firstMergedId + best
            var merged: [Int32] = []
            merged.reserveCapacity(symbols.count - 1)
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count && symbols[i] == m.left && symbols[i + 1] == m.right {
                    merged.append(id); i += 2
                } else {
                    merged.append(symbols[i]); i += 1
                }
            }
            symbols = merged
        }
        out += symbols
    }

    // MARK: Chunks

    enum CharacterClass { case letter, digit, space, other }

    static func characterClass(_ s: Unicode.Scalar) -> CharacterClass {
        let p = s.properties
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return .digit
        case .nonspacingMark, .spacingMark, .enclosingMark: return .letter
        default: return p.isAlphabetic ? .letter : .other
        }
    }

    /// Calls `body` with the UTF-8 bytes of each chunk of `text`, in order; the chunks
    /// concatenate to the text.
    static func forEachChunk(_ text: String, _ body: (ArraySlice<UInt8>) -> Void) {
        let bytes = Array(text.utf8)
        var scalars: [(start: Int, cls: CharacterClass, isSpace: Bool)] = []
        scalars.reserveCapacity(bytes.count)
        var offset = 0
        for s in text.unicodeScalars {
            scalars.append((offset, characterClass(s), s == " "))
            offset += String(s).utf8.count
        }
        func start(_ i: Int) -> Int { i < scalars.count ? scalars[i].start : bytes.count }
        var i = 0
        while i < scalars.count {
            var chunkStart = scalars[i].start
            if scalars[i].cls == .space {
                var j = i
                while j < scalars.count && scalars[j].cls == .space { j += 1 }
                // A single trailing " " before a word belongs to the word, as in GPT-2.
                if j < scalars.count && scalars[j - 1].isSpace {
                    if j - 1 > i { body(bytes[start(i)..<start(j - 1)]) }
                    chunkStart = scalars[j - 1].start
                    i = j
                } else {
                    body(bytes[start(i)..<start(j)])
                    i = j
                    continue
                }
            }
            let cls = scalars[i].cls
            var j = i + 1
            if cls != .digit { while j < scalars.count && scalars[j].cls == cls { j += 1 } }
            body(bytes[chunkStart..<start(j)])
            i = j
        }
    }

    // MARK: Training

    /// Learns `vocabularySize − 259` merges from `texts`: repeatedly the most frequent
    /// adjacent pair within chunks (ties: the smaller left id, then the smaller right id),
    /// until the vocabulary is full or no pair occurs twice. Deterministic.
    public static func train(texts: some Sequence<String>, vocabularySize: Int) -> Tokenizer {
        var counts: [[UInt8]: Int] = [:]
        for text in texts { forEachChunk(text) { counts[Array($0), default: 0] += 1 } }
        // Words in a fixed order, so nothing depends on dictionary order.
        let sorted = counts.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        var words = sorted.map { $0.key.map { Int32($0) } }
        let frequency = sorted.map { $0.value }
        var pairCount: [UInt64: Int] = [:]
        var wordsWith: [UInt64: Set<Int32>] = [:]
        for (w, word) in words.enumerated() where word.count > 1 {
            for i in 0..<(word.count - 1) {
                let k = Pair(word[i], word[i + 1]).key
                pairCount[k, default: 0] += frequency[w]
                wordsWith[k, default: []].insert(Int32(w))
            }
        }
        var merges: [Pair] = []
        let wanted = max(0, vocabularySize - Int(firstMergedId))
        while merges.count < wanted {
            var bestKey: UInt64 = 0, bestCount = 1
            for (k, c) in pairCount where c > bestCount || (c == bestCount && c > 1 && k < bestKey) {
                bestKey = k; bestCount = c
            }
            if bestCount < 2 { break }
            let pair = Pair(Int32(truncatingIfNeeded: bestKey >> 32), Int32(truncatingIfNeeded: bestKey & 0xffff_ffff))
            let id = firstMergedId + Int32(merges.count)
            merges.append(pair)
            for w in (wordsWith[bestKey] ?? []).sorted() {
                let old = words[Int(w)], f = frequency[Int(w)]
                var new: [Int32] = []
                new.reserveCapacity(old.count)
                var i = 0
                while i < old.count {
                    if i + 1 < old.count && old[i] == pair.left && old[i + 1] == pair.right { new.append(id); i += 2 } else { new.append(old[i]); i += 1 }
                }
                for i in 0..<(old.count - 1) {
                    let k = Pair(old[i], old[i + 1]).key
                    pairCount[k]! -= f
                    if pairCount[k]! == 0 { pairCount[k] = nil }
                }
                if new.count > 1 {
                    for i in 0..<(new.count - 1) {
                        let k = Pair(new[i], new[i + 1]).key
                        pairCount[k, default: 0] += f
                        wordsWith[k, default: []].insert(w)
                    }
                }
                words[Int(w)] = new
            }
            pairCount[bestKey] = nil
            wordsWith[bestKey] = nil
        }
        return try! Tokenizer(merges: merges)
    }
}
