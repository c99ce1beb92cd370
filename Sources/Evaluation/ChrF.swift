/// Sentence-level chrF (Popović 2015), exactly as sacrebleu 2.6's default metric
/// `CHRF().sentence_score(hypothesis, [reference])`: character n-grams of orders 1…6, no
/// word n-grams, β = 2, case-sensitive, on the 0–100 scale. Checked against sacrebleu to
/// 1e-9 on the cases in `Tests/EvaluationTests/Fixtures/chrf.json`
/// (`scripts/reference/make_chrf_fixtures.py`; notes in `scripts/reference/README-chrf.md`).
///
/// The definition, step by step:
/// 1. Whitespace is removed from both strings (Python's `''.join(s.split())`), so
///    "the  cat" and "thecat" are the same string to chrF.
/// 2. For each order n = 1…6, the n-grams are runs of n consecutive Unicode scalars
///    (Python code points, not grapheme clusters: a Hindi vowel sign or an Arabic
///    haraka is an n-gram element of its own, and "é" precomposed differs from "e" +
///    U+0301). Matches are clipped counts: Σ min(count in hypothesis, count in reference).
/// 3. An order counts only when both strings have n-grams of it (sacrebleu's "effective
///    order"); its precision is matches / hypothesis n-grams and its recall is
///    matches / reference n-grams.
/// 4. Precision and recall are each averaged over the effective orders, and the score is
///    100 · (1 + β²)·P·R / (β²·P + R), or 0 when no order is effective or P + R = 0.
///
/// Note step 4: sacrebleu's default (`eps_smoothing=False`) averages precision and recall
/// first and takes one F-score, not the mean of per-order F-scores with ε smoothing that
/// chrF++.py, NLTK and `CHRF(eps_smoothing=True)` use. Consequences: two empty strings
/// score 0 (not 100), and a short hypothesis is not penalised for the orders it is too
/// short to have (`"ab"` against `"abcdef"` averages orders 1 and 2 only).
public enum ChrF {
    /// The highest character n-gram order.
    public static let order = 6
    /// Recall weighs β times as much as precision.
    public static let beta = 2.0

    /// The chrF of `hypothesis` against `reference`, from 0 to 100.
    /// - Complexity: O(order · (h + r)) for strings of h and r scalars.
    public static func score(hypothesis: String, reference: String) -> Double {
        fScore(statistics(hypothesis: hypothesis, reference: reference))
    }

    /// Counts for one n-gram order, as sacrebleu records them.
    struct OrderStatistics: Equatable {
        /// Hypothesis n-grams; 0 when the reference has none of this order.
        var hypothesis: Int
        var reference: Int
        var matches: Int
    }

    /// The counts for orders 1…`order`.
    static func statistics(hypothesis: String, reference: String) -> [OrderStatistics] {
        let hypothesis = scalarsWithoutWhitespace(hypothesis), reference = scalarsWithoutWhitespace(reference)
        return (1...order).map { n in
            let hypothesisCounts = nGramCounts(hypothesis, n), referenceCounts = nGramCounts(reference, n)
            var matches = 0
            for (gram, count) in hypothesisCounts { matches += min(count, referenceCounts[gram, default: 0]) }
            return OrderStatistics(
                // sacrebleu: "Don't count hits if no reference exists for that n-gram".
                hypothesis: referenceCounts.isEmpty ? 0 : max(hypothesis.count - n + 1, 0),
                reference: max(reference.count - n + 1, 0),
                matches: matches)
        }
    }

    /// The score from the counts (sacrebleu's `_compute_f_score` without eps smoothing).
    /// The arithmetic is in sacrebleu's order, so the results agree to the last bit.
    static func fScore(_ statistics: [OrderStatistics]) -> Double {
        let factor = beta * beta
        var precisionSum = 0.0, recallSum = 0.0, effectiveOrder = 0
        for s in statistics where s.hypothesis > 0 && s.reference > 0 {
            precisionSum += Double(s.matches) / Double(s.hypothesis)
            recallSum += Double(s.matches) / Double(s.reference)
            effectiveOrder += 1
        }
        guard effectiveOrder > 0 else { return 0 }
        let precision = precisionSum / Double(effectiveOrder), recall = recallSum / Double(effectiveOrder)
        guard precision + recall != 0 else { return 0 }
        return 100 * ((1 + factor) * precision * recall / (factor * precision + recall))
    }

    static func nGramCounts(_ scalars: [Unicode.Scalar], _ n: Int) -> [ArraySlice<Unicode.Scalar>: Int] {
        var counts: [ArraySlice<Unicode.Scalar>: Int] = [:]
        guard scalars.count >= n else { return counts }
        for start in 0...(scalars.count - n) { counts[scalars[start..<(start + n)], default: 0] += 1 }
        return counts
    }

    static func scalarsWithoutWhitespace(_ text: String) -> [Unicode.Scalar] {
        text.unicodeScalars.filter { !isPythonWhitespace($0) }
    }

    /// Python's `str.isspace()`, which `str.split()` splits on: Unicode's White_Space
    /// plus U+001C…U+001F (the information separators, bidirectional class B or S). Swift's
    /// `Unicode.Scalar.Properties.isWhitespace` lacks those four, so it is not used.
    static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }
}
