import JSON

/// What one instance needs of the machine while it runs, declared on a node as
/// `"resources": {"threads": N, "memory_gb": M, "gpus": G}` over the op's defaults.
/// Not part of the action key: where and how wide a node runs does not change its result.
public struct Resources: Sendable, Equatable {
    /// Cores; nil takes the run's share (--threads divided by --jobs).
    public var threads: Int?
    /// Memory the op may use at most; the local executor never starts more than fits.
    public var memoryGB: Double
    public var gpus: Int

    public init(threads: Int? = nil, memoryGB: Double = 0, gpus: Int = 0) {
        self.threads = threads
        self.memoryGB = memoryGB
        self.gpus = gpus
    }

    /// The keys a node's `resources` object may have.
    static let keys = ["threads", "memory_gb", "gpus"]

    /// These defaults with the keys a node sets replaced.
    func overridden(by declared: JSONObject?) -> Resources {
        guard let declared else { return self }
        var out = self
        if let t = declared["threads"]?.intValue { out.threads = t }
        if let m = declared["memory_gb"]?.doubleValue { out.memoryGB = m }
        if let g = declared["gpus"]?.intValue { out.gpus = g }
        return out
    }

    /// Problems of a node's `resources` value, as (key or "", message).
    static func problems(_ value: JSONValue) -> [(String, String)] {
        guard let object = value.objectValue else { return [("", "expected an object with threads, memory_gb, gpus; got \(value.typeName)")] }
        var out: [(String, String)] = []
        for key in object.keys where !keys.contains(key) {
            out.append((key, "unknown key (allowed: \(keys.joined(separator: ", ")))"))
        }
        if let t = object["threads"], !(t.intValue.map { $0 >= 1 && $0 <= 4096 } ?? false) {
            out.append(("threads", "expected a whole number of cores from 1 to 4096, got \(ParamType.describe(t))"))
        }
        if let m = object["memory_gb"], !(m.doubleValue.map { $0 >= 0 && $0 <= 1_048_576 && $0.isFinite } ?? false) {
            out.append(("memory_gb", "expected a number of GB ≥ 0, got \(ParamType.describe(m))"))
        }
        if let g = object["gpus"], !(g.intValue.map { $0 >= 0 && $0 <= 1024 } ?? false) {
            out.append(("gpus", "expected a whole number of GPUs ≥ 0, got \(ParamType.describe(g))"))
        }
        return out
    }
}
