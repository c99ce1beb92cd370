import Engine
import Ops
import Foundation
import Numerics
import Store

/// Hidden: the child process of the child-process executor. Not for people: `run` starts it.
let execCommand = Command(
    name: "exec",
    summary: "(internal) run one leased instance of a spec against the cache, for `run`",
    help: """
    usage: mergeflow exec SPEC INSTANCE --cache PATH --key HEX --inputs HEX,… --owner OWNER
                          --node-run ID --threads N --max-instances N --parent PID
           mergeflow exec --spool-task DIR      (inside a Slurm job of `run --executor slurm`)

    Started by `mergeflow run` for ops that run isolated (training, evaluation, large
    merges). Recomputes INSTANCE's action key from the input digests, refuses to run if it
    differs from --key (the spec changed), runs the op under the coordinator's lease and
    publishes the result. Reports progress and the outcome on stdout, one line each.
    Ends itself when the coordinator (--parent) is gone.
    Exit code 0 when published, 1 when the op failed, 2 for a malformed request.
    """,
    run: { words in
        if words.first == "--serve" {
            // exec --serve SPEC --cache PATH --max-instances N --parent PID: a worker kept
            // between jobs (requests on stdin, one per line), for ops that reuse workers.
            let args = try Arguments(Array(words.dropFirst()), options: ["--cache", "--max-instances", "--parent"], flags: [])
            guard let specPath = args.positionals.first, let cache = args.value("--cache"),
                  let limit = Int(args.value("--max-instances") ?? ""), let parent = Int32(args.value("--parent") ?? "") else {
                throw UsageError("exec --serve SPEC --cache PATH --max-instances N --parent PID")
            }
            let spec = try SpecParser.load(specPath)
            let graph = try ExpandedGraph(spec: spec, file: specPath, instanceLimit: limit)
            let store = try Store(path: cache)
            return ExecWorker.serveRequests(graph: graph, store: store, parent: parent) { ComputeThreads.set($0.threads) }
        }
        // A Slurm job of `run --executor slurm`: everything is in its task folder.
        if words.count == 2, words[0] == "--spool-task" { return SlurmWorker.serve(taskDirectory: words[1], registry: .builtin) }
        let request: ExecRequest
        do {
            request = try ExecRequest(parsing: words)
        } catch {
            throw UsageError("\(error)")
        }
        ComputeThreads.set(request.threads)
        let spec = try SpecParser.load(request.specPath)
        let graph = try ExpandedGraph(spec: spec, file: request.specPath, instanceLimit: request.instanceLimit)
        let store = try Store(path: request.cachePath)
        return ExecWorker.serve(request, graph: graph, store: store)
    }
)
