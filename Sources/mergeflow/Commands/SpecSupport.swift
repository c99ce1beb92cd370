import Engine
import Ops
import Foundation
import Numerics
import Store

/// Loading a spec for the commands that take one.
enum SpecSupport {
    /// Options every command that expands a spec takes.
    static let options: Set<String> = ["--max-instances"]

    /// Parses, validates and expands the spec at `path`; every problem is reported at once.
    /// `--max-instances` (when `args` are given) bounds the expansion.
    static func load(_ path: String, _ args: Arguments? = nil) throws -> ExpandedGraph {
        let limit = try args?.integer("--max-instances", default: ExpandedGraph.defaultInstanceLimit, in: 1...Int.max)
            ?? ExpandedGraph.defaultInstanceLimit
        let spec = try SpecParser.load(path)
        return try ExpandedGraph(spec: spec, file: path, instanceLimit: limit)
    }

    /// Instances named by node ids or instance ids.
    static func instances(_ names: [String], in graph: ExpandedGraph) throws -> Set<Int> {
        var out = Set<Int>()
        for name in names {
            let found = graph.instances(matching: name)
            guard !found.isEmpty else {
                throw UsageError("no node or instance \"\(name)\" in \(graph.spec.name) (nodes: \(graph.spec.nodes.map(\.id).joined(separator: ", ")))")
            }
            out.formUnion(found)
        }
        return out
    }

    /// Each instance `name` (a node, or an instance id) names, with its cached result, if any.
    static func cachedResults(of name: String, in graph: ExpandedGraph, store: Store) throws -> [(id: String, digest: Digest?)] {
        let wanted = try instances([name], in: graph)
        return try Plan(graph: graph, store: store).entries.filter { wanted.contains($0.instance) }.map { e in
            if case .cached(let d) = e.state { return (graph.instances[e.instance].id, d) }
            return (graph.instances[e.instance].id, nil)
        }
    }

    /// Options every command that runs a spec takes, beside `--jobs`.
    static let runOptionNames: Set<String> = ["--jobs", "--gpus", "--memory-gb", "--executor", "--partition", "--account",
                                              "--slurm-arg", "--spool", "--max-jobs"]

    /// Flags every command that runs a spec takes.
    static let runFlags: Set<String> = ["--quiet", "--in-process"]

    /// Options shared by the commands that run a spec: `--jobs`, the thread budget, the
    /// progress style (live on a terminal, lines otherwise, none with `--quiet`), the command
    /// line, and how heavy ops start their child process (`mergeflow exec` of this very
    /// binary on the spec at `specPath`), unless `--in-process`.
    static func runOptions(_ args: Arguments, specPath: String) throws -> RunOptions {
        var options = RunOptions()
        options.computeThreads = .numerics
        if !args.has("--in-process") {
            let limit = try args.integer("--max-instances", default: ExpandedGraph.defaultInstanceLimit, in: 1...Int.max)
            options.childProcess = ChildProcessExecutor.Launch(
                executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
                specPath: URL(fileURLWithPath: specPath).standardizedFileURL.path,
                cachePath: URL(fileURLWithPath: args.cachePath).standardizedFileURL.path, instanceLimit: limit)
        }
        options.jobs = try args.integer("--jobs", default: 1, in: 1...256)
        if args.value("--memory-gb") != nil {
            let gb = try args.number("--memory-gb", default: 0)
            guard gb > 0 else { throw UsageError("--memory-gb expects a positive number of GB, got \(gb)") }
            options.memoryGB = gb
        }
        if let list = args.value("--gpus"), !list.isEmpty {
            var ids: [Int] = []
            for part in list.split(separator: ",", omittingEmptySubsequences: false) {
                guard let id = Int(part.trimmingCharacters(in: .whitespaces)), id >= 0 else {
                    throw UsageError("--gpus expects device ids such as 0,1; got \"\(list)\"")
                }
                guard !ids.contains(id) else { throw UsageError("--gpus names device \(id) twice") }
                ids.append(id)
            }
            options.gpus = ids
        }
        options.threads = ComputeThreads.count
        switch args.value("--executor") ?? "local" {
        case "local":
            for name in ["--partition", "--account", "--slurm-arg", "--spool", "--max-jobs"] where !args.all(name).isEmpty {
                throw UsageError("\(name) needs --executor slurm")
            }
        case "slurm":
            let cacheFolder = URL(fileURLWithPath: args.cachePath).standardizedFileURL.deletingLastPathComponent().path
            var slurm = SlurmExecutor.Options(
                executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
                specPath: URL(fileURLWithPath: specPath).standardizedFileURL.path,
                spool: URL(fileURLWithPath: args.value("--spool") ?? cacheFolder + "/mergeflow-spool").standardizedFileURL.path,
                instanceLimit: try args.integer("--max-instances", default: ExpandedGraph.defaultInstanceLimit, in: 1...Int.max))
            slurm.partition = args.value("--partition")
            slurm.account = args.value("--account")
            slurm.extraArguments = args.all("--slurm-arg")
            options.slurm = slurm
            options.jobs = try args.integer("--max-jobs", default: 1000, in: 1...1_000_000)
        case let other:
            throw UsageError("--executor expects local or slurm, got \"\(other)\"")
        }
        options.progress = args.has("--quiet") ? .quiet : (isatty(1) == 1 ? .live : .lines)
        options.command = (["mergeflow"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        return options
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 60 ? String(format: "%.2fs", seconds) : String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    }
}
