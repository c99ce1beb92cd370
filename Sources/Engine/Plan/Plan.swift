import JSON
import Store

/// What `run` would do for each instance, decided in one pass over the DAG.
public struct Plan: Sendable {
    public enum State: Sendable {
        /// The result is in the cache.
        case cached(Digest)
        /// It will run, for these reasons.
        case run([String])
    }

    public struct Entry: Sendable {
        public let instance: Int
        /// nil while an input's result is not yet known.
        public let key: Digest?
        public let state: State
    }

    public let graph: ExpandedGraph
    public let entries: [Entry]

    public var cachedCount: Int { entries.filter { if case .cached = $0.state { return true } else { return false } }.count }
    public var toRunCount: Int { entries.count - cachedCount }

    /// Plans every instance: computes its key from its inputs' digests where those are
    /// known, looks the key up, and explains every instance that must run.
    /// - Parameter force: instances to rerun even if cached.
    public init(graph: ExpandedGraph, store: Store, force: Set<Int> = []) throws {
        self.graph = graph
        var digests: [Int: Digest] = [:]
        var entries: [Entry] = []
        entries.reserveCapacity(graph.instances.count)
        for instance in graph.instances {
            let waiting = instance.dependencies.filter { digests[$0] == nil }
            if !waiting.isEmpty {
                let names = Set(waiting.map { graph.instances[$0].id }).sorted()
                let shown = names.prefix(3).joined(separator: ", ") + (names.count > 3 ? " and \(names.count - 3) more" : "")
                entries.append(Entry(instance: instance.index, key: nil, state: .run(["input \(shown) will run first"])))
                continue
            }
            let action: Action
            switch try KeyResolution.resolve(instance, inputDigests: digests, directory: graph.spec.directory, store: store,
                                             force: force.contains(instance.index)) {
            case .unkeyable(let message):
                entries.append(Entry(instance: instance.index, key: nil, state: .run(["cannot compute its key: \(message)"])))
                continue
            case .cached(let a, let hit):
                digests[instance.index] = hit
                entries.append(Entry(instance: instance.index, key: a.key, state: .cached(hit)))
                continue
            case .miss(let a):
                action = a
            }
            var reasons: [String] = []
            if force.contains(instance.index) { reasons.append("forced (--force)") }
            reasons += try Plan.reasons(for: instance, action: action, specName: graph.spec.name, store: store)
            entries.append(Entry(instance: instance.index, key: action.key, state: .run(reasons)))
        }
        self.entries = entries
    }

    /// Compares the action with the last one this instance completed under this spec name.
    static func reasons(for instance: Instance, action: Action, specName: String, store: Store) throws -> [String] {
        guard let last = try store.lastCompletion(specName: specName, instance: instance.id) else {
            // An earlier attempt that never finished still explains itself.
            if let d = try store.actionDescription(action.key.hex), !d.isEmpty,
               try !store.executions(ofKey: action.key).isEmpty {
                return ["never finished (an earlier run was interrupted or failed)"]
            }
            return ["never run"]
        }
        if last.key == action.key.hex { return ["its cached result is gone (removed by gc, or chunks missing)"] }
        guard let previous = try? JSONValue.parse(last.description) else { return ["previous action unreadable"] }
        let diffs = Action.differences(from: previous, to: action.description)
        return diffs.isEmpty ? ["key changed"] : diffs
    }
}
