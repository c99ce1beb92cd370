import JSON
import Store

/// A reference from one node's input to another node's instances: `"base"`, or with a
/// selector that keeps only matching instances, `"mono[lang=en]"`.
public struct InputReference: Sendable, Equatable, CustomStringConvertible {
    public let node: String
    /// (parameter, value) pairs an instance's coordinates must match.
    public let selector: [Selector]

    public struct Selector: Sendable, Equatable {
        public let key: String
        public let value: JSONValue
    }

    public var description: String {
        selector.isEmpty ? node : node + "[" + selector.map { "\($0.key)=\(Instance.render($0.value))" }.joined(separator: ",") + "]"
    }
}

/// One node as written in the spec.
public struct NodeSpec: Sendable {
    public let id: String
    public let op: String
    /// Input name → references, in the spec's order; `isList` records whether the spec
    /// wrote a list.
    public let inputs: [(name: String, references: [InputReference], isList: Bool)]
    public let params: JSONObject
    /// Parameter → values to sweep, in the spec's order.
    public let grid: [(param: String, values: [JSONValue])]
    /// `resources` as written (threads, memory_gb, gpus), over the op's defaults.
    public var resources: JSONObject? = nil
    /// Inputs written as `{"each": [references]}`: the node runs once per listed node
    /// (and per instance of it), with the reference as a coordinate named after the input.
    public var each: Set<String> = []
}

/// A validated pipeline spec: `{"name", "seed", "nodes": {ID: {"op", "inputs", "params", "grid"}}}`.
public struct Spec: Sendable {
    public let name: String
    public let seed: Int
    /// In the order the file lists them.
    public let nodes: [NodeSpec]
    /// SHA-256 of the spec's canonical JSON (key order and whitespace do not matter).
    public let digest: Digest
    /// The folder relative paths in params are resolved against (the spec file's folder).
    public let directory: String

    public func node(_ id: String) -> NodeSpec? { nodes.first { $0.id == id } }
}

/// One problem found in a spec, at a JSON path.
public struct SpecIssue: Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// Every problem found in a spec, reported together before anything runs.
public struct SpecError: Error, CustomStringConvertible {
    public let file: String
    public let issues: [SpecIssue]
    public init(file: String, issues: [SpecIssue]) {
        self.file = file
        self.issues = issues
    }
    public var description: String {
        "\(file): \(issues.count) problem\(issues.count == 1 ? "" : "s")\n" + issues.map { "  \($0)" }.joined(separator: "\n")
    }
}
