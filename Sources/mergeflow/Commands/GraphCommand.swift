import Engine
import Ops

let graphCommand = Command(
    name: "graph",
    summary: "print the expanded DAG as Graphviz DOT",
    help: """
    usage: mergeflow graph SPEC [--max-instances N]

    One box per instance, labelled with its id and op; edges from inputs to consumers,
    labelled with the input name. Render with `dot -Tsvg`.
    """,
    run: { words in
        let args = try Arguments(words, options: SpecSupport.options)
        let graph = try SpecSupport.load(try args.positionals("SPEC")[0], args)
        print(GraphRendering.dot(graph))
        return 0
    }
)

enum GraphRendering {
    static func dot(_ graph: ExpandedGraph) -> String {
        func escape(_ s: String) -> String { s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") }
        func quote(_ s: String) -> String { "\"" + escape(s) + "\"" }
        var lines = ["digraph \(quote(graph.spec.name)) {", "  rankdir=LR;", "  node [shape=box, fontname=\"Helvetica\"];"]
        for i in graph.instances {
            // DOT's own \n escape puts the op under the id.
            lines.append("  n\(i.index) [label=\"\(escape(i.id))\\n\(i.op.name)\"];")
        }
        for i in graph.instances {
            for input in i.inputs {
                for source in input.instances { lines.append("  n\(source) -> n\(i.index) [label=\(quote(input.name))];") }
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }
}
