import JSON

/// A spec with its grids expanded: every instance, in an order where inputs come first.
///
/// - A node with a `grid` becomes one instance per combination of values.
/// - An input that takes one artifact fans the consumer out over the referenced node's
///   instances; an input that takes a list gathers all of them — except that an explicit
///   list of several nodes sharing upstream grid axes is aligned on those axes (one
///   consumer per value, e.g. a merge per seed of the base the merged models share).
/// - Instances are combined only where their shared coordinates agree.
public struct ExpandedGraph: Sendable {
    public let spec: Spec
    public let instances: [Instance]
    /// Node id → its instances' indices.
    public let byNode: [String: [Int]]

    /// Instances a spec may expand to unless told otherwise (`--max-instances`). A sweep
    /// of this size already takes hours to run; a typo (an extra zero in a grid, a chain of
    /// gridded nodes that multiplies) should fail at once, not exhaust memory.
    public static let defaultInstanceLimit = 100_000

    /// - Parameter instanceLimit: the most instances the whole spec may have; counted before
    ///   each node is expanded, so a spec over the limit fails without allocating it.
    public init(spec: Spec, registry: OpRegistry, file: String = "spec",
                instanceLimit: Int = ExpandedGraph.defaultInstanceLimit) throws(SpecError) {
        self.spec = spec
        var instances: [Instance] = []
        var byNode: [String: [Int]] = [:]
        var issues: [SpecIssue] = []
        for node in ExpandedGraph.topologicalOrder(spec) {
            guard let op = registry[node.op] else { continue }
            let path = JSONPath.root.appending("nodes").appending(node.id)
            // Partial instances: coordinates so far and the inputs chosen.
            var partials: [(coords: [Coordinate], inputs: [(String, [Int], Bool)])] = [([], [])]
            // Fan-out inputs first, so gathers see the coordinates they must agree with.
            let fanOutFirst = node.inputs.filter { op.input($0.name)?.arity == .one } + node.inputs.filter { op.input($0.name)?.arity == .many }
            for input in fanOutFirst {
                guard let inputSpec = op.input(input.name) else { continue }
                let inputPath = path.appending("inputs").appending(input.name)
                var next: [(coords: [Coordinate], inputs: [(String, [Int], Bool)])] = []
                if node.each.contains(input.name) {
                    // `{"each": [...]}`: one instance per listed reference (and per instance
                    // of it), with the reference as a coordinate named after the input.
                    var perReference: [[Int]] = []
                    var unmatched = false
                    for (k, ref) in input.references.enumerated() {
                        let found = ExpandedGraph.matching(ref, byNode: byNode, instances: instances)
                        if found.isEmpty {
                            issues.append(SpecIssue(path: inputPath.appending("each").appending(k).description,
                                                    message: ExpandedGraph.noMatch(ref, byNode: byNode, instances: instances)))
                            unmatched = true
                        }
                        perReference.append(found)
                    }
                    if unmatched { continue }
                    let total = perReference.reduce(0) { $0 + $1.count }
                    let bound = InstanceCount.product([partials.count, total])
                    if bound > instanceLimit - instances.count {
                        throw ExpandedGraph.overLimit(node.id, path: path, bound: bound, factors: (partials.count > 1 ? "\(partials.count) input combinations × " : "") + "\(total) instances of the \(input.references.count) nodes of \(input.name).each",
                                                      limit: instanceLimit, existing: instances.count, issues: issues, file: file)
                    }
                    for p in partials {
                        for (ref, candidates) in zip(input.references, perReference) {
                            var mark = Coordinate(origin: node.id, param: input.name, value: .string(ref.description))
                            mark.fromEach = true
                            for c in candidates where ExpandedGraph.compatible(p.coords, instances[c].coordinates) {
                                next.append((ExpandedGraph.union(p.coords + [mark], instances[c].coordinates), p.inputs + [(input.name, [c], false)]))
                            }
                        }
                    }
                } else if inputSpec.arity == .one {
                    let candidates = ExpandedGraph.matching(input.references[0], byNode: byNode, instances: instances)
                    if candidates.isEmpty {
                        issues.append(SpecIssue(path: inputPath.description,
                                                message: ExpandedGraph.noMatch(input.references[0], byNode: byNode, instances: instances)))
                        continue
                    }
                    let bound = InstanceCount.product([partials.count, candidates.count])
                    if bound > instanceLimit - instances.count {
                        throw ExpandedGraph.overLimit(node.id, path: path, bound: bound, factors: (partials.count > 1 ? "\(partials.count) input combinations × " : "") + "\(candidates.count) instances of \(input.references[0].node)",
                                                      limit: instanceLimit, existing: instances.count, issues: issues, file: file)
                    }
                    for p in partials {
                        for c in candidates where ExpandedGraph.compatible(p.coords, instances[c].coordinates) {
                            next.append((ExpandedGraph.union(p.coords, instances[c].coordinates), p.inputs + [(input.name, [c], false)]))
                        }
                    }
                } else {
                    // Every reference of a list must match something: one that matches
                    // nothing (a typo, a value not in the grid) would be dropped silently.
                    var unmatched = false
                    for (k, ref) in input.references.enumerated()
                    where ExpandedGraph.matching(ref, byNode: byNode, instances: instances).isEmpty {
                        let refPath = input.isList ? inputPath.appending(k) : inputPath
                        issues.append(SpecIssue(path: refPath.description, message: ExpandedGraph.noMatch(ref, byNode: byNode, instances: instances)))
                        unmatched = true
                    }
                    if unmatched { continue }
                    for p in partials {
                        let candidates = input.references.map { ref in
                            ExpandedGraph.matching(ref, byNode: byNode, instances: instances)
                                .filter { ExpandedGraph.compatible(p.coords, instances[$0].coordinates) }
                        }
                        if candidates.allSatisfy(\.isEmpty) {
                            issues.append(SpecIssue(path: inputPath.description, message: "\(input.references.map(\.description).joined(separator: ", ")) matches no instance"))
                            continue
                        }
                        // An explicit list of nodes that share upstream grid axes (e.g. two
                        // fine-tunes of every seed of one base) is built once per value of those
                        // axes; otherwise every instance is gathered.
                        let axes = inputSpec.gathersEverything ? [] : ExpandedGraph.sharedAxes(input.references, candidates, instances)
                        if axes.isEmpty {
                            next.append((p.coords, p.inputs + [(input.name, candidates.flatMap { $0 }, true)]))
                            continue
                        }
                        var seen: [[Coordinate]] = []
                        for c in candidates.flatMap({ $0 }) {
                            let key = axes.map { axis in instances[c].coordinates.first { $0.sameAxis(axis) }! }
                            if seen.contains(where: { $0 == key }) { continue }
                            seen.append(key)
                            let aligned = candidates.flatMap { $0.filter { ExpandedGraph.compatible(key, instances[$0].coordinates) } }
                            next.append((ExpandedGraph.union(p.coords, key), p.inputs + [(input.name, aligned, true)]))
                        }
                    }
                }
                partials = next
            }
            // The node's own grid, in spec order, as a cartesian product: counted first.
            let gridSizes = node.grid.map(\.values.count)
            let bound = InstanceCount.product([partials.count] + gridSizes)
            if bound > instanceLimit - instances.count {
                let factors = ([partials.count > 1 ? "\(partials.count) input combinations" : nil]
                               + node.grid.map { "\($0.values.count) \($0.param)" }).compactMap { $0 }.joined(separator: " × ")
                throw ExpandedGraph.overLimit(node.id, path: path, bound: bound, factors: factors, limit: instanceLimit,
                                              existing: instances.count, issues: issues, file: file)
            }
            var bindings: [[(String, JSONValue)]] = [[]]
            for axis in node.grid {
                bindings = bindings.flatMap { b in axis.values.map { b + [(axis.param, $0)] } }
            }
            for p in partials {
                for b in bindings {
                    var params = node.params
                    for (k, v) in b {
                        // `vars.lr` sets one key of an object parameter.
                        let dotted = k.split(separator: ".", maxSplits: 1).map(String.init)
                        if dotted.count == 2 {
                            var object = params[dotted[0]]?.objectValue ?? JSONObject()
                            object[dotted[1]] = v
                            params[dotted[0]] = .object(object)
                        } else {
                            params[k] = v
                        }
                    }
                    params = Instance.applyDefaults(params, op: op)
                    if op.usesSeed && params["seed"] == nil { params["seed"] = .number(Double(spec.seed)) }
                    let coords = p.coords + b.map { Coordinate(origin: node.id, param: $0.0, value: $0.1) }
                    let id = Instance.makeID(node: node.id, coordinates: coords)
                    if let check = op.crossCheck, !node.grid.isEmpty {
                        for (param, message) in check(params, Set(node.inputs.map(\.name))) {
                            issues.append(SpecIssue(path: path.appending("grid").appending(param).description, message: "\(id): \(message)"))
                        }
                    }
                    let index = instances.count
                    let inputs = node.inputs.compactMap { spec in p.inputs.first { $0.0 == spec.name } }
                    var instance = Instance(index: index, id: id, node: node.id, op: op, params: params,
                                            coordinates: coords, inputs: inputs.map { ($0.0, $0.1, $0.2) })
                    instance.resources = op.resources.overridden(by: node.resources)
                    if op.labelsInputs {
                        instance.inputLabels = JSONObject(instance.inputs.map { input in
                            (input.name, JSONValue.array(input.instances.map { ExpandedGraph.label(of: instances[$0], among: instances) }))
                        })
                    }
                    instances.append(instance)
                    byNode[node.id, default: []].append(index)
                }
            }
        }
        if !issues.isEmpty { throw SpecError(file: file, issues: issues) }
        self.instances = instances
        self.byNode = byNode
    }

