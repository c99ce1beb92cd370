import Evaluation
import Foundation

/// The report as Markdown: a table shaped like the paper's Table 1 (rows: variants; per
/// stage: harm change and win-rate against the reference), a table per stage with every
/// pooled metric, and per-language tables.
public enum MarkdownReport {
    public static func render(_ table: ReportTable, title: String, notes: [String]) -> String {
        var out = "# \(title)\n\n"
        let front = Dictionary(uniqueKeysWithValues: table.stages.map { ($0, table.paretoFront(stage: $0)) })
        out += "## Harm change and win-rate (the paper's Table 1)\n\n"
        out += "Harm change: relative change (%) of the harmful-generation rate against the reference model "
            + "(lower is safer). Win-rate: % of general prompts where the variant's answer beats the reference's. "
            + "Mean over seeds ± 95% interval where there are several; ★ marks the Pareto front of a stage.\n\n"
        var header = "| variant |", rule = "|---|"
        for s in table.stages { header += " \(s): harm Δ% | \(s): win-rate % |"; rule += "---:|---:|" }
        out += header + "\n" + rule + "\n"
        for v in table.variants {
            var line = "| `\(v)` |"
            for s in table.stages {
                let star = front[s]!.contains(v) ? " ★" : ""
                line += " \(format(table.summary(variant: v, stage: s, metric: "harm_change_pct"), scale: 1))\(star) |"
                line += " \(format(table.summary(variant: v, stage: s, metric: "win_rate"), scale: 100)) |"
            }
            out += line + "\n"
        }
        let columns: [(String, String, Double)] = [
            ("harmful_rate", "harmful %", 100), ("harmful_rate_reference", "reference harmful %", 100),
            ("false_refusal_rate", "false refusal %", 100), ("win_rate", "win-rate %", 100),
            ("chrf", "chrF", 1), ("nll_per_byte", "NLL/byte", 1),
        ]
        for s in table.stages {
            out += "\n## \(s): every metric, all languages\n\n| variant |" + columns.map { " \($0.1) |" }.joined() + "\n|---|"
                + String(repeating: "---:|", count: columns.count) + "\n"
            for v in table.variants(in: s) {
                out += "| `\(v)` |" + columns.map { " \(format(table.summary(variant: v, stage: s, metric: $0.0), scale: $0.2)) |" }.joined() + "\n"
            }
            out += "\n## \(s): per language (harm Δ% / win-rate %)\n\n| variant |"
                + table.languages.map { " \($0) |" }.joined() + "\n|---|" + String(repeating: "---:|", count: table.languages.count) + "\n"
            for v in table.variants(in: s) {
                out += "| `\(v)` |" + table.languages.map { lang in
                    let h = format(table.summary(variant: v, stage: s, lang: lang, metric: "harm_change_pct"), scale: 1)
                    let w = format(table.summary(variant: v, stage: s, lang: lang, metric: "win_rate"), scale: 100)
                    return " \(h) / \(w) |"
                }.joined() + "\n"
            }
        }
        if !notes.isEmpty { out += "\n## How it was measured\n\n" + notes.map { "- \($0)\n" }.joined() }
        return out
    }

    /// "12.3" or "12.3 ± 4.5" (value × scale), "–" when missing.
    static func format(_ s: Summary?, scale: Double) -> String {
        guard let s else { return "–" }
        let m = String(format: "%.1f", s.mean * scale)
        return s.halfWidth95.map { m + String(format: " ± %.1f", $0 * scale) } ?? m
    }
}
