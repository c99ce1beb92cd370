/// The ops a spec may name: a literal table, not a plugin system. The built-in table is
/// `OpRegistry.builtin` in the `Ops` module; tests build their own registry by adding a fake
/// op at the I/O edge.
public struct OpRegistry: Sendable {
    public private(set) var operations: [String: OpDefinition]

    public init(_ operations: [OpDefinition]) {
        var table: [String: OpDefinition] = [:]
        for op in operations { table[op.name] = op }
        self.operations = table
    }

    /// The op a reference `node.output` adds a node of, to read one output of an op that
    /// declares several (`OpDefinition.declaredOutputs`).
    public static let outputOpName = "output"

    public subscript(name: String) -> OpDefinition? { operations[name] }

    /// Names, sorted, for messages.
    public var names: [String] { operations.keys.sorted() }

    /// This registry plus `op` (replacing one of the same name).
    public func adding(_ op: OpDefinition) -> OpRegistry {
        var copy = self
        copy.operations[op.name] = op
        return copy
    }
}
