import Foundation
import JSON
import Store

/// Runs an expanded DAG against the cache: ready instances in dependency order, cache hits
/// taken without running, independent instances in parallel up to `jobs`, each result
/// published in one transaction with its action key.
///
/// Event-driven: each instance is keyed and looked up once, when its last input finishes;
/// an executor runs the ones to compute and reports completions, which ready their
/// dependents. The scheduler wakes for completions, to renew its leases, and (only while
/// another process holds a lease it needs) to look again. O(instances + edges) per run.
///
/// A failing instance fails only its dependents; the rest of the sweep goes on. Two
/// processes on one cache never compute the same key twice: an instance runs only under a
/// lease taken in a transaction; a process that finds the lease held waits for the result,
/// and a lease whose owner died expires.
public final class Scheduler: @unchecked Sendable {
    public static let engineVersion = "0.1.0"

    enum Status {
        case pending
        /// Keyed, not cached: waiting for a free job (or for another process's lease).
        case keyed(Action)
        case running
        case done(Digest)
        case failed(String)
        case skipped
        /// Outside `--only`.
        case excluded
    }

    /// How often to look again at a key another live process is computing.
    static let othersPollSeconds = 0.2

    let store: Store
    let graph: ExpandedGraph
    let options: RunOptions
    /// Unique per process: host, pid and a random nonce.
    public let owner: String
    let inProcess: InProcessExecutor
    let childProcess: ChildProcessExecutor?
    /// Every instance goes to Slurm when set (`--executor slurm`).
    public let slurm: SlurmExecutor?

    private let condition = NSCondition()
    private var status: [Status]
    private var summary: RunSummary
    /// Inputs (counted per edge) each instance still waits for.
    private var unfinishedInputs: [Int]
    private var dependents: [[Int]]
    /// Instances whose inputs are all done, to key and look up.
    private var ready: [Int] = []
    private var readyHead = 0
    /// Keyed misses waiting for a job slot, in the order they became ready.
    private var startable: [Int] = []
    private var startableHead = 0
    /// Misses another live process is computing; looked at again every `othersPollSeconds`.
    private var heldByOthers: [Int] = []
    /// Outcomes reported by executors, handled on the scheduler's thread.
    private var completions: [(index: Int, job: Job, outcome: JobOutcome)] = []
    private var waitedForOthers = Set<Int>()
    /// Cores, declared memory and GPUs not held by a running job.
    private var pool: ResourcePool
    private var grants: [Int: ResourcePool.Grant] = [:]
    private var running = 0
    private var unfinished = 0
    private var cachedRows: [NodeRunRow] = []

