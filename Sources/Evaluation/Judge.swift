/// The win-rate judge, used in place of the paper's LLM judge.
///
/// The rule: for each held-out prompt, the candidate model's answer and the reference
/// model's answer are each scored with chrF (`ChrF`, sacrebleu's default) against the gold
/// answer. The candidate wins the prompt when its score is higher, loses when it is lower,
/// and ties when the two scores are exactly equal (as for identical answers). The win-rate
/// over n prompts is (wins + ½·ties) / n: 0.5 means the candidate is as good as the
/// reference, 1 that it beats it on every prompt.
///
/// Equality is exact, with no tolerance: chrF is a deterministic function of the strings,
/// so identical answers always tie, and different answers tie only when their counts give
/// the same score (for instance both 0 for answers sharing no character with the gold).
public enum Judge {
    /// The candidate's result on one prompt.
    public enum Outcome: Sendable, Equatable { case win, tie, loss }

    /// One prompt, judged: both chrF scores (0–100) and the outcome they give.
    public struct Judgement: Sendable, Equatable {
        public let candidateScore: Double
        public let referenceScore: Double
        public var outcome: Outcome {
            candidateScore > referenceScore ? .win : candidateScore < referenceScore ? .loss : .tie
        }
    }

    /// Judges one prompt.
    /// - Parameters:
    ///   - gold: the held-out answer.
    ///   - candidate: the answer of the model being evaluated.
    ///   - reference: the answer of the model it is compared with.
    public static func judge(gold: String, candidate: String, reference: String) -> Judgement {
        Judgement(candidateScore: ChrF.score(hypothesis: candidate, reference: gold),
                  referenceScore: ChrF.score(hypothesis: reference, reference: gold))
    }

    /// Judges every prompt and tallies the outcomes.
    /// - Parameters:
    ///   - candidates: per held-out prompt, the answer of the model being evaluated.
    ///   - references: per prompt, the answer of the model it is compared with.
    ///   - golds: per prompt, the held-out answer.
    /// - Returns: the tally; its `winRate` is nil when there are no prompts.
    /// - Precondition: the three lists have the same length.
    public static func judge(candidates: [String], references: [String], golds: [String]) -> WinRate {
        precondition(candidates.count == references.count && references.count == golds.count,
                     "\(candidates.count) candidate answers, \(references.count) reference answers and \(golds.count) gold answers")
        return WinRate(golds.indices.map { judge(gold: golds[$0], candidate: candidates[$0], reference: references[$0]).outcome })
    }

    /// The rule in one sentence, for reports and metric metadata.
    public static let rule = "chrF (sacrebleu's default CHRF(): character 6-grams, beta 2, whitespace removed) of "
        + "each answer against the gold answer; the candidate wins a prompt when its score is higher, loses when it "
        + "is lower and ties when the scores are exactly equal; win-rate = (wins + 0.5 * ties) / n."
}
