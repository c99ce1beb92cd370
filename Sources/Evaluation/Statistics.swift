/// The small statistics the reports need: means and spreads over seeds, rates, and
/// changes relative to a baseline.
public enum Statistics {
    /// The arithmetic mean; nil for no values.
    public static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// The sample standard deviation, √(Σ(x − mean)² / (n − 1)); nil for fewer than two
    /// values, where it is undefined. Two passes (mean first), so a large common offset
    /// does not cancel the spread away.
    public static func sampleStandardDeviation(_ values: [Double]) -> Double? {
        guard values.count >= 2, let mean = mean(values) else { return nil }
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (squares / Double(values.count - 1)).squareRoot()
    }

    /// The change of `value` relative to `reference`, in percent: 100 · (value − reference)
    /// / reference. nil when `reference` is 0, where no relative change exists. The sign
    /// follows the formula, so with a negative reference an increase reads as negative.
    public static func relativeChange(value: Double, reference: Double) -> Double? {
        reference == 0 ? nil : 100 * (value - reference) / reference
    }

    /// successes / trials, from 0 to 1; nil when there were no trials.
    /// - Precondition: 0 ≤ successes ≤ trials.
    public static func proportion(successes: Int, trials: Int) -> Double? {
        precondition(successes >= 0 && successes <= trials, "\(successes) successes out of \(trials) trials")
        return trials == 0 ? nil : Double(successes) / Double(trials)
    }

    /// Wilson's score interval at 95% (z = 1.959964) for a proportion `p` observed over
    /// `trials` items: (p + z²/2n ± z·√(p(1 − p)/n + z²/4n²)) / (1 + z²/n). Unlike p ± z·√(p(1 − p)/n)
    /// it stays inside [0, 1] and does not collapse to zero width at 0% or 100%.
    /// - Precondition: trials ≥ 1, 0 ≤ p ≤ 1.
    public static func wilson95(proportion p: Double, trials: Int) -> ClosedRange<Double> {
        precondition(trials >= 1 && (0...1).contains(p), "a proportion in [0, 1] over at least one trial")
        let z = 1.959963984540054, n = Double(trials)
        let denominator = 1 + z * z / n
        let centre = (p + z * z / (2 * n)) / denominator
        let half = z * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot() / denominator
        return max(0, centre - half)...min(1, centre + half)
    }
}