    /// What a report needs to know about an input it gathers: the instance's id, node, grid
    /// coordinates, and the ids of the instances it read (e.g. the model an eval scored).
    static func label(of instance: Instance, among instances: [Instance]) -> JSONValue {
        .object(JSONObject([
            ("id", .string(instance.id)),
            ("node", .string(instance.node)),
            ("coordinates", .object(JSONObject(instance.coordinates.filter { !$0.fromEach }.map { ("\($0.origin).\($0.param)", $0.value) }))),
            ("inputs", .object(JSONObject(instance.inputs.map { input in
                (input.name, JSONValue.array(input.instances.map { JSONValue.string(instances[$0].id) }))
            }))),
        ]))
    }

    /// Nodes with inputs first; ties keep the file's order. (Cycles were rejected earlier.)
    static func topologicalOrder(_ spec: Spec) -> [NodeSpec] {
        var placed = Set<String>(), order: [NodeSpec] = []
        let ids = Set(spec.nodes.map(\.id))
        while order.count < spec.nodes.count {
            var progressed = false
            for n in spec.nodes where !placed.contains(n.id) {
                let deps = n.inputs.flatMap { $0.references.map(\.node) }.filter { ids.contains($0) }
                if deps.allSatisfy(placed.contains) {
                    placed.insert(n.id)
                    order.append(n)
                    progressed = true
                }
            }
            if !progressed { break }
        }
        return order
    }

