import Checkpoint
import Foundation
import JSON
import Numerics
import Store

/// Runs an expanded DAG against the cache: ready instances in dependency order, cache hits
/// taken without running, independent instances in parallel up to `jobs`, each result
/// published in one transaction with its action key.
///
/// A failing instance fails only its dependents; the rest of the sweep goes on. Two
/// processes on one cache never compute the same key twice: an instance runs only under a
/// lease taken in a transaction; a process that finds the lease held waits for the result,
/// and a lease whose owner died expires.
public final class Scheduler: @unchecked Sendable {
    public static let engineVersion = "0.1.0"

    enum Status {
        case pending
        /// Another process holds the lease; poll until it publishes or its lease expires.
        case waiting
        case running
        case done(Digest)
        case failed(String)
        case skipped
        /// Outside `--only`.
        case excluded
    }

    let store: Store
    let graph: ExpandedGraph
    let options: RunOptions
    /// Unique per process: host, pid and a random nonce.
    public let owner: String

    private let condition = NSCondition()
    private var status: [Status]
    private var summary: RunSummary
    private var running = 0

    public init(store: Store, graph: ExpandedGraph, options: RunOptions) {
        self.store = store
        self.graph = graph
        self.options = options
        self.owner = "\(Store.hostName):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
        self.status = Array(repeating: .pending, count: graph.instances.count)
        self.summary = RunSummary(runID: 0)
    }

