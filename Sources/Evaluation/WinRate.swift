/// Wins, ties and losses of a candidate model against a reference model over n prompts
/// (the rule is on `Judge`).
public struct WinRate: Sendable, Equatable {
    public let wins: Int
    public let ties: Int
    public let losses: Int

    public init(wins: Int, ties: Int, losses: Int) {
        precondition(wins >= 0 && ties >= 0 && losses >= 0, "negative count: \(wins) wins, \(ties) ties, \(losses) losses")
        self.wins = wins
        self.ties = ties
        self.losses = losses
    }

    /// Tallies per-prompt outcomes.
    public init(_ outcomes: some Sequence<Judge.Outcome>) {
        var wins = 0, ties = 0, losses = 0
        for outcome in outcomes {
            switch outcome {
            case .win: wins += 1
            case .tie: ties += 1
            case .loss: losses += 1
            }
        }
        self.init(wins: wins, ties: ties, losses: losses)
    }

    /// The number of prompts judged.
    public var n: Int { wins + ties + losses }

    /// (wins + ½·ties) / n, from 0 to 1; nil when no prompt was judged (an empty held-out
    /// set has no win-rate, and 0.5 or 0 would read as a result).
    public var winRate: Double? {
        n == 0 ? nil : (Double(wins) + 0.5 * Double(ties)) / Double(n)
    }
}
