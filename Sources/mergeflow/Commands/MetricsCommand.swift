import Engine
import Ops
import Foundation
import JSON
import Reports
import Store

let metricsCommand = Command(
    name: "metrics",
    summary: "print the metric rows of a spec's cached evals (table or CSV)",
    help: """
    usage: mergeflow metrics SPEC [NODE]... [--metric M]... [--lang L]... [--objective O]...
                             [--csv] [--cache PATH]

    One line per metric row of every cached result of the spec's eval nodes and command
    nodes with a metrics output (or of the
    NODEs named: node ids or instance ids): instance, stage, language, objective, metric,
    value and number of items. Filters keep rows whose field is one of the values given.
    Instances not computed yet are listed on standard error. The same rows are in the
    cache's SQL view `node_metrics` (spec, node, stage, lang, objective, metric, value, n).
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions.union(SpecSupport.options).union(["--metric", "--lang", "--objective"]), flags: ["--csv"])
        guard let specPath = args.positionals.first else { throw UsageError("expected SPEC [NODE]...") }
        let store = try CommandSupport.openStore(args)
        let graph = try SpecSupport.load(specPath, args)
        let named = Array(args.positionals.dropFirst())
        // Every node whose result is metric rows: evals, and commands declaring a metrics output.
        let wanted = named.isEmpty ? Set(graph.instances.indices.filter { i in
            graph.instances[i].op.kind(producedWith: graph.instances[i].params) == MetricRow.artifactKind
        }) : try SpecSupport.instances(named, in: graph)
        let filters = [("metric", args.all("--metric")), ("lang", args.all("--lang")), ("objective", args.all("--objective"))]
        var table: [[String]] = [["instance", "stage", "lang", "objective", "metric", "value", "n"]]
        var missing: [String] = []
        for entry in try Plan(graph: graph, store: store).entries where wanted.contains(entry.instance) {
            let id = graph.instances[entry.instance].id
            guard case .cached(let digest) = entry.state else { missing.append(id); continue }
            let manifest = try store.manifest(digest)
            guard manifest.kind == MetricRow.artifactKind, let metadata = manifest.metadata.objectValue else {
                throw UsageError("\(id) is not an eval (its result is a \(manifest.kind))")
            }
            let stage = metadata["stage"]?.stringValue ?? ""
            for row in MetricRow.rows(inMetadata: manifest.metadata) {
                let fields = ["metric": row.metric, "lang": row.lang, "objective": row.objective]
                guard filters.allSatisfy({ name, values in values.isEmpty || values.contains(fields[name]!) }) else { continue }
                table.append([id, stage, row.lang, row.objective, row.metric, JSONValue.number(row.value).serialized(),
                              JSONValue.number(Double(row.n)).serialized()])
            }
        }
        if args.has("--csv") {
            for line in table { print(line.map(DelimitedExport.quote).joined(separator: ",")) }
        } else {
            let widths = (0..<table[0].count).map { c in table.map { $0[c].count }.max()! }
            for line in table {
                print(zip(line, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces))
            }
        }
        if !missing.isEmpty { print("not in the cache (run the spec first): \(missing.joined(separator: ", "))", to: &standardError) }
        return 0
    }
)
