import Engine
import Foundation
import JSON
import Reports
import Store

/// `report`: gathers `eval` results into a report — Markdown tables shaped like the paper's
/// Table 1, CSV and JSON Lines of every metric row, an HTML page with SVG plots, and the
/// general-score-against-harm curves as an SVG of their own — as one artifact of five files
/// (`mergeflow report SPEC` writes them out).
///
/// Rows are labelled by the model each eval scored (its instance id, with `seed`
/// coordinates removed so seeds are summarised as mean ± 95% interval); columns are grouped
/// by the evals' `stage` param (e.g. after SFT and after DPO).
public enum ReportOp {
    public static let reportKind = ArtifactKind.report
    public static let files = ["report.md", "metrics.csv", "metrics.jsonl", "report.html", "tradeoff.svg"]

    static let operation = OpDefinition(
        name: "report", version: 7,
        summary: "Markdown / CSV / JSON Lines / HTML report of eval results",
        inputs: [InputSpec("scores", kind: EvalOp.metricsKind, arity: .many, gathersEverything: true,
                           help: "the eval results to report (every instance of every listed node)")],
        params: [
            ParamSpec("title", .string(), default: "mergeflow report", help: "the report's title"),
            ParamSpec("rename", .any, default: .null,
                      help: "model node → the name its rows get, e.g. {\"dpo_ties\": \"ties\"}, so the same method lines up across stages"),
        ],
        produces: reportKind,
        labelsInputs: true,
        run: { context in try run(context) }
    )

    static func run(_ context: OpContext) throws -> ArtifactWriter {
        let manifests = context.inputs["scores"] ?? []
        let labels = context.inputLabels["scores"]?.arrayValue ?? []
        guard labels.count == manifests.count else { throw OpError("report: \(manifests.count) inputs but \(labels.count) labels") }
        var rename: [String: String] = [:]
        if let value = context.params["rename"], !value.isNull {
            guard let object = value.objectValue else { throw OpError("report: rename must be an object of node → name") }
            for key in object.keys {
                guard let name = object[key]?.stringValue, !name.isEmpty else { throw OpError("report: rename.\(key) must be a non-empty string") }
                rename[key] = name
            }
        }
        var metrics: [LabeledMetric] = []
        var notes: [String] = []
        for (manifest, label) in zip(manifests, labels) {
            let (variant, seed) = variantName(label, rename: rename)
            let metadata = manifest.metadata.objectValue
            let stage = metadata?["stage"]?.stringValue ?? "eval"
            for row in MetricRow.rows(inMetadata: manifest.metadata) {
                metrics.append(LabeledMetric(variant: variant, stage: stage, seed: seed, lang: row.lang, objective: row.objective,
                                             metric: row.metric, value: row.value, n: row.n, sd: row.sd))
            }
            for key in ["judge", "refusal_rule"] {
                if let text = metadata?[key]?.stringValue, !notes.contains(text) { notes.append(text) }
            }
        }
        if metrics.isEmpty { throw OpError("report: the eval results hold no metric rows") }
        let table = ReportTable(metrics)
        let title = context.string("title")!
        let contents = [
            MarkdownReport.render(table, title: title, notes: notes),
            DelimitedExport.csv(metrics),
            DelimitedExport.jsonLines(metrics),
            HTMLReport.render(table, title: title, notes: notes),
            TradeoffPlot.document(table),
        ]
        let writer = context.newArtifact(kind: reportKind, metadata: .object(JSONObject([
            ("title", .string(title)), ("variants", .number(Double(table.variants.count))), ("stages", .array(table.stages.map { .string($0) })),
        ])))
        for (name, text) in zip(files, contents) {
            try writer.add(name: name, fileBytes: Array(text.utf8))
        }
        return writer
    }

    /// The evaluated model's instance id with its seed coordinates removed, and those seeds.
    static func variantName(_ label: JSONValue, rename: [String: String] = [:]) -> (String, String) {
        let o = label.objectValue
        var model = o?["inputs"]?.objectValue?["model"]?.arrayValue?.first?.stringValue ?? o?["id"]?.stringValue ?? "?"
        var node = String(model.prefix { $0 != "[" })
        if let name = rename[node] {
            model = name + model.dropFirst(node.count)
            node = name
        }
        guard let coordinates = o?["coordinates"]?.objectValue else { return (model, "") }
        var kept: [(String, JSONValue)] = [], seeds: [String] = []
        for key in coordinates.keys {
            let param = String(key.split(separator: ".").last ?? "")
            let text = "\(param)=\(Instance.render(coordinates[key]!))"
            if param == "seed" { seeds.append(text) } else { kept.append((param, coordinates[key]!)) }
        }
        if seeds.isEmpty { return (model, "") }
        let name = kept.isEmpty ? node : node + "[" + kept.map { "\($0.0)=\(Instance.render($0.1))" }.joined(separator: ",") + "]"
        return (name, seeds.joined(separator: ","))
    }

    /// The files of a report artifact, by name.
    public static func contents(of manifest: ArtifactManifest, store: Store) throws -> [(String, [UInt8])] {
        try files.compactMap { name in
            guard let entry = manifest.tensor(named: name) else { return nil }
            return (name, try store.bytes(of: entry))
        }
    }
}