    /// Runs every considered instance to a result, a failure or a skip.
    public func run() throws -> RunSummary {
        let start = Date().timeIntervalSince1970
        let runID = try store.beginRun(specName: graph.spec.name, specDigest: graph.spec.digest.hex,
                                       command: options.command, engineVersion: Scheduler.engineVersion)
        summary = RunSummary(runID: runID)
        if let only = options.only {
            let needed = graph.upstream(of: only)
            for i in status.indices where !needed.contains(i) { status[i] = .excluded }
        }
        let considered = status.filter { if case .excluded = $0 { return false } else { return true } }.count
        let reporter = ProgressReporter(style: options.progress, total: considered, jobs: options.jobs)
        let previousThreads = ComputeThreads.count
        let threadsPerJob = max(1, options.threads / max(1, options.jobs))
        ComputeThreads.set(threadsPerJob)
        defer { ComputeThreads.set(previousThreads) }

        var cachedRows: [(node: String, op: String, actionKey: Digest?, status: String, artifact: Digest?, error: String?)] = []
        var lastHeartbeat = Date().timeIntervalSince1970
        var actions: [Int: Action] = [:]
        condition.lock()
        defer { condition.unlock() }
        while true {
            // One pass over the DAG resolves every ready instance; a pass that changed
            // something may have readied more, so it repeats without waiting.
            var changed = false
            for instance in graph.instances {
                let i = instance.index
                switch status[i] {
                case .pending, .waiting: break
                default: continue
                }
                var inputDigests: [Int: Digest] = [:]
                var blocked = false, broken = false
                for d in instance.dependencies {
                    switch status[d] {
                    case .done(let digest): inputDigests[d] = digest
                    case .failed, .skipped: broken = true
                    default: blocked = true
                    }
                }
                if broken {
                    changed = true
                    status[i] = .skipped
                    summary.skipped += 1
                    cachedRows.append((instance.id, instance.op.name, nil, "skipped", nil, "an input failed"))
                    reporter.finished(instance.id, outcome: "skipped", detail: "an input failed")
                    continue
                }
                if blocked { continue }
                // Each instance is keyed and looked up once, when it becomes ready; after a
                // miss it only waits for a free job (or for another process's lease).
                let action: Action
                if let known = actions[i] {
                    action = known
                } else {
                    do {
                        action = try Action(instance: instance, inputDigests: inputDigests, directory: graph.spec.directory, store: store)
                    } catch {
                        changed = true
                        fail(i, "cannot compute its key: \(error)", reporter: reporter)
                        cachedRows.append((instance.id, instance.op.name, nil, "failed", nil, "\(error)"))
                        continue
                    }
                    actions[i] = action
                    if !options.force.contains(i), let hit = try store.lookupAction(action.key) {
                        changed = true
                        status[i] = .done(hit)
                        summary.cached += 1
                        summary.artifacts[i] = hit
                        cachedRows.append((instance.id, instance.op.name, action.key, "cached", hit, nil))
                        reporter.finished(instance.id, outcome: "cached")
                        continue
                    }
                }
                let forced = options.force.contains(i)
                if running >= options.jobs { continue }
                let start = (summary.runID, instance.id, instance.op.name, action.description.canonicalString)
                switch try store.acquireLease(action.key, owner: owner, seconds: options.leaseSeconds, ignoringCache: forced, starting: start) {
                case .cached(let hit):
                    // Another process finished it between our lookup and the lease.
                    changed = true
                    status[i] = .done(hit)
                    summary.cached += 1
                    summary.artifacts[i] = hit
                    cachedRows.append((instance.id, instance.op.name, action.key, "cached", hit, nil))
                    reporter.finished(instance.id, outcome: "cached", detail: "computed by another process")
                case .heldBy:
                    if case .pending = status[i] { summary.waitedForOthers += 1 }
                    status[i] = .waiting
                case .acquired(let nodeRun):
                    status[i] = .running
                    running += 1
                    reporter.started(instance.id)
                    let thread = Thread { [self, inputDigests] in
                        execute(instance, action: action, nodeRun: nodeRun!, inputDigests: inputDigests, threads: threadsPerJob, reporter: reporter)
                    }
                    thread.stackSize = 16 << 20
                    thread.start()
                }
            }
            let unfinished = status.contains {
                switch $0 { case .pending, .waiting, .running: return true; default: return false }
            }
            if !unfinished { break }
            if changed { continue }
            let now = Date().timeIntervalSince1970
            if now - lastHeartbeat > options.leaseSeconds / 3 {
                try store.renewLeases(owner: owner, seconds: options.leaseSeconds)
                lastHeartbeat = now
            }
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.1))
        }
        reporter.close()
        try store.recordNodeRuns(run: runID, cachedRows)
        summary.seconds = Date().timeIntervalSince1970 - start
        try store.finishRun(runID, status: summary.succeeded ? "succeeded" : "failed")
        // Loudly: a run whose cache file vanished reports nothing it did as kept.
        try store.checkStillAtPath()
        return summary
    }

    /// Runs one instance on its own thread and publishes the result. Caller holds no lock.
    private func execute(_ instance: Instance, action: Action, nodeRun: Int64, inputDigests: [Int: Digest], threads: Int,
                         reporter: ProgressReporter) {
        var outcome: Status
        var detail = ""
        var badInput = false
        do {
            var inputs: [String: [ArtifactManifest]] = [:]
            for input in instance.inputs {
                inputs[input.name] = try input.instances.map { try store.manifest(inputDigests[$0]!) }
            }
            let context = OpContext(store: store, instance: instance, inputs: inputs, actionKey: action.key,
                                    directory: graph.spec.directory, threads: threads) { fraction in
                reporter.progress(instance.id, fraction)
            }
            if let saved = try store.partialState(action.key) { detail = "resumed from step \(saved.step)" }
            let writer = try instance.op.run(context)
            // A cache file deleted or replaced under the run would take this result with it.
            try store.checkStillAtPath()
            // Result, action, lease release and run record: one transaction.
            let manifest = try writer.publish(actionKey: action.key, releasingLeaseOf: owner, clearingPartialState: true,
                                              finishing: (nodeRun, detail.isEmpty ? nil : detail))
            outcome = .done(manifest.digest)
        } catch {
            try? store.releaseLease(action.key, owner: owner)
            try? store.finishNodeRun(nodeRun, status: "failed", artifact: nil, error: "\(error)")
            outcome = .failed("\(error)")
            if error is CheckpointError { badInput = true }
        }
        condition.lock()
        status[instance.index] = outcome
        running -= 1
        switch outcome {
        case .done(let d):
            summary.executed += 1
            summary.artifacts[instance.index] = d
            reporter.finished(instance.id, outcome: "ran", detail: detail)
        case .failed(let message):
            summary.failed.append((instance.id, message))
            if badInput { summary.failedOnBadInput.insert(instance.id) }
            reporter.finished(instance.id, outcome: "FAILED", detail: message)
        default: break
        }
        condition.signal()
        condition.unlock()
    }

    /// Marks an instance failed before it ran. Caller holds the lock.
    private func fail(_ i: Int, _ message: String, reporter: ProgressReporter) {
        status[i] = .failed(message)
        summary.failed.append((graph.instances[i].id, message))
        reporter.finished(graph.instances[i].id, outcome: "FAILED", detail: message)
    }
}
