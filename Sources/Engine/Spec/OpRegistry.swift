/// The ops a spec may name: a literal table, not a plugin system. Tests build their own
/// registry by adding a fake op at the I/O edge.
public struct OpRegistry: Sendable {
    public private(set) var operations: [String: OpDefinition]

    public init(_ operations: [OpDefinition]) {
        var table: [String: OpDefinition] = [:]
        for op in operations { table[op.name] = op }
        self.operations = table
    }

    /// Every op shipped with mergeflow.
    public static let builtin = OpRegistry([
        ImportOp.operation, InitOp.operation, MergeOp.operation,
        DatasetOp.operation, PretrainOp.operation, FinetuneOp.operation, DPOOp.operation,
        EvalOp.operation, ReportOp.operation,
    ])

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
