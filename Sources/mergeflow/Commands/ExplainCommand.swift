import Engine
import Ops
import JSON
import Store

let explainCommand = Command(
    name: "explain",
    summary: "say why a node would run (or that it is cached)",
    help: """
    usage: mergeflow explain SPEC NODE [--json] [--max-instances N] [--cache PATH]

    NODE is a node id (all its instances) or an instance id such as
    'merged[method=ties,weights=0.5,0.5]'. Compares each instance's action with the last
    one it completed under this spec's name: "params.weight changed 0.5 → 0.7", "input
    model changed", "op version bumped 1 → 2", "never run".
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions.union(SpecSupport.options), flags: ["--json"])
        let p = try args.positionals("SPEC", "NODE")
        let graph = try SpecSupport.load(p[0], args)
        let wanted = try SpecSupport.instances([p[1]], in: graph)
        let store = try CommandSupport.openStore(args)
        let plan = try Plan(graph: graph, store: store)
        let entries = plan.entries.filter { wanted.contains($0.instance) }
        if args.has("--json") {
            print(JSONValue.array(entries.map { PlanRendering.json($0, graph) }).serialized(pretty: true))
            return 0
        }
        for e in entries {
            let id = graph.instances[e.instance].id
            switch e.state {
            case .cached(let d): print("\(id): cached (artifact \(d.short), key \(e.key!.short))")
            case .run(let reasons):
                print("\(id): would run")
                for r in reasons { print("  - \(r)") }
            }
        }
        return 0
    }
)
