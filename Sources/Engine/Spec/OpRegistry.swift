/// The ops a spec may name: a literal table, not a plugin system. Tests build their own
/// registry by adding a fake op at the I/O edge.
public struct OpRegistry: Sendable {
    public private(set) var operations: [String: OpDefinition]

    public init(_ operations: [OpDefinition]) {
        var table: [String: OpDefinition] = [:]
        for op in operations { table[op.name] = op }
        self.operations = table
    }

    /// Every op shipped with mergeflow. Training, evaluation and large merges run in a
    /// child process (when the run can start one), so a trap or an out-of-memory kill fails
    /// one node, not the sweep; the cheap ops run in the coordinator.
    public static let builtin = OpRegistry([
        ImportOp.operation, InitOp.operation, MergeOp.operation.isolated(.childProcessAbove(bytes: 64 << 20)),
        DatasetOp.operation, PretrainOp.operation.isolated(.childProcess), FinetuneOp.operation.isolated(.childProcess),
        DPOOp.operation.isolated(.childProcess), EvalOp.operation.isolated(.childProcess), ReportOp.operation,
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
