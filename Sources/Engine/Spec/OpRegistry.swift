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
    /// one node, not the sweep; the cheap ops run in the coordinator. Training declares
    /// 2 GB and evaluation 1 GB by default (generous for the shipped model sizes), so
    /// `--memory-gb` bounds how many run at once; threads default to the run's share.
    public static let builtin = OpRegistry([
        ImportOp.operation, InitOp.operation, MergeOp.operation.isolated(.childProcessAbove(bytes: 64 << 20)),
        DatasetOp.operation,
        PretrainOp.operation.isolated(.childProcess).needing(Resources(memoryGB: 2)),
        FinetuneOp.operation.isolated(.childProcess).needing(Resources(memoryGB: 2)),
        DPOOp.operation.isolated(.childProcess).needing(Resources(memoryGB: 2)),
        EvalOp.operation.isolated(.childProcess).needing(Resources(memoryGB: 1)),
        ReportOp.operation, CommandOp.operation, OutputOp.operation,
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
