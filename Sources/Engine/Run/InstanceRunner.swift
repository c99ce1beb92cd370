import Store

/// Computes one job and publishes its result: the work an executor does wherever it runs
/// (a thread of the coordinator, or `mergeflow exec` in a child process).
public enum InstanceRunner {
    /// Loads the inputs' manifests, runs the op, and publishes the result together with
    /// the action, the lease release, the cleared in-node progress and the finished node
    /// run record (one transaction). Errors become `.failed`; nothing is published then.
    /// - Parameter directory: the spec's folder, which relative paths in params are read from.
    public static func run(_ job: Job, store: Store, directory: String,
                           progress: @escaping @Sendable (Double) -> Void) -> JobOutcome {
        var detail = ""
        do {
            var inputs: [String: [ArtifactManifest]] = [:]
            for input in job.instance.inputs {
                inputs[input.name] = try input.instances.map { try store.manifest(job.inputDigests[$0]!) }
            }
            let context = OpContext(store: store, instance: job.instance, inputs: inputs, actionKey: job.action.key,
                                    directory: directory, threads: job.threads, gpus: job.gpus, reportProgress: progress)
            if let saved = try store.partialState(job.action.key) { detail = "resumed from step \(saved.step)" }
            let writer = try job.instance.op.run(context)
            // A cache file deleted or replaced under the run would take this result with it.
            try store.checkStillAtPath()
            let manifest = try writer.publish(actionKey: job.action.key, releasingLeaseOf: job.owner, clearingPartialState: true,
                                              finishing: (job.nodeRun, detail.isEmpty ? nil : detail))
            for action in context.afterPublishing { action() }
            return .published(manifest.digest, detail: detail)
        } catch {
            return .failed("\(error)", badInput: error is BadInputError)
        }
    }
}

/// An error that means an input file was malformed (a checkpoint that cannot be read)
/// rather than that the work failed: commands exit 2 on it instead of 1. Domain modules
/// mark their errors with it (`CheckpointError` in the ops module).
public protocol BadInputError: Error {}
