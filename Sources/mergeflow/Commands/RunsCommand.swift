import Foundation
import Store

let runsCommand = Command(
    name: "runs",
    summary: "list past runs with their status and timings",
    help: """
    usage: mergeflow runs [--limit N] [--run ID] [--cache PATH]

    Newest first: id, spec, status, node counts, start time and duration. A run whose
    process died shows as "interrupted". With --run ID, every node run of that run.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions.union(["--limit", "--run"]))
        _ = try args.positionals()
        let store = try CommandSupport.openStore(args)
        let formatter = ISO8601DateFormatter()
        if let text = args.value("--run") {
            guard let id = Int64(text) else { throw UsageError("--run expects a run id") }
            for n in try store.nodeRuns(ofRun: id) {
                let took = n.finished.map { SpecSupport.duration($0 - n.started) } ?? "-"
                print("\(n.status.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(took.padding(toLength: 8, withPad: " ", startingAt: 0)) \(n.node)\(n.error.map { "  error: \($0)" } ?? "")\(n.detail.map { "  (\($0))" } ?? "")")
            }
            return 0
        }
        for r in try store.runs(limit: try args.integer("--limit", default: 20, in: 1...100_000)) {
            var status = r.status
            if status == "running" && r.host == Store.hostName && kill(pid_t(r.pid), 0) != 0 { status = "interrupted" }
            let took = r.finished.map { SpecSupport.duration($0 - r.started) } ?? "-"
            let counts = r.counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            let when = formatter.string(from: Date(timeIntervalSince1970: r.started))
            print("\(String(r.id).padding(toLength: 5, withPad: " ", startingAt: 0)) \(r.specName.padding(toLength: 20, withPad: " ", startingAt: 0)) \(status.padding(toLength: 11, withPad: " ", startingAt: 0)) \(when)  \(took.padding(toLength: 8, withPad: " ", startingAt: 0)) \(counts)")
        }
        return 0
    }
)
