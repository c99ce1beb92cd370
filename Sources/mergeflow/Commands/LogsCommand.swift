import Engine
import Ops
import Foundation
import Store

let logsCommand = Command(
    name: "logs",
    summary: "print what a command node's program wrote on stdout and stderr",
    help: """
    usage: mergeflow logs SPEC NODE [--max-instances N] [--cache PATH]

    NODE is a command node (all its instances) or an instance id. Prints the last MiB of the
    program's stdout and stderr: those kept with the cached result, else those of the last
    attempt that failed or was interrupted. Exit code 1 when an instance has no logs.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions.union(SpecSupport.options))
        let p = try args.positionals("SPEC", "NODE")
        let graph = try SpecSupport.load(p[0], args)
        let wanted = try SpecSupport.instances([p[1]], in: graph)
        let store = try CommandSupport.openStore(args)
        var missing = false
        for entry in try Plan(graph: graph, store: store).entries where wanted.contains(entry.instance) {
            let instance = graph.instances[entry.instance]
            guard instance.op.name == "command" else {
                throw UsageError("\(instance.id) is a \(instance.op.name) node; only command nodes have logs")
            }
            guard let key = entry.key, let logs = try CommandLog.find(actionKey: key, store: store) else {
                print("\(instance.id): no logs (never run, or an input is not computed yet)")
                missing = true
                continue
            }
            print("== \(instance.id): \(logs.origin)")
            print("-- stdout")
            print(logs.stdout, terminator: logs.stdout.hasSuffix("\n") || logs.stdout.isEmpty ? "" : "\n")
            print("-- stderr")
            print(logs.stderr, terminator: logs.stderr.hasSuffix("\n") || logs.stderr.isEmpty ? "" : "\n")
        }
        return missing ? 1 : 0
    }
)
