import JSON
import Store

/// What an instance computes, in canonical form: op, op version, every parameter with
/// defaults applied, the digests of its input artifacts, and any external fingerprint.
/// Its SHA-256 is the action key, the name of the result in the cache.
///
/// Keyed on input *digests*, not on the inputs' own keys: a rerun upstream that reproduces
/// an identical artifact leaves everything downstream cached.
public struct Action: Sendable {
    public let description: JSONValue
    public let key: Digest

    public init(instance: Instance, inputDigests: [Int: Digest], directory: String, store: Store) throws {
        var inputs = JSONObject()
        for input in instance.inputs {
            let digests = input.instances.map { JSONValue.string(inputDigests[$0]!.hex) }
            inputs[input.name] = input.isList ? .array(digests) : digests[0]
        }
        var object = JSONObject([
            ("op", .string(instance.op.name)),
            ("version", .number(Double(instance.op.version))),
            ("params", .object(instance.params)),
            ("inputs", .object(inputs)),
        ])
        if let labels = instance.inputLabels { object["input_labels"] = .object(labels) }
        if let fingerprint = instance.op.externalFingerprint {
            object["external"] = try fingerprint(instance.params, directory, store)
        }
        description = .object(object)
        key = SHA256.hash(description.canonicalData())
    }

    /// Why an instance whose last completed action was `previous` must run now, one line
    /// per difference (empty when nothing differs).
    public static func differences(from previous: JSONValue, to current: JSONValue) -> [String] {
        guard let old = previous.objectValue, let new = current.objectValue else { return ["action description unreadable"] }
        var reasons: [String] = []
        if old["op"] != new["op"] {
            reasons.append("op changed \(render(old["op"])) → \(render(new["op"]))")
        } else if old["version"] != new["version"] {
            reasons.append("op version bumped \(render(old["version"])) → \(render(new["version"]))")
        }
        let oldParams = old["params"]?.objectValue ?? JSONObject(), newParams = new["params"]?.objectValue ?? JSONObject()
        for key in Set(oldParams.keys + newParams.keys).sorted() {
            switch (oldParams[key], newParams[key]) {
            case let (a?, b?) where !a.isEquivalent(to: b): reasons.append("params.\(key) changed \(render(a)) → \(render(b))")
            case (nil, let b?): reasons.append("params.\(key) set to \(render(b))")
            case (let a?, nil): reasons.append("params.\(key) removed (was \(render(a)))")
            default: break
            }
        }
        let oldInputs = old["inputs"]?.objectValue ?? JSONObject(), newInputs = new["inputs"]?.objectValue ?? JSONObject()
        for key in Set(oldInputs.keys + newInputs.keys).sorted() {
            let a = oldInputs[key], b = newInputs[key]
            if a == nil { reasons.append("input \(key) added") } else if b == nil { reasons.append("input \(key) removed") } else if !a!.isEquivalent(to: b!) {
                if let la = a?.arrayValue, let lb = b?.arrayValue, la.count != lb.count {
                    reasons.append("input \(key) changed (\(la.count) → \(lb.count) artifacts)")
                } else {
                    reasons.append("input \(key) changed")
                }
            }
        }
        if let a = old["external"], let b = new["external"], !a.isEquivalent(to: b) { reasons.append("external source changed") }
        if let a = old["input_labels"], let b = new["input_labels"], !a.isEquivalent(to: b) { reasons.append("input labels changed (node ids or grids upstream)") }
        return reasons
    }

    private static func render(_ v: JSONValue?) -> String { v.map { ParamType.describe($0) } ?? "nothing" }
}
