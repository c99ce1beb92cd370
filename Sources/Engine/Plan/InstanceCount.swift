/// Counting instances before they exist, so a grid too large to expand is refused without
/// allocating it.
enum InstanceCount {
    /// The product of `factors`, or `Int.max` when it overflows.
    static func product(_ factors: [Int]) -> Int {
        var total = 1
        for f in factors {
            let (p, overflow) = total.multipliedReportingOverflow(by: f)
            if overflow { return Int.max }
            total = p
        }
        return total
    }
}
