import Foundation
import JSON
import Store

/// What an op sees while it runs: its parameters, its input artifacts, the cache, a
/// progress reporter, and the API to save and resume in-node progress.
public final class OpContext: @unchecked Sendable {
    public let store: Store
    public let instanceID: String
    public let params: JSONObject
    /// Input name → manifests, in the order the spec lists them.
    public let inputs: [String: [ArtifactManifest]]
    public let actionKey: Digest
    /// Input name → a label per artifact (id, node, coordinates, inputs of the instance that
    /// made it), for ops declared with `labelsInputs`; empty otherwise.
    public let inputLabels: JSONObject
    /// The spec's folder: relative paths in params are resolved against it.
    public let directory: String
    /// Threads this op may use (the scheduler's budget divided among parallel jobs).
    public let threads: Int
    /// GPU device ids the scheduler gave this instance (its declared `gpus`).
    public let gpus: [Int]
    let reportProgress: @Sendable (Double) -> Void

    init(store: Store, instance: Instance, inputs: [String: [ArtifactManifest]], actionKey: Digest, directory: String,
         threads: Int, gpus: [Int] = [], reportProgress: @escaping @Sendable (Double) -> Void) {
        self.gpus = gpus
        self.directory = directory
        self.store = store
        self.instanceID = instance.id
        self.inputLabels = instance.inputLabels ?? JSONObject()
        self.params = instance.params
        self.inputs = inputs
        self.actionKey = actionKey
        self.threads = threads
        self.reportProgress = reportProgress
    }

    /// Work to do once the result is published (a command's workspace is deleted only then,
    /// so an interruption before keeps it). Run by the executor, in order.
    public func onPublished(_ action: @escaping @Sendable () -> Void) { lock.withLock { publishedActions.append(action) } }

    /// The actions `onPublished` registered.
    var afterPublishing: [@Sendable () -> Void] { lock.withLock { publishedActions } }
    private var publishedActions: [@Sendable () -> Void] = []
    private let lock = NSLock()

    /// The single artifact of a one-artifact input, if given.
    public func input(_ name: String) -> ArtifactManifest? { inputs[name]?.first }

    /// Tells the scheduler how far along the op is (0…1), for the progress bar and ETA.
    public func progress(_ fraction: Double) { reportProgress(min(1, max(0, fraction))) }

    /// A writer for the op's output or for saved progress.
    public func newArtifact(kind: ArtifactKind, metadata: JSONValue = .object(JSONObject())) -> ArtifactWriter {
        store.newArtifact(kind: kind, metadata: metadata)
    }

    // MARK: Shared sub-results

    /// A result that several nodes compute the same way (a reference model's answers to one
    /// set of prompts, used by every eval against that reference): looked up in the cache by
    /// the SHA-256 of `description`, computed and published under that key only on a miss.
    /// The description must name everything the result depends on (digests, parameters, a
    /// version); it is kept apart from node keys, and gc keeps the result as long as a node's.
    public func shared(_ description: JSONValue, compute: () throws -> ArtifactWriter) throws -> ArtifactManifest {
        let key = SHA256.hash(JSONValue.object(JSONObject([("shared", description)])).canonicalData())
        if let hit = try store.lookupAction(key) { return try store.manifest(hit) }
        // Two nodes may compute it at once: both publish the same content under one key.
        return try compute().publish(actionKey: key)
    }

    // MARK: In-node progress

    /// Saves the op's state at `step` (call every K steps): weights, optimizer state, data
    /// cursor, RNG, whatever makes the rest of the run bit-identical. Replaces older saves.
    public func saveProgress(step: Int, state: ArtifactWriter) throws {
        try state.publishProgress(of: actionKey, step: step)
    }

    /// The last saved state of this very action (same key), if a previous attempt was
    /// interrupted after saving.
    public func savedProgress() throws -> (step: Int, state: ArtifactManifest)? {
        guard let saved = try store.partialState(actionKey) else { return nil }
        return (saved.step, try store.manifest(saved.artifact))
    }

    // MARK: Parameter access

    public func number(_ name: String) -> Double? { params[name]?.doubleValue }
    public func integer(_ name: String) -> Int? { params[name]?.intValue }
    public func string(_ name: String) -> String? { params[name]?.stringValue }
    public func bool(_ name: String) -> Bool? { params[name]?.boolValue }

    /// A path param resolved against the spec's folder.
    public func path(_ name: String) -> String? {
        guard let p = string(name) else { return nil }
        return OpContext.resolve(p, in: directory)
    }

    public static func resolve(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: directory).appendingPathComponent(path).standardizedFileURL.path
    }
}
