import Store

/// Which examples of a source a dataset keeps: the filters every source shares, applied in
/// this order:
///
/// 1. `languages`, `objectives`: keep examples whose language / objective is listed (nil: all);
/// 2. `maxBytes`: keep examples whose prompt plus the longer of answer and rejected is at
///    most this many UTF-8 bytes, one (id, language) at a time — a sentence may fit in English
///    and not in Hindi, where a character takes 3 bytes. The model adds 3 tokens (BOP, BOA,
///    END), so a context of T tokens holds `maxBytes` = T − 3; both sides of a preference
///    pair fit;
///    `maxPromptBytes`: the same on the prompt alone, for test sets that models only answer
///    (a safety prompt needs room for the model's answer, not for the gold refusal);
/// 3. `split`: train or test by a hash of the id (see ``Split``);
/// 4. `maxItems`: keep the examples of at most this many ids, those whose SHA-256 (of the
///    id's UTF-8 bytes) is smallest: the choice does not depend on file order, and it comes
///    after the split, so a test set of 50 items has 50 items (in each language whose
///    translation fits `maxBytes`);
/// 5. `itemsPerLanguage`: in each language, keep the examples of at most this many ids, the
///    same way, among the ids that language still has — so every language gets as many items
///    as it can (a language whose long translations fail `maxBytes` draws further down the
///    list instead of being left with the few of a shared choice that fit).
///
/// Examples keep their order.
public struct Selection: Sendable, Equatable {
    public var languages: Set<String>?
    public var objectives: Set<String>?
    public var maxBytes: Int?
    public var split: Split
    public var testFraction: Double
    public var maxItems: Int?
    public var maxPromptBytes: Int?
    public var itemsPerLanguage: Int?

    public init(languages: Set<String>? = nil, objectives: Set<String>? = nil, maxBytes: Int? = nil, maxPromptBytes: Int? = nil,
                split: Split = .all, testFraction: Double = 0.1, maxItems: Int? = nil, itemsPerLanguage: Int? = nil) {
        self.languages = languages
        self.objectives = objectives
        self.maxBytes = maxBytes
        self.split = split
        self.testFraction = testFraction
        self.maxItems = maxItems
        self.maxPromptBytes = maxPromptBytes
        self.itemsPerLanguage = itemsPerLanguage
    }

    /// The bytes `maxBytes` limits: the prompt and the longer of answer and rejected.
    public static func byteCount(_ e: Example) -> Int {
        e.prompt.utf8.count + max(e.answer.utf8.count, e.rejected?.utf8.count ?? 0)
    }

    /// The examples this selection keeps.
    /// - Complexity: O(n) plus a SHA-256 per distinct id when `maxItems` or
    ///   `itemsPerLanguage` is set.
    public func apply(_ examples: [Example]) -> [Example] {
        var kept = examples.filter { e in
            (languages?.contains(e.lang) ?? true) && (objectives?.contains(e.objective) ?? true)
                && (maxBytes.map { Selection.byteCount(e) <= $0 } ?? true)
                && (maxPromptBytes.map { e.prompt.utf8.count <= $0 } ?? true)
                && split.contains(id: e.id, testFraction: testFraction)
        }
        if let maxItems {
            let chosen = Selection.first(maxItems, of: Set(kept.map(\.id)))
            kept = kept.filter { chosen.contains($0.id) }
        }
        if let itemsPerLanguage {
            var idsByLanguage: [String: Set<String>] = [:]
            for e in kept { idsByLanguage[e.lang, default: []].insert(e.id) }
            let chosen = idsByLanguage.mapValues { Selection.first(itemsPerLanguage, of: $0) }
            kept = kept.filter { chosen[$0.lang]!.contains($0.id) }
        }
        return kept
    }

    /// The `count` ids with the smallest SHA-256 (all of them if there are no more).
    static func first(_ count: Int, of ids: Set<String>) -> Set<String> {
        guard ids.count > count else { return ids }
        return Set(ids.map { (SHA256.hash($0), $0) }.sorted { $0 < $1 }.prefix(count).map(\.1))
    }
}
