import Engine
import Foundation
import Store

/// Loading a spec for the commands that take one.
enum SpecSupport {
    /// Parses, validates and expands the spec at `path`; every problem is reported at once.
    static func load(_ path: String) throws -> ExpandedGraph {
        let spec = try SpecParser.load(path)
        return try ExpandedGraph(spec: spec, file: path)
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

    static func duration(_ seconds: Double) -> String {
        seconds < 60 ? String(format: "%.2fs", seconds) : String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    }
}
