import JSON

/// One grid binding an instance carries: which node's grid set it, which param, what value.
/// Downstream instances inherit their inputs' coordinates, so a diamond over one grid stays
/// aligned (an eval of `merged[t=0.3]` pairs with the same `t` everywhere).
public struct Coordinate: Sendable, Equatable {
    public let origin: String
    public let param: String
    public let value: JSONValue
    /// Set by an input written `{"each": [...]}` (param is the input's name, value the
    /// reference) rather than by a grid. Reports leave it out of their labels: the input
    /// it names is already there.
    public var fromEach = false

    func sameAxis(_ other: Coordinate) -> Bool { origin == other.origin && param == other.param }
}

/// One concrete node of the expanded DAG: a spec node with every parameter bound.
public struct Instance: Sendable {
    /// Position in `ExpandedGraph.instances` (a topological order).
    public let index: Int
    /// Readable and unique: `merged[method=ties,weights=0.5,0.5]`.
    public let id: String
    public let node: String
    public let op: OpDefinition
    /// Every parameter, defaults applied, grid bindings in place.
    public let params: JSONObject
    public let coordinates: [Coordinate]
    /// Input name → producing instances (indices), and whether the op takes a list.
    public let inputs: [(name: String, instances: [Int], isList: Bool)]
    /// For ops that label their inputs (`OpDefinition.labelsInputs`): input name → one label
    /// per artifact, describing the instance that made it (see `ExpandedGraph.label(of:)`).
    /// Part of the action, since the output depends on it.
    public var inputLabels: JSONObject?
    /// What it needs of the machine: the op's defaults with the node's `resources` over them.
    public var resources = Resources()

    /// All instances this one reads.
    public var dependencies: [Int] { inputs.flatMap(\.instances) }

    /// Params with every default filled in (nil defaults are left out).
    static func applyDefaults(_ params: JSONObject, op: OpDefinition) -> JSONObject {
        var out = JSONObject()
        for spec in op.params {
            if let v = params[spec.name] { out[spec.name] = v } else if let d = spec.defaultValue, !d.isNull { out[spec.name] = d }
        }
        return out
    }

    /// A value as it reads in an instance id: strings bare, lists comma-joined.
    public static func render(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return s
        case .array(let items): return items.map(render).joined(separator: ",")
        default: return value.canonicalString
        }
    }

    /// `node[k=v,…]`, naming a coordinate by its param alone unless two share that name.
    static func makeID(node: String, coordinates: [Coordinate]) -> String {
        guard !coordinates.isEmpty else { return node }
        var counts: [String: Int] = [:]
        for c in coordinates { counts[c.param, default: 0] += 1 }
        let parts = coordinates.map { c in
            (counts[c.param]! > 1 ? "\(c.origin).\(c.param)" : c.param) + "=" + render(c.value)
        }
        return node + "[" + parts.joined(separator: ",") + "]"
    }
}