    /// Why a reference matches nothing, with the values its selector could have used.
    static func noMatch(_ ref: InputReference, byNode: [String: [Int]], instances: [Instance]) -> String {
        let all = byNode[ref.node] ?? []
        var hints: [String] = []
        for s in ref.selector {
            var values: [JSONValue] = []
            for i in all {
                for c in instances[i].coordinates where c.param == s.key || "\(c.origin).\(c.param)" == s.key {
                    if !values.contains(where: { $0.isEquivalent(to: c.value) }) { values.append(c.value) }
                }
            }
            hints.append(values.isEmpty ? "no instance of \(ref.node) has a grid value \"\(s.key)\""
                                        : "\(s.key) is one of " + values.map(\.canonicalString).joined(separator: ", "))
        }
        return "\"\(ref)\" matches no instance" + (hints.isEmpty ? "" : " (" + hints.joined(separator: "; ") + ")")
    }

    /// The error for a node that would take the spec past `limit` instances.
    static func overLimit(_ node: String, path: JSONPath, bound: Int, factors: String, limit: Int, existing: Int,
                          issues: [SpecIssue], file: String) -> SpecError {
        let count = bound == Int.max ? "more than \(Int.max)" : "\(bound)"
        let message = "expands to \(count) instances (\(factors))" + (existing > 0 ? ", after \(existing) from earlier nodes" : "")
            + ", over the limit of \(limit) instances per spec (raise it with --max-instances)"
        return SpecError(file: file, issues: issues + [SpecIssue(path: path.description, message: message)])
    }

    /// Instances of the referenced node whose coordinates satisfy its selector.
    static func matching(_ ref: InputReference, byNode: [String: [Int]], instances: [Instance]) -> [Int] {
        (byNode[ref.node] ?? []).filter { i in
            ref.selector.allSatisfy { s in
                instances[i].coordinates.contains { c in
                    (c.param == s.key || "\(c.origin).\(c.param)" == s.key) && c.value.isEquivalent(to: s.value)
                }
            }
        }
    }

    /// The grid axes every reference of a list input carries, on every one of its instances,
    /// and that no reference selects on: the axes a list of several nodes is aligned on. A
    /// single reference (gather every instance of one node) has none.
    static func sharedAxes(_ references: [InputReference], _ candidates: [[Int]], _ instances: [Instance]) -> [Coordinate] {
        guard references.count > 1, candidates.allSatisfy({ !$0.isEmpty }) else { return [] }
        var shared = instances[candidates[0][0]].coordinates
        for list in candidates {
            for i in list {
                shared = shared.filter { axis in instances[i].coordinates.contains { $0.sameAxis(axis) } }
            }
        }
        let selected = Set(references.flatMap { $0.selector.map(\.key) })
        return shared.filter { !selected.contains($0.param) && !selected.contains("\($0.origin).\($0.param)") }
    }

    /// Two coordinate lists agree on every axis they share.
    static func compatible(_ a: [Coordinate], _ b: [Coordinate]) -> Bool {
        for x in a { for y in b where x.sameAxis(y) && !x.value.isEquivalent(to: y.value) { return false } }
        return true
    }

    static func union(_ a: [Coordinate], _ b: [Coordinate]) -> [Coordinate] {
        a + b.filter { y in !a.contains { $0.sameAxis(y) } }
    }

    /// Instances of a node, or of a readable instance id.
    public func instances(matching name: String) -> [Int] {
        if let all = byNode[name] { return all }
        return instances.filter { $0.id == name }.map(\.index)
    }

    /// Indices that depend, directly or not, on any of `roots`.
    public func downstream(of roots: Set<Int>) -> Set<Int> {
        var out = roots
        for inst in instances where inst.dependencies.contains(where: out.contains) { out.insert(inst.index) }
        return out
    }

    /// Indices that `roots` depend on, directly or not, plus the roots.
    public func upstream(of roots: Set<Int>) -> Set<Int> {
        var out = roots
        for inst in instances.reversed() where out.contains(inst.index) { out.formUnion(inst.dependencies) }
        return out
    }
}
