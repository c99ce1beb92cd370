import Engine
import Ops
import JSON
import Store

let planCommand = Command(
    name: "plan",
    summary: "show every instance of a spec: cached, or to run and why",
    help: """
    usage: mergeflow plan SPEC [--json] [--max-instances N] [--cache PATH]

    One pass over the expanded DAG: each instance's action key is computed from its inputs'
    digests and looked up. Instances downstream of work still to do cannot be keyed yet and
    are listed as to run. --json prints one object per instance.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions.union(SpecSupport.options), flags: ["--json"])
        let graph = try SpecSupport.load(try args.positionals("SPEC")[0], args)
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
