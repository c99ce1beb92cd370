import Evaluation
import Foundation

/// The report as one self-contained HTML page: the Markdown tables' content as HTML tables,
/// a scatter of win-rate against harm change per stage (Pareto front marked), the general
/// score against the harmful rate with each sweep as a curve (`TradeoffPlot`), and
/// per-language bars of the harm change.
public enum HTMLReport {
    public static func render(_ table: ReportTable, title: String, notes: [String]) -> String {
        var body = "<h1>\(SVGPlot.escape(title))</h1>\n"
        for stage in table.stages {
            let front = table.paretoFront(stage: stage)
            let points = table.variants(in: stage).compactMap { v -> SVGPlot.Point? in
                guard let h = table.summary(variant: v, stage: stage, metric: "harm_change_pct")?.mean,
                      let w = table.summary(variant: v, stage: stage, metric: "win_rate")?.mean else { return nil }
                return SVGPlot.Point(label: v, x: h, y: 100 * w, highlighted: front.contains(v))
            }
            body += "<h2>\(SVGPlot.escape(stage))</h2>\n<figure>"
            body += SVGPlot.scatter(points, xLabel: "harm change vs reference (%) — lower is safer",
                                    yLabel: "win-rate vs reference (%)", title: "\(stage): win-rate vs harm change (red: Pareto front)")
            body += "</figure>\n<figure>"
            if let curves = TradeoffPlot.chart(table, stage: stage) { body += curves + "</figure>\n<figure>" }
            body += SVGPlot.groupedBars(
                categories: table.languages,
                series: table.variants(in: stage).map { v in (v, table.languages.map { table.summary(variant: v, stage: stage, lang: $0, metric: "harm_change_pct")?.mean }) },
                yLabel: "harm change vs reference (%)", title: "\(stage): harm change per language")
            body += "</figure>\n"
            body += htmlTable(table, stage: stage, front: front)
            body += languageTable(table, stage: stage)
        }
        if !notes.isEmpty { body += "<h2>How it was measured</h2>\n<ul>" + notes.map { "<li>\(SVGPlot.escape($0))</li>" }.joined() + "</ul>\n" }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(SVGPlot.escape(title))</title>
        <style>
        body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }
        table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
        th:first-child, td:first-child { text-align: left; font-family: monospace; }
        tr.front td:first-child::after { content: " ★"; color: #c0392b; }
        figure { margin: 1em 0; }
        </style></head><body>
        \(body)</body></html>

        """
    }

    /// Per language: harm change % / win-rate %.
    static func languageTable(_ table: ReportTable, stage: String) -> String {
        var html = "<table><tr><th>variant (harm Δ% / win-rate %)</th>" + table.languages.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
        for v in table.variants(in: stage) {
            html += "<tr><td>\(SVGPlot.escape(v))</td>" + table.languages.map { lang in
                let h = MarkdownReport.format(table.summary(variant: v, stage: stage, lang: lang, metric: "harm_change_pct"), scale: 1)
                let w = MarkdownReport.format(table.summary(variant: v, stage: stage, lang: lang, metric: "win_rate"), scale: 100)
                return "<td>\(h) / \(w)</td>"
            }.joined() + "</tr>\n"
        }
        return html + "</table>\n"
    }

    static func htmlTable(_ table: ReportTable, stage: String, front: Set<String>) -> String {
        let columns: [(String, String, Double)] = [
            ("harm_change_pct", "harm Δ%", 1), ("win_rate", "win-rate %", 100), ("harmful_rate", "harmful %", 100),
            ("false_refusal_rate", "false refusal %", 100), ("chrf", "chrF", 1), ("nll_per_byte", "NLL/byte", 1),
        ]
        var html = "<table><tr><th>variant</th>" + columns.map { "<th>\($0.1)</th>" }.joined() + "</tr>\n"
        for v in table.variants(in: stage) {
            html += "<tr\(front.contains(v) ? " class=\"front\"" : "")><td>\(SVGPlot.escape(v))</td>"
                + columns.map { "<td>\(MarkdownReport.format(table.summary(variant: v, stage: stage, metric: $0.0), scale: $0.2))</td>" }.joined()
                + "</tr>\n"
        }
        return html + "</table>\n"
    }
}
