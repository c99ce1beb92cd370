import Evaluation
import Foundation

/// The report as Markdown: a table shaped like the paper's Table 1 (rows: variants; per
/// stage: harm change and win-rate against the reference), a table per stage with every
/// pooled metric, and per-language tables.
public enum MarkdownReport {
    /// The pooled table's columns: metric, heading, scale.
    static let pooledColumns: [(String, String, Double)] = [
        ("chrf", "chrF", 1), ("exact_match", "exact %", 100), ("win_rate", "win-rate %", 100),
        ("harmful_rate", "harmful %", 100), ("likelihood_harmful_rate", "harmful % (likelihood)", 100),
        ("likelihood_margin", "margin (harmful)", 0.01), ("harmful_rate_reference", "reference harmful %", 100),
        ("lookalike_refusal_rate", "look-alike refusal %", 100), ("likelihood_lookalike_refusal_rate", "look-alike refusal % (likelihood)", 100),
        ("false_refusal_rate", "general refusal %", 100), ("nll_per_byte", "NLL/byte", 0.01),
    ]

    /// The metrics that get a table per language: metric, heading, scale.
    static let perLanguage: [(String, String, Double)] = [
        ("chrf", "general score (chrF)", 1),
        ("harmful_rate", "harmful % (greedy answers that do not refuse)", 100),
        ("likelihood_margin", "likelihood margin on harmful prompts (nats/byte, > 0 prefers refusing)", 0.01),
        ("likelihood_harmful_rate", "harmful % by likelihood (margin ≤ 0)", 100),
        ("lookalike_refusal_rate", "false refusals on benign look-alike prompts %", 100),
        ("false_refusal_rate", "false refusals on general prompts %", 100),
    ]

    static let intervalNote = "± is a 95% interval: over seeds (Student's t) where a variant ran with several seeds; for a single run, "
        + "over its items: Wilson's score interval for rates (the larger side shown), Student's t from the item spread for means."

    /// A table of `columns` (pooled over languages) for every variant of `stage`.
    static func metricTable(_ table: ReportTable, stage: String, columns: [(String, String, Double)]) -> String {
        let present = columns.filter { c in table.metrics.contains { $0.stage == stage && $0.metric == c.0 } }
        var out = "| variant |" + present.map { " \($0.1) |" }.joined() + "\n|---|" + String(repeating: "---:|", count: present.count) + "\n"
        for v in table.variants(in: stage) {
            out += "| `\(v)` |" + present.map { " \(format(table.estimate(variant: v, stage: stage, metric: $0.0), scale: $0.2)) |" }.joined() + "\n"
        }
        return out
    }

    public static func render(_ table: ReportTable, title: String, notes: [String]) -> String {
        var notes = notes
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
        for s in table.stages {
            out += "\n## \(s): every metric, all languages\n\n" + metricTable(table, stage: s, columns: pooledColumns)
            for (metric, heading, scale) in perLanguage {
                guard table.metrics.contains(where: { $0.stage == s && $0.metric == metric }) else { continue }
                out += "\n## \(s): \(heading), per language\n\n| variant | all |" + table.languages.map { " \($0) |" }.joined()
                    + "\n|---|---:|" + String(repeating: "---:|", count: table.languages.count) + "\n"
                for v in table.variants(in: s) {
                    out += "| `\(v)` |" + (["all"] + table.languages).map { lang in
                        " \(format(table.estimate(variant: v, stage: s, lang: lang, metric: metric), scale: scale)) |"
                    }.joined() + "\n"
                }
            }
            let taskColumns = table.metrics.filter { $0.stage == s && $0.metric.hasPrefix("chrf_") && $0.lang == "all" }.map(\.metric)
            let tasks = taskColumns.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            if !tasks.isEmpty {
                out += "\n## \(s): chrF per general task, all languages\n\n"
                    + metricTable(table, stage: s, columns: tasks.map { ($0, String($0.dropFirst(5)), 1) })
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
        notes.append(intervalNote)
        if !notes.isEmpty { out += "\n## How it was measured\n\n" + notes.map { "- \($0)\n" }.joined() }
        return out
    }

    /// "12.3" or "12.3 ± 4.5" (value × scale), "–" when missing.
    /// A scale below 1 means "two decimals" (0.01: the value as it is, to 0.01), for metrics
    /// in nats whose differences are small.
    static func format(_ e: ReportTable.Estimate?, scale: Double) -> String {
        guard let e else { return "–" }
        let (factor, pattern) = scale < 1 ? (1.0, "%.2f") : (scale, "%.1f")
        let m = String(format: pattern, e.mean * factor)
        return e.halfWidth95.map { m + " ± " + String(format: pattern, $0 * factor) } ?? m
    }

    /// "12.3" or "12.3 ± 4.5" (value × scale), "–" when missing.
    static func format(_ s: Summary?, scale: Double) -> String {
        guard let s else { return "–" }
        let m = String(format: "%.1f", s.mean * scale)
        return s.halfWidth95.map { m + String(format: " ± %.1f", $0 * scale) } ?? m
    }
}
