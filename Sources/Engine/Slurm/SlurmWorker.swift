import Foundation
import Store

/// The worker side of `SlurmExecutor`: what `mergeflow exec --spool-task DIR` does inside a
/// Slurm job. It never opens the coordinator's cache: it computes in a cache of its own in
/// the task folder (where in-node progress and a command's workdir survive a requeue),
/// leaves the result as a bundle and an exit record, and the coordinator imports them.
public enum SlurmWorker {
    /// Runs the task in `taskDirectory`. Returns the exit code: 0 published, 1 failed.
    public static func serve(taskDirectory task: String, registry: OpRegistry) -> Int32 {
        // scancel and time limits arrive as SIGTERM: kill the command groups with us.
        ActiveProcessGroups.installSignalHandlers()
        let restart = ProcessInfo.processInfo.environment["SLURM_RESTART_COUNT"] ?? "0"
        let jobID = ProcessInfo.processInfo.environment["SLURM_JOB_ID"] ?? "?"
        FileHandle.standardError.write(Data("mergeflow worker: job \(jobID), restart \(restart), on \(Store.hostName)\n".utf8))
        let outcome = compute(task, registry: registry)
        var record = SlurmSpool.ExitRecord(outcome)
        if case .published(let digest, _) = outcome {
            do {
                let store = try Store(path: SlurmSpool.workerCachePath(task))
                if let request = try? SlurmSpool.Request(path: SlurmSpool.requestPath(task)),
                   let log = try store.lookupAction(CompanionKey.commandLog(of: request.key)) {
                    try store.exportBundle(log, to: SlurmSpool.logPath(task))
                }
                try store.exportBundle(digest, to: SlurmSpool.resultPath(task))
            } catch {
                record = .failed("cannot write its result to the spool: \(error)", badInput: false)
            }
        }
        do {
            try SlurmSpool.writeAtomically(record.json.canonicalString + "\n", to: SlurmSpool.exitPath(task))
        } catch {
            FileHandle.standardError.write(Data("mergeflow worker: \(error)\n".utf8))
            return 1
        }
        if case .failed(let message, _) = record {
            FileHandle.standardError.write(Data("mergeflow worker: failed: \(message)\n".utf8))
            return 1
        }
        return 0
    }

    static func compute(_ task: String, registry: OpRegistry) -> JobOutcome {
        do {
            let request = try SlurmSpool.Request(path: SlurmSpool.requestPath(task))
            let store = try Store(path: SlurmSpool.workerCachePath(task))
            for digest in request.inputs where try !store.contains(digest) {
                try store.importBundle(at: SlurmSpool.inputPath(task, digest), expected: digest)
            }
            // An attempt that published here but died before its exit record: done already.
            if let done = try store.lookupAction(request.key) { return .published(done, detail: "") }
            let spec = try SpecParser.load(request.specPath, registry: registry)
            let graph = try ExpandedGraph(spec: spec, registry: registry, file: request.specPath, instanceLimit: request.instanceLimit)
            // A run record and a lease of the worker's own, so the op publishes as it would
            // in the coordinator's cache (the lease expires at once: a requeued attempt on
            // another node takes it over).
            let owner = "\(Store.hostName):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
            let run = try store.beginRun(specName: spec.name, specDigest: spec.digest.hex, command: "mergeflow exec --spool-task \(task)",
                                         engineVersion: Scheduler.engineVersion)
            guard case .acquired(let nodeRun?) = try store.acquireLease(request.key, owner: owner, seconds: 0, ignoringCache: true,
                                                                        starting: (run, request.instanceID, "slurm", "")) else {
                return .failed("its worker cache refused a lease", badInput: false)
            }
            var exec = ExecRequest(specPath: request.specPath, cachePath: store.path, instanceID: request.instanceID, key: request.key,
                                   inputs: request.inputs, owner: owner, nodeRun: nodeRun, threads: request.threads,
                                   instanceLimit: request.instanceLimit, parent: getppid())
            exec.gpus = visibleGPUs()
            let outcome = ExecWorker.outcome(exec, graph: graph, store: store)
            if case .failed(let m, _) = outcome { try? store.finishNodeRun(nodeRun, status: .failed, artifact: nil, error: m) }
            try? store.finishRun(run, status: { if case .published = outcome { return "succeeded" } else { return "failed" } }())
            return outcome
        } catch {
            return .failed("\(error)", badInput: false)
        }
    }

    /// The GPUs Slurm gave this job (`--gres=gpu:N` sets CUDA_VISIBLE_DEVICES).
    static func visibleGPUs() -> [Int] {
        let env = ProcessInfo.processInfo.environment
        guard let list = env["CUDA_VISIBLE_DEVICES"] ?? env["SLURM_STEP_GPUS"] ?? env["SLURM_JOB_GPUS"] else { return [] }
        return list.split(separator: ",").compactMap { Int($0) }
    }
}
