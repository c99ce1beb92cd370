import Engine
import Ops
import Foundation
import Numerics
import Store

let reportCommand = Command(
    name: "report",
    summary: "run a spec and write its reports (Markdown, CSV, JSON Lines, HTML)",
    help: """
    usage: mergeflow report SPEC [--out DIR] [--jobs N] [--quiet] [--max-instances N] [--cache PATH] [--threads N]

    Runs SPEC like `mergeflow run` (nothing cached runs again), then writes the files of
    every `report` node to DIR (default: results/<spec name>/ beside the spec; one
    subfolder per instance when a report node has several): report.md, metrics.csv,
    metrics.jsonl, report.html. Prints the Markdown report.
    Exit code 0 when every report was written, 1 if the run failed, 2 for an invalid spec.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions.union(SpecSupport.options).union(SpecSupport.runOptionNames).union(["--out"]), flags: SpecSupport.runFlags)
        let path = try args.positionals("SPEC")[0]
        let graph = try SpecSupport.load(path, args)
        let reports = graph.instances.filter { $0.op.name == "report" }
        if reports.isEmpty { throw UsageError("\(path) has no report node (op \"report\")") }
        let store = try CommandSupport.openStore(args)
        let options = try SpecSupport.runOptions(args, specPath: path)
        let scheduler = Scheduler(store: store, graph: graph, options: options)
        scheduler.slurm?.cancelOnInterrupt()
        let summary = try scheduler.run()
        for f in summary.failed { print("failed: \(f.instance): \(f.error)", to: &standardError) }
        let out = args.value("--out") ?? URL(fileURLWithPath: graph.spec.directory)
            .appendingPathComponent("results").appendingPathComponent(graph.spec.name).path
        var written = 0
        for instance in reports {
            guard let digest = summary.artifacts[instance.index] else {
                print("\(instance.id): no report (an input failed)", to: &standardError)
                continue
            }
            let folder = reports.count == 1 ? out : (out as NSString).appendingPathComponent(instance.id)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (name, bytes) in try ReportOp.contents(of: try store.manifest(digest), store: store) {
                try Data(bytes).write(to: URL(fileURLWithPath: folder).appendingPathComponent(name), options: .atomic)
                if name == "report.md" && !args.has("--quiet") { print(String(decoding: bytes, as: UTF8.self)) }
            }
            print("wrote \(folder)/{\(ReportOp.files.joined(separator: ","))}")
            written += 1
        }
        return written == reports.count && summary.succeeded ? 0 : 1
    }
)
