/// A metric summarised over seeds or repeats: its mean, sample standard deviation and
/// 95% confidence interval for the mean (Student's t).
public struct Summary: Sendable, Equatable {
    /// The number of values summarised (at least 1).
    public let count: Int
    public let mean: Double
    /// The sample standard deviation (divisor n − 1); nil for a single value.
    public let standardDeviation: Double?
    /// Half the width of the 95% confidence interval for the mean,
    /// t(0.975, n − 1) · s / √n; nil for a single value, where there is no interval.
    public let halfWidth95: Double?

    /// Summarises `values`; nil when there are none. A NaN among them makes the mean and
    /// the spread NaN (a diverged run shows up rather than being dropped).
    public init?(_ values: [Double]) {
        guard let mean = Statistics.mean(values) else { return nil }
        count = values.count
        self.mean = mean
        standardDeviation = Statistics.sampleStandardDeviation(values)
        halfWidth95 = standardDeviation.map {
            StudentT.twoSided95(degreesOfFreedom: values.count - 1) * $0 / Double(values.count).squareRoot()
        }
    }

    /// mean ± `halfWidth95`; nil for a single value.
    public var interval95: ClosedRange<Double>? {
        halfWidth95.map { (mean - $0)...(mean + $0) }
    }
}
