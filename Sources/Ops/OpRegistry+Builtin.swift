import Engine
import JSON

extension OpRegistry {
    /// Every op shipped with mergeflow. Training, evaluation and large merges run in a
    /// child process (when the run can start one), so a trap or an out-of-memory kill fails
    /// one node, not the sweep; the cheap ops run in the coordinator. Training declares
    /// 2 GB and evaluation 1 GB by default (generous for the shipped model sizes), so
    /// `--memory-gb` bounds how many run at once; threads default to the run's share.
    public static let builtin = OpRegistry([
        ImportOp.operation, InitOp.operation, MergeOp.operation.isolated(.childProcessAbove(bytes: 64 << 20)),
        DatasetOp.operation, TokenizerOp.operation,
        PretrainOp.operation.isolated(.childProcess).needing(Resources(memoryGB: 2)),
        FinetuneOp.operation.isolated(.childProcess).needing(Resources(memoryGB: 2)),
        DPOOp.operation.isolated(.childProcess).needing(Resources(memoryGB: 2)),
        EvalOp.operation.isolated(.childProcess).needing(Resources(memoryGB: 1)),
        ReportOp.operation, CommandOp.operation, OutputOp.operation,
    ])
}

// The engine's entry points with the built-in ops (the engine itself takes a registry).
extension SpecParser {
    /// Reads and validates the spec file at `path` against the built-in ops.
    public static func load(_ path: String) throws(SpecError) -> Spec { try load(path, registry: .builtin) }
    /// A parser for the built-in ops.
    public init() { self.init(registry: .builtin) }
}

extension ExpandedGraph {
    /// Expands `spec` over the built-in ops.
    public init(spec: Spec, file: String = "spec", instanceLimit: Int = ExpandedGraph.defaultInstanceLimit) throws(SpecError) {
        try self.init(spec: spec, registry: .builtin, file: file, instanceLimit: instanceLimit)
    }
}

extension SpecSchema {
    /// The JSON Schema of specs over the built-in ops (`pipelines/schema.json`).
    public static func make() -> JSONValue { make(registry: .builtin) }
}