    public init(store: Store, graph: ExpandedGraph, options: RunOptions) {
        self.store = store
        self.graph = graph
        self.options = options
        self.owner = "\(Store.hostName):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
        self.status = Array(repeating: .pending, count: graph.instances.count)
        self.summary = RunSummary(runID: 0)
        self.unfinishedInputs = graph.instances.map { $0.dependencies.count }
        var dependents = Array(repeating: [Int](), count: graph.instances.count)
        for instance in graph.instances {
            for d in instance.dependencies { dependents[d].append(instance.index) }
        }
        self.dependents = dependents
        self.pool = ResourcePool(threads: options.threads,
                                 memoryGB: options.memoryGB ?? Double(ProcessInfo.processInfo.physicalMemory) / 1e9,
                                 gpus: options.gpus)
        self.inProcess = InProcessExecutor(store: store, directory: graph.spec.directory)
        self.childProcess = options.childProcess.map { ChildProcessExecutor(launch: $0, store: store) }
        self.slurm = options.slurm.map { SlurmExecutor(options: $0, store: store) }
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
        for i in status.indices {
            if case .excluded = status[i] { continue }
            unfinished += 1
            if unfinishedInputs[i] == 0 { ready.append(i) }
        }
        let reporter = ProgressReporter(style: options.progress, total: unfinished, jobs: options.jobs)
        let previousThreads = options.computeThreads?.get()
        let threadsPerJob = max(1, options.threads / max(1, options.jobs))
        options.computeThreads?.set(threadsPerJob)
        defer { if let previousThreads { options.computeThreads?.set(previousThreads) } }

        var lastHeartbeat = Date().timeIntervalSince1970
        var lastLookAtOthers = 0.0
        condition.lock()
        defer {
            condition.unlock()
            slurm?.stop()
            childProcess?.stop()
        }
        while unfinished > 0 {
            var changed = false
            // 1. Completions ready their dependents.
            if !completions.isEmpty {
                changed = true
                let done = completions
                completions.removeAll()
                for c in done { complete(c.index, c.job, c.outcome, reporter: reporter) }
            }
            // 2. Key and look up what became ready.
            while readyHead < ready.count {
                changed = true
                let i = ready[readyHead]
                readyHead += 1
                resolve(i, reporter: reporter)
            }
            ready.removeAll(keepingCapacity: true)
            readyHead = 0
            // 3. Another process's lease, looked at again now and then.
            let now = Date().timeIntervalSince1970
            if !heldByOthers.isEmpty, now - lastLookAtOthers >= Scheduler.othersPollSeconds {
                lastLookAtOthers = now
                startable.append(contentsOf: heldByOthers)
                heldByOthers.removeAll()
            }
            // 4. Start what fits in the free jobs, cores, memory and GPUs, first come first
            // served; what does not fit now keeps its place in the queue.
            var deferred: [Int] = []
            while running < options.jobs, slurm != nil || pool.freeThreads > 0, startableHead < startable.count {
                let i = startable[startableHead]
                startableHead += 1
                let need = graph.instances[i].resources
                if slurm != nil {
                    // The cluster's scheduler places it: nothing of this machine is held.
                    changed = true
                    _ = try startJob(i, runID: runID, grant: ResourcePool.Grant(threads: max(1, need.threads ?? 1), memoryGB: need.memoryGB, gpus: []),
                                     reporter: reporter)
                    continue
                }
                if let reason = pool.impossible(need) {
                    changed = true
                    fail(i, "cannot run here: \(reason)", reporter: reporter)
                    continue
                }
                guard let grant = pool.take(need, share: threadsPerJob) else { deferred.append(i); continue }
                changed = true
                if try startJob(i, runID: runID, grant: grant, reporter: reporter) {
                    grants[i] = grant
                } else {
                    pool.give(back: grant)
                }
            }
            // The consumed slots before the head take the deferred back, in order.
            startableHead -= deferred.count
            for (k, i) in deferred.enumerated() { startable[startableHead + k] = i }
            if startableHead == startable.count { startable.removeAll(keepingCapacity: true); startableHead = 0 }
            // What started in this round may go to Slurm together (one job array).
            slurm?.roundEnded()
            if now - lastHeartbeat > options.leaseSeconds / 3 {
                try store.renewLeases(owner: owner, seconds: options.leaseSeconds)
                lastHeartbeat = now
            }
            if changed || unfinished == 0 { continue }
            // Nothing to do until an executor reports, a lease needs renewing, or (when
            // another process holds a key) it is time to look again.
            var wake = lastHeartbeat + options.leaseSeconds / 3
            if !heldByOthers.isEmpty { wake = min(wake, lastLookAtOthers + Scheduler.othersPollSeconds) }
            if completions.isEmpty { _ = condition.wait(until: Date(timeIntervalSince1970: wake)) }
        }
        reporter.close()
        try store.recordNodeRuns(run: runID, cachedRows)
        summary.seconds = Date().timeIntervalSince1970 - start
        try store.finishRun(runID, status: summary.succeeded ? "succeeded" : "failed")
        // Loudly: a run whose cache file vanished reports nothing it did as kept.
        try store.checkStillAtPath()
        return summary
    }

    /// Keys a ready instance and looks it up. Caller holds the lock.
    private func resolve(_ i: Int, reporter: ProgressReporter) {
        let instance = graph.instances[i]
        var inputDigests: [Int: Digest] = [:]
        for d in instance.dependencies {
            if case .done(let digest) = status[d] { inputDigests[d] = digest }
        }
        let resolution: KeyResolution
        do {
            resolution = try KeyResolution.resolve(instance, inputDigests: inputDigests, directory: graph.spec.directory,
                                                   store: store, force: options.force.contains(i))
        } catch {
            resolution = .unkeyable("\(error)")
        }
        switch resolution {
        case .unkeyable(let message):
            fail(i, "cannot compute its key: \(message)", reporter: reporter)
            cachedRows.append(NodeRunRow(node: instance.id, op: instance.op.name, actionKey: nil, status: .failed, error: message))
        case .cached(let action, let hit):
            cachedRows.append(NodeRunRow(node: instance.id, op: instance.op.name, actionKey: action.key, status: .cached, artifact: hit))
            finish(i, digest: hit, cached: true)
            reporter.finished(instance.id, outcome: "cached")
        case .miss(let action):
            status[i] = .keyed(action)
            startable.append(i)
        }
    }

