import Engine
import JSON
import Store

let planCommand = Command(
    name: "plan",
    summary: "show every instance of a spec: cached, or to run and why",
    help: """
    usage: mergeflow plan SPEC [--json] [--cache PATH]

    One pass over the expanded DAG: each instance's action key is computed from its inputs'
    digests and looked up. Instances downstream of work still to do cannot be keyed yet and
    are listed as to run. --json prints one object per instance.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions, flags: ["--json"])
        let graph = try SpecSupport.load(try args.positionals("SPEC")[0])
        let store = try CommandSupport.openStore(args)
        let plan = try Plan(graph: graph, store: store)
        if args.has("--json") {
            print(JSONValue.array(plan.entries.map { PlanRendering.json($0, graph) }).serialized(pretty: true))
            return 0
        }
        for e in plan.entries { print(PlanRendering.line(e, graph)) }
        print("\(graph.spec.name): \(plan.entries.count) instances, \(plan.cachedCount) cached, \(plan.toRunCount) to run")
        return 0
    }
)

let explainCommand = Command(
    name: "explain",
    summary: "say why a node would run (or that it is cached)",
    help: """
    usage: mergeflow explain SPEC NODE [--json] [--cache PATH]

    NODE is a node id (all its instances) or an instance id such as
    'merged[method=ties,weights=0.5,0.5]'. Compares each instance's action with the last
    one it completed under this spec's name: "params.weight changed 0.5 → 0.7", "input
    model changed", "op version bumped 1 → 2", "never run".
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions, flags: ["--json"])
        let p = try args.positionals("SPEC", "NODE")
        let graph = try SpecSupport.load(p[0])
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

/// How plan entries print.
enum PlanRendering {
    static func line(_ e: Plan.Entry, _ graph: ExpandedGraph) -> String {
        let id = graph.instances[e.instance].id
        switch e.state {
        case .cached(let d): return "cached  \(id)  → \(d.short)"
        case .run(let reasons): return "to run  \(id)  (\(reasons.joined(separator: "; ")))"
        }
    }

    static func json(_ e: Plan.Entry, _ graph: ExpandedGraph) -> JSONValue {
        let instance = graph.instances[e.instance]
        var o = JSONObject([("instance", .string(instance.id)), ("node", .string(instance.node)), ("op", .string(instance.op.name))])
        o["key"] = e.key.map { .string($0.hex) } ?? .null
        switch e.state {
        case .cached(let d): o["state"] = "cached"; o["artifact"] = .string(d.hex)
        case .run(let reasons): o["state"] = "run"; o["reasons"] = .array(reasons.map { .string($0) })
        }
        return .object(o)
    }
}
