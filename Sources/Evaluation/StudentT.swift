/// Quantiles of Student's t distribution, for 95% confidence intervals.
public enum StudentT {
    /// t(0.975, df) for df = 1…30: the two-sided 95% critical values, to 6 decimals
    /// (computed by bisection on the t CDF; they agree with the printed tables to 3).
    static let twoSided95Table: [Double] = [
        12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
        2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
        2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
    ]

    /// The normal quantile z(0.975), used for every df above 30.
    static let normal95 = 1.959964

    /// The 0.975 quantile of t with `degreesOfFreedom` degrees of freedom: a 95%
    /// interval is mean ± this · s/√n with df = n − 1.
    ///
    /// Above 30 degrees of freedom it is the normal quantile 1.96, the textbook cut-off;
    /// that understates t by at most 4% (t(0.975, 31) = 2.040) and by less than 1% from
    /// df 120 on. Seed counts here are far below 30.
    /// - Precondition: `degreesOfFreedom >= 1`.
    public static func twoSided95(degreesOfFreedom: Int) -> Double {
        precondition(degreesOfFreedom >= 1, "Student's t needs at least 1 degree of freedom, got \(degreesOfFreedom)")
        return degreesOfFreedom <= twoSided95Table.count ? twoSided95Table[degreesOfFreedom - 1] : normal95
    }
}
