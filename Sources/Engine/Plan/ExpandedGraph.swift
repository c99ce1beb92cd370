import JSON

/// A spec with its grids expanded: every instance, in an order where inputs come first.
///
/// - A node with a `grid` becomes one instance per combination of values.
/// - An input that takes one artifact fans the consumer out over the referenced node's
///   instances; an input that takes a list gathers all of them.
/// - Instances are combined only where their shared coordinates agree.
public struct ExpandedGraph: Sendable {
    public let spec: Spec
    public let instances: [Instance]
    /// Node id → its instances' indices.
    public let byNode: [String: [Int]]

    public init(spec: Spec, registry: OpRegistry = .builtin, file: String = "spec") throws(SpecError) {
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
                if inputSpec.arity == .one {
                    let candidates = ExpandedGraph.matching(input.references[0], byNode: byNode, instances: instances)
                    if candidates.isEmpty {
                        issues.append(SpecIssue(path: inputPath.description, message: "\"\(input.references[0])\" matches no instance"))
                        continue
                    }
                    for p in partials {
                        for c in candidates where ExpandedGraph.compatible(p.coords, instances[c].coordinates) {
                            next.append((ExpandedGraph.union(p.coords, instances[c].coordinates), p.inputs + [(input.name, [c], false)]))
                        }
                    }
                } else {
                    for p in partials {
                        var gathered: [Int] = []
                        for ref in input.references {
                            gathered += ExpandedGraph.matching(ref, byNode: byNode, instances: instances)
                                .filter { ExpandedGraph.compatible(p.coords, instances[$0].coordinates) }
                        }
                        if gathered.isEmpty {
                            issues.append(SpecIssue(path: inputPath.description, message: "\(input.references.map(\.description).joined(separator: ", ")) matches no instance"))
                            continue
                        }
                        next.append((p.coords, p.inputs + [(input.name, gathered, true)]))
                    }
                }
                partials = next
            }
            // The node's own grid, in spec order, as a cartesian product.
            var bindings: [[(String, JSONValue)]] = [[]]
            for axis in node.grid {
                bindings = bindings.flatMap { b in axis.values.map { b + [(axis.param, $0)] } }
            }
            for p in partials {
                for b in bindings {
                    var params = node.params
                    for (k, v) in b { params[k] = v }
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
            ("coordinates", .object(JSONObject(instance.coordinates.map { ("\($0.origin).\($0.param)", $0.value) }))),
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