    /// Takes the lease of a keyed miss and hands it to an executor with `grant`. Returns
    /// whether it started (else the grant is not used). Caller holds the lock.
    private func startJob(_ i: Int, runID: Int64, grant: ResourcePool.Grant, reporter: ProgressReporter) throws -> Bool {
        guard case .keyed(let action) = status[i] else { return false }
        let instance = graph.instances[i]
        let forced = options.force.contains(i)
        let record = (runID, instance.id, instance.op.name, action.description.canonicalString)
        switch try store.acquireLease(action.key, owner: owner, seconds: options.leaseSeconds, ignoringCache: forced, starting: record) {
        case .cached(let hit):
            // Another process finished it between our lookup and the lease.
            cachedRows.append(NodeRunRow(node: instance.id, op: instance.op.name, actionKey: action.key, status: .cached, artifact: hit))
            finish(i, digest: hit, cached: true)
            reporter.finished(instance.id, outcome: "cached", detail: "computed by another process")
            return false
        case .heldBy:
            if waitedForOthers.insert(i).inserted { summary.waitedForOthers += 1 }
            heldByOthers.append(i)
            return false
        case .acquired(let nodeRun):
            status[i] = .running
            running += 1
            reporter.started(instance.id)
            var inputDigests: [Int: Digest] = [:]
            for d in instance.dependencies {
                if case .done(let digest) = status[d] { inputDigests[d] = digest }
            }
            var job = Job(instance: instance, action: action, nodeRun: nodeRun!, inputDigests: inputDigests,
                          threads: grant.threads, owner: owner, forced: forced)
            job.gpus = grant.gpus
            executor(for: job).start(job, progress: { reporter.progress(instance.id, $0) }) { [self, job] outcome in
                condition.lock()
                completions.append((i, job, outcome))
                condition.signal()
                condition.unlock()
            }
            return true
        }
    }

    /// The child-process executor for ops that ask for isolation (when this run has one),
    /// else this process.
    private func executor(for job: Job) -> any Executor {
        if let slurm { return slurm }
        guard let childProcess else { return inProcess }
        switch job.instance.op.isolation {
        case .inProcess: return inProcess
        case .childProcess: return childProcess
        case .childProcessAbove(let bytes):
            var total = 0
            for digest in Set(job.inputDigests.values) {
                total += (try? store.manifest(digest).tensors.reduce(0) { $0 + $1.byteCount }) ?? 0
            }
            return total >= bytes ? childProcess : inProcess
        }
    }

    /// Handles an executor's report. Caller holds the lock.
    private func complete(_ i: Int, _ job: Job, _ outcome: JobOutcome, reporter: ProgressReporter) {
        running -= 1
        if let grant = grants.removeValue(forKey: i) { pool.give(back: grant) }
        let id = graph.instances[i].id
        switch outcome {
        case .published(let digest, let detail):
            summary.executed += 1
            finish(i, digest: digest, cached: false)
            reporter.finished(id, outcome: "ran", detail: detail)
        case .failed(let message, let badInput):
            try? store.releaseLease(job.action.key, owner: owner)
            try? store.finishNodeRun(job.nodeRun, status: .failed, artifact: nil, error: message)
            if badInput { summary.failedOnBadInput.insert(id) }
            fail(i, message, reporter: reporter)
        }
    }

    /// Records a result and readies the dependents whose last input it was. Caller holds the lock.
    private func finish(_ i: Int, digest: Digest, cached: Bool) {
        status[i] = .done(digest)
        summary.artifacts[i] = digest
        if cached { summary.cached += 1 }
        unfinished -= 1
        for d in dependents[i] {
            guard case .pending = status[d] else { continue }
            unfinishedInputs[d] -= 1
            if unfinishedInputs[d] == 0 { ready.append(d) }
        }
    }

    /// Marks an instance failed and skips everything downstream of it. Caller holds the lock.
    private func fail(_ i: Int, _ message: String, reporter: ProgressReporter) {
        status[i] = .failed(message)
        unfinished -= 1
        summary.failed.append((graph.instances[i].id, message))
        reporter.finished(graph.instances[i].id, outcome: "FAILED", detail: message)
        var stack = dependents[i]
        while let d = stack.popLast() {
            guard case .pending = status[d] else { continue }
            status[d] = .skipped
            unfinished -= 1
            summary.skipped += 1
            let instance = graph.instances[d]
            cachedRows.append(NodeRunRow(node: instance.id, op: instance.op.name, actionKey: nil, status: .skipped, error: "an input failed"))
            reporter.finished(instance.id, outcome: "skipped", detail: "an input failed")
            stack.append(contentsOf: dependents[d])
        }
    }
}
