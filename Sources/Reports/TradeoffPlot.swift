import Foundation

/// The mix-or-merge question as one picture per stage: general score (chrF) against the
/// harmful rate, pooled over languages, with each method's sweep joined into a curve.
///
/// A grid node's variants share the name before `[` (`mix[mix=…]`, `linear[weights=…]`):
/// each such family is one curve, its points in the order the report lists them (the grid's
/// order, so a sweep from general towards safety reads left to right along its line);
/// single variants (`base`, `general`, `safety`) are labelled points. Whiskers are the 95%
/// intervals the tables print, on both axes.
public enum TradeoffPlot {
    static let xMetric = "harmful_rate", yMetric = "chrf"

    /// The families of `stage`, in order of first appearance; variants without both metrics
    /// are left out.
    static func families(_ table: ReportTable, stage: String) -> [SVGPlot.Family] {
        var order: [String] = [], points: [String: [SVGPlot.CurvePoint]] = [:]
        for v in table.variants(in: stage) {
            guard let x = table.estimate(variant: v, stage: stage, metric: xMetric),
                  let y = table.estimate(variant: v, stage: stage, metric: yMetric) else { continue }
            let family = v.firstIndex(of: "[").map { String(v[..<$0]) } ?? v
            if points[family] == nil { order.append(family) }
            points[family, default: []].append(SVGPlot.CurvePoint(
                label: v, x: 100 * x.mean, xHalf: x.halfWidth95.map { 100 * $0 }, y: y.mean, yHalf: y.halfWidth95))
        }
        return order.map { SVGPlot.Family(name: $0, points: points[$0]!) }
    }

    /// One chart for `stage`, or nil when no variant has both metrics.
    public static func chart(_ table: ReportTable, stage: String) -> String? {
        let families = families(table, stage: stage)
        guard !families.isEmpty else { return nil }
        return SVGPlot.curves(families, xLabel: "harmful prompts answered (%) — lower is safer",
                              yLabel: "general score (chrF) — higher is better",
                              title: "\(stage): general score against harm (95% intervals)")
    }

    /// Every stage's chart stacked in one SVG document (the report's `tradeoff.svg`, which a
    /// README can show as an image).
    public static func document(_ table: ReportTable) -> String {
        let charts = table.stages.compactMap { chart(table, stage: $0) }
        let step = SVGPlot.height + 12
        let total = step * Double(max(1, charts.count))
        var svg = String(format: "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n",
                         SVGPlot.width, total, SVGPlot.width, total)
        if charts.isEmpty {
            svg += "<text x=\"20\" y=\"30\" font-size=\"14\">no variant has both a harmful rate and a chrF score</text>\n"
        }
        for (k, chart) in charts.enumerated() {
            // Nested <svg> elements take x/y: each chart placed below the previous one.
            svg += chart.replacingOccurrences(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" ",
                                              with: String(format: "<svg y=\"%.0f\" ", step * Double(k)))
        }
        return svg + "</svg>\n"
    }
}
