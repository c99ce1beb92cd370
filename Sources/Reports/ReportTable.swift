import Evaluation
import Foundation

/// One metric value of one evaluated model: what the report aggregates.
public struct LabeledMetric: Sendable, Equatable {
    /// The model variant, e.g. `merged[method=ties,weights=0.5,0.5]` (seed coordinates removed).
    public var variant: String
    /// The eval node that produced it (a stage, e.g. `eval_sft`, `eval_dpo`).
    public var stage: String
    /// The seed coordinates that were removed from `variant` ("" when there are none).
    public var seed: String
    public var lang: String
    public var objective: String
    public var metric: String
    public var value: Double
    public var n: Int
    /// The standard deviation of the n item values behind `value`, when the eval gave it.
    public var sd: Double?

    public init(variant: String, stage: String, seed: String, lang: String, objective: String, metric: String, value: Double, n: Int,
                sd: Double? = nil) {
        self.variant = variant; self.stage = stage; self.seed = seed; self.lang = lang
        self.objective = objective; self.metric = metric; self.value = value; self.n = n; self.sd = sd
    }
}

/// Every metric of a sweep, grouped for tables: variant × stage × language × metric →
/// summary over seeds.
public struct ReportTable: Sendable {
    public let metrics: [LabeledMetric]
    /// Variants in the order they first appear (the spec's order).
    public let variants: [String]
    public let stages: [String]
    public let languages: [String]

    public init(_ metrics: [LabeledMetric]) {
        self.metrics = metrics
        func ordered(_ key: (LabeledMetric) -> String) -> [String] {
            var seen = Set<String>(), out: [String] = []
            for m in metrics where seen.insert(key(m)).inserted { out.append(key(m)) }
            return out
        }
        variants = ordered(\.variant)
        stages = ordered(\.stage)
        languages = ordered(\.lang).filter { $0 != "all" }
    }

    /// The variants with at least one metric in `stage`, in order.
    public func variants(in stage: String) -> [String] {
        let present = Set(metrics.filter { $0.stage == stage }.map(\.variant))
        return variants.filter { present.contains($0) }
    }

    public func summary(variant: String, stage: String, lang: String = "all", metric: String) -> Summary? {
        let values = metrics.filter { $0.variant == variant && $0.stage == stage && $0.lang == lang && $0.metric == metric }.map(\.value)
        return Summary(values)
    }

    /// A value with its 95% interval, for tables.
    public struct Estimate: Sendable, Equatable {
        public let mean: Double
        /// Half the interval's width (for an asymmetric Wilson interval, its larger side); nil
        /// when there is no interval.
        public let halfWidth95: Double?
        /// The interval is over seeds (several runs) rather than over items (one run).
        public let overSeeds: Bool
    }

    /// The metric's mean with a 95% interval: over seeds when several runs have it (Student's
    /// t over their values); for a single run, over its items: Wilson's score interval for a
    /// rate (metrics named `*_rate`: a share of items, which the t interval would make zero
    /// wide at 0% or 100%), Student's t from the items' standard deviation otherwise.
    public func estimate(variant: String, stage: String, lang: String = "all", metric: String) -> Estimate? {
        let rows = metrics.filter { $0.variant == variant && $0.stage == stage && $0.lang == lang && $0.metric == metric }
        guard let summary = Summary(rows.map(\.value)) else { return nil }
        if rows.count >= 2 { return Estimate(mean: summary.mean, halfWidth95: summary.halfWidth95, overSeeds: true) }
        let row = rows[0]
        var half: Double?
        if metric.hasSuffix("_rate"), row.n >= 1, (0...1).contains(row.value) {
            let interval = Statistics.wilson95(proportion: row.value, trials: row.n)
            half = max(interval.upperBound - row.value, row.value - interval.lowerBound)
        } else if let sd = row.sd, row.n >= 2 {
            half = StudentT.twoSided95(degreesOfFreedom: row.n - 1) * sd / Double(row.n).squareRoot()
        }
        return Estimate(mean: row.value, halfWidth95: half, overSeeds: false)
    }

    /// Variants not dominated on (harm change ↓, win-rate ↑) within a stage: no other variant
    /// is at least as good on both and better on one.
    public func paretoFront(stage: String) -> Set<String> {
        let points = variants.compactMap { v -> (String, Double, Double)? in
            guard let h = summary(variant: v, stage: stage, metric: "harm_change_pct")?.mean,
                  let w = summary(variant: v, stage: stage, metric: "win_rate")?.mean else { return nil }
            return (v, h, w)
        }
        return Set(points.filter { p in
            !points.contains { q in q.1 <= p.1 && q.2 >= p.2 && (q.1 < p.1 || q.2 > p.2) }
        }.map(\.0))
    }
}
