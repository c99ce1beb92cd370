import JSON
import Store

/// One parameter an op accepts.
public struct ParamSpec: Sendable {
    public let name: String
    public let type: ParamType
    /// nil: the parameter is required.
    public let defaultValue: JSONValue?
    public let help: String

    public init(_ name: String, _ type: ParamType, default defaultValue: JSONValue? = nil, help: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.help = help
    }
}

/// One input an op takes: which artifact kind, and whether it is one artifact (a consumer
/// of a gridded node fans out over it) or a gathered list (it collects every instance).
public struct InputSpec: Sendable {
    public enum Arity: Sendable { case one, many }
    public let name: String
    public let kind: ArtifactKind
    public let arity: Arity
    public let optional: Bool
    /// For a list: gather every instance even when the listed nodes share grid axes (a
    /// report summarises the whole sweep), instead of one consumer per shared value.
    public let gathersEverything: Bool
    public let help: String

    /// The kind of an input that takes whatever its node produces (a `command` reads any).
    public static let anyKind = ArtifactKind.any

    public init(_ name: String, kind: ArtifactKind, arity: Arity = .one, optional: Bool = false, gathersEverything: Bool = false, help: String) {
        self.name = name
        self.kind = kind
        self.arity = arity
        self.optional = optional
        self.gathersEverything = gathersEverything
        self.help = help
    }
}

/// A kind of node: what it takes, what it produces, and the pure function that runs it.
///
/// Ops are functions from input artifacts + params to one output artifact: they never write
/// run records (the scheduler does), so the same op can later run on another machine.
public struct OpDefinition: Sendable {
    public let name: String
    /// Bump when the op's output for the same inputs changes: it is part of every key.
    public let version: Int
    public let summary: String
    public let inputs: [InputSpec]
    public let params: [ParamSpec]
    /// The artifact kind it publishes.
    public let produces: ArtifactKind
    /// Whether it draws random numbers (then its key includes the node's seed).
    public let usesSeed: Bool
    /// Whether it needs to know which instances made its inputs (a report labelling rows by
    /// grid coordinates). Then the labels are part of its action key.
    public let labelsInputs: Bool
    /// Extra key material read from outside the cache (the content digest of an imported
    /// or dataset file), so a changed file is a changed key and an unchanged one is not.
    /// Called with the params, the spec's folder and the cache (which remembers digests).
    public let externalFingerprint: (@Sendable (JSONObject, String, Store) throws -> JSONValue)?
    /// Checks that need several params at once (and which inputs the node connects);
    /// returns problems as (param, message).
    public let crossCheck: (@Sendable (JSONObject, Set<String>) -> [(String, String)])?
    /// Where the scheduler runs it (when the run can start child processes).
    public var isolation: Isolation = .inProcess
    /// For ops with named outputs (a `command`): output name → kind, from the params. With
    /// several, references name one as `node.output` (an `OpRegistry.outputOpName` node).
    public var declaredOutputs: (@Sendable (JSONObject) -> JSONObject?)?
    /// Whether its child process may be a worker kept between jobs (`WorkerPool`): for ops
    /// whose work is a program they start, so the worker only supervises.
    public var reusesWorker = false
    /// What an instance needs of the machine unless its node says otherwise.
    public var resources = Resources()
    /// Whether a node may name its inputs freely (each one artifact of any kind), as a
    /// `command` does; `inputs` is then empty.
    public var acceptsAnyInputs = false
    /// The kind it produces when that depends on its params (a `command`'s declared
    /// output); nil from it, or no closure, means `produces`.
    public var producedKind: (@Sendable (JSONObject) -> ArtifactKind?)?
    /// Computes the output. Returns a writer holding the result's tensors; the scheduler
    /// publishes it together with the action key.
    public let run: @Sendable (OpContext) throws -> ArtifactWriter

    public init(name: String, version: Int, summary: String, inputs: [InputSpec], params: [ParamSpec],
                produces: ArtifactKind, usesSeed: Bool = false, labelsInputs: Bool = false,
                externalFingerprint: (@Sendable (JSONObject, String, Store) throws -> JSONValue)? = nil,
                crossCheck: (@Sendable (JSONObject, Set<String>) -> [(String, String)])? = nil,
                run: @escaping @Sendable (OpContext) throws -> ArtifactWriter) {
        self.name = name
        self.version = version
        self.summary = summary
        self.inputs = inputs
        self.params = params
        self.produces = produces
        self.usesSeed = usesSeed
        self.labelsInputs = labelsInputs
        self.externalFingerprint = externalFingerprint
        self.crossCheck = crossCheck
        self.run = run
    }

    /// Where an op runs.
    public enum Isolation: Sendable {
        /// A thread of the coordinator: no start-up cost; a trap ends the whole run.
        case inProcess
        /// `mergeflow exec`: a trap or out-of-memory kill fails this node only.
        case childProcess
        /// A child process when its inputs hold at least this many tensor bytes (a merge
        /// of tiny checkpoints is not worth a process; a merge of large ones is).
        case childProcessAbove(bytes: Int)
    }

    /// This op, run with `isolation`.
    public func isolated(_ isolation: Isolation) -> OpDefinition {
        var copy = self
        copy.isolation = isolation
        return copy
    }

    /// This op, run in a child process that is kept for the next job of such an op.
    public func reusingWorkers() -> OpDefinition {
        var copy = isolated(.childProcess)
        copy.reusesWorker = true
        return copy
    }

    /// This op, whose outputs `outputs(params)` names.
    public func declaring(outputs: @escaping @Sendable (JSONObject) -> JSONObject?) -> OpDefinition {
        var copy = self
        copy.declaredOutputs = outputs
        return copy
    }

    /// This op, needing `resources` by default.
    public func needing(_ resources: Resources) -> OpDefinition {
        var copy = self
        copy.resources = resources
        return copy
    }

    /// This op, taking inputs of any name and kind.
    public func acceptingAnyInputs() -> OpDefinition {
        var copy = self
        copy.acceptsAnyInputs = true
        return copy
    }

    /// This op, producing the kind `kind(params)` gives.
    public func producing(_ kind: @escaping @Sendable (JSONObject) -> ArtifactKind?) -> OpDefinition {
        var copy = self
        copy.producedKind = kind
        return copy
    }

    /// The artifact kind a node of this op with `params` produces.
    public func kind(producedWith params: JSONObject) -> ArtifactKind { producedKind?(params) ?? produces }

    public func param(_ name: String) -> ParamSpec? { params.first { $0.name == name } }
    public func input(_ name: String) -> InputSpec? {
        if let spec = inputs.first(where: { $0.name == name }) { return spec }
        return acceptsAnyInputs ? InputSpec(name, kind: InputSpec.anyKind, help: "a file the program reads") : nil
    }
}

/// A failure inside an op that the user caused or can act on (bad data, mismatched
/// models). The node fails; its dependents are skipped; the rest of the sweep goes on.
public struct OpError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
