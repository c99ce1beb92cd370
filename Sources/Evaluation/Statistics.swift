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
}
