import CProcess
import Foundation
import Store

/// The child side of `ChildProcessExecutor`: what `mergeflow exec` does with a request.
public enum ExecWorker {
    /// Environment variable naming an instance whose `exec` traps before running, as a
    /// force-unwrap of a bad value would: fault injection for the tests of crash isolation.
    public static let trapVariable = "MERGEFLOW_FAULT_TRAP"

    /// Recomputes the request's key from the expanded spec, runs the instance, publishes it,
    /// and reports on stdout (`ChildReport`). Returns the exit code: 0 published, 1 failed.
    public static func serve(_ request: ExecRequest, graph: ExpandedGraph, store: Store) -> Int32 {
        dieWithParent(request.parent)
        let outcome = outcome(request, graph: graph, store: store)
        switch outcome {
        case .published(let d, let detail): report(.published(d, detail: detail))
        case .failed(let message, let bad): report(.failed(message, badInput: bad))
        }
        if case .published = outcome { return 0 }
        return 1
    }

    static func outcome(_ request: ExecRequest, graph: ExpandedGraph, store: Store) -> JobOutcome {
        guard let index = graph.instances.firstIndex(where: { $0.id == request.instanceID }) else {
            return .failed("the spec changed during the run: it has no instance \(request.instanceID) any more", badInput: false)
        }
        let instance = graph.instances[index]
        guard instance.dependencies.count == request.inputs.count else {
            return .failed("the spec changed during the run: \(instance.id) has other inputs now", badInput: false)
        }
        var digests: [Int: Digest] = [:]
        for (d, digest) in zip(instance.dependencies, request.inputs) { digests[d] = digest }
        let action: Action
        do {
            action = try Action(instance: instance, inputDigests: digests, directory: graph.spec.directory, store: store)
        } catch {
            return .failed("cannot compute its key: \(error)", badInput: false)
        }
        guard action.key == request.key else {
            return .failed("the spec or a file it names changed during the run (key \(action.key.short), expected \(request.key.short))",
                           badInput: false)
        }
        if ProcessInfo.processInfo.environment[trapVariable] == instance.id {
            fatalError("injected trap in \(instance.id) (\(trapVariable))")
        }
        var job = Job(instance: instance, action: action, nodeRun: request.nodeRun, inputDigests: digests,
                      threads: request.threads, owner: request.owner, forced: false)
        job.gpus = request.gpus
        let throttle = ProgressThrottle()
        return InstanceRunner.run(job, store: store, directory: graph.spec.directory) { fraction in
            if throttle.shouldReport(fraction) { report(.progress(fraction)) }
        }
    }

    static func report(_ r: ChildReport) {
        FileHandle.standardOutput.write(Data((r.line + "\n").utf8))
    }

    /// Ends this process the moment the coordinator is gone (killed with SIGKILL, say): its
    /// lease is then taken over by the next run, so this one must not go on and publish.
    /// The kernel delivers the signal; the check after it covers a parent that died first.
    static func dieWithParent(_ parent: Int32) {
        // SIGTERM rather than SIGKILL, so the commands this child runs (in process groups
        // of their own) are killed with it.
        ActiveProcessGroups.installSignalHandlers()
        _ = mergeflow_set_parent_death_signal(SIGTERM)
        if getppid() != parent { _exit(137) }
    }
}
