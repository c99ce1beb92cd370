import JSON

/// A merge parameter as mergekit writes it: a scalar, a gradient (a list interpolated
/// across layers), or a list of `{filter, value}` overrides where the first entry whose
/// filter is a substring of the tensor name wins (no filter = catch-all).
public indirect enum MergeParameter: Sendable, Equatable {
    case scalar(Double)
    case gradient([Double])
    case filtered([(filter: String?, value: MergeParameter)])

    public static func == (a: MergeParameter, b: MergeParameter) -> Bool {
        switch (a, b) {
        case let (.scalar(x), .scalar(y)): return x == y
        case let (.gradient(x), .gradient(y)): return x == y
        case let (.filtered(x), .filtered(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.filter == $1.filter && $0.value == $1.value }
        default: return false
        }
    }

    /// Reads a JSON value; nil with a reason for anything else.
    public static func parse(_ value: JSONValue) -> Result<MergeParameter, MergeError> {
        if let x = value.doubleValue { return .success(.scalar(x)) }
        if let b = value.boolValue { return .success(.scalar(b ? 1 : 0)) }
        guard let list = value.arrayValue, !list.isEmpty else {
            return .failure(MergeError("expected a number, a list of numbers, or a list of {filter, value}, got \(value.serialized())"))
        }
        if list.allSatisfy({ $0.doubleValue != nil }) { return .success(.gradient(list.map { $0.doubleValue! })) }
        var entries: [(String?, MergeParameter)] = []
        for item in list {
            guard let o = item.objectValue, let v = o["value"] else {
                return .failure(MergeError("a filtered parameter is a list of {\"filter\": name part, \"value\": …}, got \(item.serialized())"))
            }
            for key in o.keys where key != "filter" && key != "value" {
                return .failure(MergeError("unknown key \"\(key)\" in a filtered parameter"))
            }
            let filter = o["filter"]?.stringValue
            if o["filter"] != nil && filter == nil { return .failure(MergeError("\"filter\" must be a string")) }
            switch parse(v) {
            case .success(let p): entries.append((filter, p))
            case .failure(let e): return .failure(e)
            }
        }
        return .success(.filtered(entries))
    }

    /// The value for one tensor.
    /// - Parameters:
    ///   - tensor: the tensor's name (filters match substrings of it).
    ///   - layer: its layer index, or nil for tensors outside the layer stack (embeddings,
    ///     final norm), which take a gradient's first value as mergekit does.
    ///   - layers: how many layers the model has.
    /// - Returns: nil when no filter matches.
    public func value(tensor: String, layer: Int?, layers: Int) -> Double? {
        switch self {
        case .scalar(let x): return x
        case .gradient(let list): return MergeParameter.interpolate(list, layer: layer, layers: layers)
        case .filtered(let entries):
            for e in entries where e.filter == nil || tensor.contains(e.filter!) {
                return e.value.value(tensor: tensor, layer: layer, layers: layers)
            }
            return nil
        }
    }

    /// Piecewise-linear interpolation of a gradient at t = layer / (layers − 1) (t = 1 in a
    /// one-layer model, as mergekit).
    static func interpolate(_ list: [Double], layer: Int?, layers: Int) -> Double {
        guard list.count > 1, let layer else { return list[0] }
        let t = layers > 1 ? Double(layer) / Double(layers - 1) : 1
        let position = t * Double(list.count - 1)
        let i = min(Int(position), list.count - 2)
        let frac = position - Double(i)
        return list[i] * (1 - frac) + list[i + 1] * frac
    }
}

/// A merge that cannot be done, with what to fix.
public struct MergeError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
