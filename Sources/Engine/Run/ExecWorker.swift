import CProcess
import Foundation
import JSON
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

    /// `exec --serve`: runs requests read from stdin, one JSON array of `exec` arguments per
    /// line, until stdin closes (`WorkerPool` writes them), each reported on stdout as a
    /// one-shot `exec` reports. The spec is expanded and the cache opened once.
    /// - Parameter prepare: called before each request (sets the compute threads).
    public static func serveRequests(graph: ExpandedGraph, store: Store, parent: Int32,
                                     prepare: (ExecRequest) -> Void) -> Int32 {
        // Not the parent-death signal: it fires when the coordinator *thread* that started
        // this worker ends, and workers outlive the job that started them. Polling the
        // parent pid works for the process; SIGTERM to ourselves kills the running
        // program's process group on the way out, as for a one-shot exec.
        ActiveProcessGroups.installSignalHandlers()
        if getppid() != parent { _exit(137) }
        Thread {
            while getppid() == parent { usleep(100_000) }
            kill(getpid(), SIGTERM)
        }.start()
        var index: [String: Int] = [:]
        for inst in graph.instances { index[inst.id] = inst.index }
        var pending = Data()
        while true {
            guard let newline = pending.firstIndex(of: UInt8(ascii: "\n")) else {
                let chunk = FileHandle.standardInput.availableData
                if chunk.isEmpty { return 0 }
                pending.append(chunk)
                continue
            }
            let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
            pending.removeSubrange(pending.startIndex...newline)
            FileHandle.standardError.write(Data("\(WorkerPool.requestMarker)\n".utf8))
            let request: ExecRequest
            do {
                guard let words = try JSONValue.parse(line).arrayValue?.compactMap(\.stringValue) else {
                    throw ExecRequestError("expected a JSON array of strings")
                }
                request = try ExecRequest(parsing: words)
            } catch {
                report(.failed("malformed request to the worker: \(error)", badInput: false))
                continue
            }
            prepare(request)
            switch outcome(request, graph: graph, store: store, index: index) {
            case .published(let d, let detail): report(.published(d, detail: detail))
            case .failed(let message, let bad): report(.failed(message, badInput: bad))
            }
        }
    }

    static func outcome(_ request: ExecRequest, graph: ExpandedGraph, store: Store, index: [String: Int]? = nil) -> JobOutcome {
        guard let index = index.map({ $0[request.instanceID] }) ?? graph.instances.firstIndex(where: { $0.id == request.instanceID }) else {
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
