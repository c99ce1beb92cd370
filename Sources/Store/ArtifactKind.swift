/// What an artifact is: checkpoint, dataset, metrics, … — one type for the kinds every module
/// publishes and checks, instead of string literals that could drift apart.
///
/// Stored as its raw text (the `artifacts.kind` column and every manifest digest), so the
/// raw values never change. A string literal is a kind, so ops outside the built-in set
/// name their own (`"state"` in a test).
public struct ArtifactKind: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }

    /// Model weights and config (`import`, `init`, training, `merge`; a command's checkpoint output).
    public static let checkpoint: ArtifactKind = "checkpoint"
    /// Examples in the dataset format (`dataset`; a command's dataset output).
    public static let dataset: ArtifactKind = "dataset"
    /// `MetricRow`s in `metadata.rows` (`eval`; a command's metrics output).
    public static let metrics: ArtifactKind = "metrics"
    /// A reference model's answers, shared between evals.
    public static let answers: ArtifactKind = "answers"
    /// A BPE tokenizer's merges in `metadata` (`tokenizer`).
    public static let tokenizer: ArtifactKind = "tokenizer"
    /// A report's four files.
    public static let report: ArtifactKind = "report"
    /// A folder stored as a file tree (a command's files output).
    public static let files: ArtifactKind = "files"
    /// The outputs of a command that declares several: `metadata.outputs` maps each name to
    /// its kind and its own artifact (read through the `output` op, `node.name` in specs).
    public static let commandOutputs: ArtifactKind = "command-outputs"
    /// A command's kept stdout and stderr.
    public static let commandLog: ArtifactKind = "command-log"
    /// A training op's saved in-node progress (weights, optimizer state).
    public static let trainingState: ArtifactKind = "training-state"
    /// The kind of an input that takes whatever its node produces (a `command` reads any).
    public static let any: ArtifactKind = "any"
}
