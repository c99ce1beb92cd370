import Foundation
import JSON
import Store

/// Runs each job as `mergeflow exec --spool-task` inside a Slurm job, through a spool
/// folder on the shared filesystem (`SlurmSpool`). The coordinator (this process) stays the
/// only writer of its SQLite cache: it stages inputs as bundles, submits, watches, and
/// imports each result when its exit record appears, checking every chunk.
///
/// - Jobs started together with the same resources go in one `sbatch --array`: staged
///   tasks are submitted once the scheduler's round of starts has ended (`roundEnded`) and
///   none has been added for `gatherSeconds` (at most `gatherLimitSeconds` after the
///   first), so a wide level of the DAG is one submission, and instances readied by
///   completions in quick succession share one too.
/// - State: the exit record in the spool is the truth; `squeue` (and `sacct` where the
///   cluster has accounting) only says whether a job without one is still alive, and why it
///   ended. Polls are adaptive: 0.2 s after a change, backing off to `maxPollSeconds`.
/// - Requeue and preemption need nothing: the job restarts and resumes from the progress in
///   its task folder. A job that vanished (its node died) is submitted again, at most
///   `retries` times. Job ids are recorded in the cache, so a coordinator that was killed
///   re-attaches to its jobs on the next run instead of submitting them again.
public final class SlurmExecutor: Executor, @unchecked Sendable {
    /// How to submit.
    public struct Options: Sendable {
        /// The `mergeflow` binary the jobs run (on the shared filesystem).
        public var executable: String
        /// The spec, by absolute path (on the shared filesystem).
        public var specPath: String
        /// The spool folder (on the shared filesystem).
        public var spool: String
        public var partition: String?
        public var account: String?
        /// More `sbatch` arguments, after ours (so they win): `--qos=high`, `--time=10`.
        public var extraArguments: [String] = []
        public var instanceLimit: Int
        /// Submissions of a job that vanished without an exit record (node failure).
        public var retries = 2
        /// Longest wait between polls.
        public var maxPollSeconds = 3.0

        public init(executable: String, specPath: String, spool: String, instanceLimit: Int) {
            self.executable = executable
            self.specPath = specPath
            self.spool = spool
            self.instanceLimit = instanceLimit
        }
    }

    /// One job handed to Slurm (or about to be).
    final class Task {
        let job: Job
        let directory: String
        let completion: @Sendable (JobOutcome) -> Void
        var jobID: String?
        var submissions = 0
        /// Polls in a row that found neither the job alive nor its exit record, and when the
        /// first of them was.
        var unseen = 0
        var unseenSince = 0.0
        var lastState: String?

        init(job: Job, directory: String, completion: @escaping @Sendable (JobOutcome) -> Void) {
            self.job = job
            self.directory = directory
            self.completion = completion
        }
    }

    let options: Options
    let store: Store
    private let lock = NSCondition()
    /// Staged, waiting for `submitPending`.
    private var pending: [Task] = []
    /// Recorded in the cache by an earlier coordinator: re-attached if Slurm still has them.
    private var reattaching: [Task] = []
    /// Submitted and not finished.
    private var watched: [Task] = []
    private var poller: Thread?
    private var submitter: Thread?
    /// When the first and the last of the waiting tasks were added.
    private var firstAdded = 0.0, lastAdded = 0.0
    /// Whether the scheduler is starting jobs (a round not yet ended).
    private var roundOpen = false
    /// Quiet time that closes a submission, and the longest a task waits for one.
    static let gatherSeconds = 0.1, gatherLimitSeconds = 3.0
    /// How long a job that ended without an exit record in a state Slurm may requeue from
    /// (NODE_FAIL, PREEMPTED) is given to reappear before it is submitted again.
    static let resubmitAfterSeconds = 10.0
    private var stopped = false
    /// `sbatch` calls made by this executor.
    public private(set) var submissions = 0
    /// Jobs found running or finished from an earlier coordinator, not submitted again.
    public private(set) var reattached = 0

    public init(options: Options, store: Store) {
        self.options = options
        self.store = store
    }

    // MARK: Executor

    public func start(_ job: Job, progress: @escaping @Sendable (Double) -> Void,
                      completion: @escaping @Sendable (JobOutcome) -> Void) {
        let directory = SlurmSpool.taskDirectory(spool: options.spool, key: job.action.key)
        let task = Task(job: job, directory: directory, completion: completion)
        if let recorded = try? store.remoteJob(job.action.key), recorded.taskDirectory == directory {
            task.jobID = recorded.jobID
            enqueue(task, reattach: true)
            return
        }
        do {
            try stage(task)
        } catch {
            // Not from here: the scheduler holds its lock while it starts jobs.
            let message = "cannot stage it in the spool \(options.spool): \(error)"
            DispatchQueue.global().async { completion(.failed(message, badInput: false)) }
            return
        }
        enqueue(task, reattach: false)
    }

    /// Hands a task to the submitter thread (started on first use).
    private func enqueue(_ task: Task, reattach: Bool) {
        lock.withLock {
            let now = Date().timeIntervalSince1970
            if pending.isEmpty && reattaching.isEmpty { firstAdded = now }
            lastAdded = now
            roundOpen = true
            if reattach { reattaching.append(task) } else { pending.append(task) }
            if submitter == nil {
                let thread = Thread { [self] in submitLoop() }
                thread.name = "mergeflow slurm submitter"
                submitter = thread
                thread.start()
            }
            lock.broadcast()
        }
    }

    /// Called by the scheduler after each round of starts: what it staged may go.
    public func roundEnded() {
        lock.withLock {
            guard roundOpen else { return }
            roundOpen = false
            lastAdded = Date().timeIntervalSince1970
            lock.broadcast()
        }
    }

    /// Waits for staged tasks, lets a burst of them gather, and submits it.
    private func submitLoop() {
        while true {
            let ready: Bool = lock.withLock {
                while pending.isEmpty && reattaching.isEmpty && !stopped { lock.wait() }
                if stopped { return false }
                while true {
                    let now = Date().timeIntervalSince1970
                    let quiet = roundOpen ? Double.infinity : lastAdded + SlurmExecutor.gatherSeconds
                    let due = min(quiet, firstAdded + SlurmExecutor.gatherLimitSeconds)
                    if now >= due || stopped { break }
                    _ = lock.wait(until: Date(timeIntervalSince1970: due))
                }
                return !stopped
            }
            if !ready { return }
            submitPending()
        }
    }

    /// Writes the task's request and input bundles; clears what an earlier attempt left
    /// (an exit record or result), keeping its worker cache (saved progress, workdir).
    func stage(_ task: Task) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(task.directory)/inputs", withIntermediateDirectories: true)
        for path in [SlurmSpool.exitPath(task.directory), SlurmSpool.resultPath(task.directory), SlurmSpool.logPath(task.directory)]
        where fm.fileExists(atPath: path) {
            try fm.removeItem(atPath: path)
        }
        let inputs = task.job.instance.dependencies.map { task.job.inputDigests[$0]! }
        for digest in Set(inputs) where !fm.fileExists(atPath: SlurmSpool.inputPath(task.directory, digest)) {
            try stageInput(digest, at: SlurmSpool.inputPath(task.directory, digest))
        }
        let request = SlurmSpool.Request(specPath: options.specPath, instanceID: task.job.instance.id, key: task.job.action.key,
                                         inputs: inputs, threads: task.job.threads, instanceLimit: options.instanceLimit)
        try SlurmSpool.writeAtomically(request.json.canonicalString + "\n", to: SlurmSpool.requestPath(task.directory))
    }

    /// Puts input `digest` at `path`: a hard link to one bundle per digest in `SPOOL/inputs/`,
    /// so a base model read by 200 jobs is written once; a copy where links fail.
    private func stageInput(_ digest: Digest, at path: String) throws {
        let shared = "\(options.spool)/inputs/\(digest.hex).bundle"
        if !FileManager.default.fileExists(atPath: shared) {
            try FileManager.default.createDirectory(atPath: "\(options.spool)/inputs", withIntermediateDirectories: true)
            try store.exportBundle(digest, to: shared)
        }
        if link(shared, path) != 0 && errno != EEXIST { try store.exportBundle(digest, to: path) }
    }

    // MARK: Submission

    /// Re-attaches to recorded jobs Slurm still has, then submits every staged task: one
    /// `sbatch --array` per set of resources.
    func submitPending() {
        let (toCheck, staged) = lock.withLock { () -> ([Task], [Task]) in
            defer { reattaching.removeAll(); pending.removeAll() }
            return (reattaching, pending)
        }
        var batch = staged
        if !toCheck.isEmpty {
            let states = SlurmClient.states(of: Set(toCheck.compactMap { $0.jobID.map(SlurmExecutor.arrayJob) })) ?? [:]
            for task in toCheck {
                let state = task.jobID.flatMap { states[$0] }
                let finished = FileManager.default.fileExists(atPath: SlurmSpool.exitPath(task.directory))
                if finished || state.map(SlurmClient.liveStates.contains) == true {
                    task.submissions = 1
                    lock.withLock {
                        reattached += 1
                        watched.append(task)
                        lock.broadcast()
                    }
                } else {
                    task.jobID = nil
                    do {
                        try stage(task)
                        batch.append(task)
                    } catch {
                        task.completion(.failed("cannot stage it in the spool \(options.spool): \(error)", badInput: false))
                    }
                }
            }
        }
        var groups: [[String]: [Task]] = [:], order: [[String]] = []
        for task in batch {
            let arguments = SlurmExecutor.resourceArguments(task.job)
            if groups[arguments] == nil { order.append(arguments) }
            groups[arguments, default: []].append(task)
        }
        for arguments in order { submit(groups[arguments]!, resources: arguments) }
        startPolling()
    }

    /// `--cpus-per-task`, `--mem`, `--gres=gpu:N` and `--time` of a job, from its node's
    /// `resources` and (for `command` nodes) `params.timeout`.
    static func resourceArguments(_ job: Job) -> [String] {
        let need = job.instance.resources
        var out = ["--cpus-per-task=\(max(1, job.threads))"]
        if need.memoryGB > 0 { out.append("--mem=\(Int((need.memoryGB * 1024).rounded(.up)))M") }
        if need.gpus > 0 { out.append("--gres=gpu:\(need.gpus)") }
        if let timeout = job.instance.params["timeout"]?.doubleValue, timeout > 0 {
            // The op's own timeout fires first; Slurm's limit (whole minutes) is the backstop.
            out.append("--time=\(Int((timeout / 60).rounded(.up)) + 1)")
        }
        return out
    }

    /// Submits `tasks` as one job array.
    private func submit(_ tasks: [Task], resources: [String]) {
        let name = "\(Int(Date().timeIntervalSince1970 * 1000))-\(UInt32.random(in: 0...UInt32.max))"
        let folder = "\(options.spool)/batches"
        let script = "\(folder)/\(name).sh", list = "\(folder)/\(name).tasks"
        var arguments = ["--job-name=mergeflow", "--array=0-\(tasks.count - 1)", "--requeue", "--open-mode=append",
                         "--output=\(folder)/\(name).%a.slurm.log"]
        if let p = options.partition { arguments.append("--partition=\(p)") }
        if let a = options.account { arguments.append("--account=\(a)") }
        arguments += resources + options.extraArguments
        let jobID: String
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try SlurmSpool.writeAtomically(tasks.map(\.directory).joined(separator: "\n") + "\n", to: list)
            try SlurmSpool.writeAtomically(SlurmExecutor.batchScript(executable: options.executable, list: list), to: script)
            chmod(script, 0o755)
            lock.withLock { submissions += 1 }
            jobID = try SlurmClient.sbatch(arguments, script: script)
        } catch {
            for task in tasks { task.completion(.failed("cannot submit it to Slurm: \(error)", badInput: false)) }
            return
        }
        for (i, task) in tasks.enumerated() {
            task.jobID = "\(jobID)_\(i)"
            task.submissions += 1
            task.unseen = 0
        }
        // Recorded before anything can finish being imported: a coordinator killed from
        // here on finds them.
        try? store.recordRemoteJobs(tasks.map { ($0.job.action.key, $0.jobID!, $0.directory) })
        lock.withLock {
            watched.append(contentsOf: tasks)
            lock.broadcast()
        }
    }

    /// The job script: picks its task folder by array index, appends its output to the
    /// task's logs (every attempt, requeues included), and runs the worker.
    static func batchScript(executable: String, list: String) -> String {
        """
        #!/bin/sh
        # Written by mergeflow's Slurm executor.
        task=$(sed -n "$((${SLURM_ARRAY_TASK_ID:-0} + 1))p" '\(list)')
        exec >>"$task/stdout.log" 2>>"$task/stderr.log"
        exec '\(executable)' exec --spool-task "$task"

        """
    }

    /// "1234" of "1234_7".
    static func arrayJob(_ id: String) -> String { String(id.split(separator: "_").first ?? Substring(id)) }

    // MARK: Watching

    private func startPolling() {
        lock.withLock {
            guard poller == nil else { return }
            let thread = Thread { [self] in poll() }
            thread.name = "mergeflow slurm poller"
            poller = thread
            thread.start()
        }
    }

    /// Looks at the watched jobs until stopped: `squeue` first, then the exit records (a job
    /// gone from squeue wrote its record before it ended), adaptive intervals.
    private func poll() {
        var interval = 0.2
        while true {
            let tasks: [Task] = lock.withLock {
                while watched.isEmpty && !stopped { lock.wait() }
                return stopped ? [] : watched
            }
            if tasks.isEmpty { return }
            Thread.sleep(forTimeInterval: interval)
            let states = SlurmClient.states(of: Set(tasks.compactMap { $0.jobID.map(SlurmExecutor.arrayJob) }))
            var done: [(Task, JobOutcome?)] = []
            for task in tasks {
                if let record = SlurmSpool.ExitRecord(path: SlurmSpool.exitPath(task.directory)) {
                    done.append((task, importResult(task, record)))
                    continue
                }
                guard let states else { continue }
                let state = task.jobID.flatMap { states[$0] }
                task.lastState = state ?? task.lastState
                if let state, SlurmClient.liveStates.contains(state) { task.unseen = 0; continue }
                // Ended (or vanished) without an exit record: seen twice, so a record
                // written between the two looks is not missed.
                if task.unseen == 0 { task.unseenSince = Date().timeIntervalSince1970 }
                task.unseen += 1
                guard task.unseen >= 2 else { continue }
                if let outcome = endedWithoutRecord(task, state: state) {
                    done.append((task, outcome))
                } else if Date().timeIntervalSince1970 - task.unseenSince >= SlurmExecutor.resubmitAfterSeconds {
                    // Not requeued by Slurm itself meanwhile: submitted again.
                    FileHandle.standardError.write(Data("mergeflow: Slurm job \(task.jobID ?? "?") of \(task.job.instance.id) ended \(state ?? task.lastState ?? "without a trace"); submitting it again\n".utf8))
                    done.append((task, nil))
                }
            }
            interval = done.isEmpty ? min(options.maxPollSeconds, interval * 1.5) : 0.2
            guard !done.isEmpty else { continue }
            var resubmit: [Task] = []
            lock.withLock {
                let finished = Set(done.map { ObjectIdentifier($0.0) })
                watched.removeAll { finished.contains(ObjectIdentifier($0)) }
            }
            for (task, outcome) in done {
                if let outcome {
                    if case .published = outcome {} else { try? store.forgetRemoteJob(task.job.action.key) }
                    task.completion(outcome)
                } else {
                    resubmit.append(task)
                }
            }
            if !resubmit.isEmpty {
                var staged: [Task] = []
                for task in resubmit {
                    do {
                        try stage(task)
                        staged.append(task)
                    } catch {
                        task.completion(.failed("cannot stage it again in the spool: \(error)", badInput: false))
                    }
                }
                for task in staged { enqueue(task, reattach: false) }
                roundEnded()
            }
        }
    }

    /// Imports a finished task's result into the cache (checked chunk by chunk), publishing
    /// it under the job's key with the lease release and node run in one transaction.
    private func importResult(_ task: Task, _ record: SlurmSpool.ExitRecord) -> JobOutcome {
        let job = task.job
        switch record {
        case let .failed(message, bad):
            return .failed("\(message)\(stderrTail(task, skipping: message))", badInput: bad)
        case let .published(digest, detail):
            do {
                // The log first: once the result is published the task folder may go.
                if FileManager.default.fileExists(atPath: SlurmSpool.logPath(task.directory)) {
                    try store.importBundle(at: SlurmSpool.logPath(task.directory), as: .action(key: CompanionKey.commandLog(of: job.action.key)))
                }
                try store.importBundle(at: SlurmSpool.resultPath(task.directory), expected: digest,
                                       as: .result(key: job.action.key, owner: job.owner, nodeRun: job.nodeRun,
                                                   detail: detail.isEmpty ? nil : detail))
            } catch {
                return .failed("its result in the spool cannot be imported: \(error)", badInput: false)
            }
            try? store.forgetRemoteJob(job.action.key)
            let fm = FileManager.default
            FileModes.makeWritable(task.directory)
            try? fm.removeItem(atPath: task.directory)
            return .published(digest, detail: detail)
        }
    }

    /// What a job that ended without an exit record means; nil: submit it again.
    private func endedWithoutRecord(_ task: Task, state: String?) -> JobOutcome? {
        let id = task.jobID ?? "?"
        let final = state ?? task.lastState.flatMap { SlurmClient.liveStates.contains($0) ? nil : $0 }
            ?? SlurmClient.accountedState(of: id)
        let tail = stderrTail(task, skipping: "")
        switch final {
        case "TIMEOUT", "DEADLINE":
            return .failed("Slurm job \(id) reached its time limit and was killed\(tail)", badInput: false)
        case "CANCELLED":
            return .failed("Slurm job \(id) was cancelled (scancel, or by an administrator)\(tail)", badInput: false)
        case "OUT_OF_MEMORY":
            return .failed("Slurm job \(id) ran out of memory (--mem from resources.memory_gb)\(tail)", badInput: false)
        case "FAILED", "COMPLETED":
            return .failed("Slurm job \(id) ended \(final!) without an exit record (the worker crashed)\(tail)", badInput: false)
        default:
            // NODE_FAIL, BOOT_FAIL, PREEMPTED without requeue, or purged without a trace.
            guard task.submissions <= options.retries else {
                return .failed("Slurm job \(id) ended \(final ?? "without a trace") \(task.submissions) times\(tail)", badInput: false)
            }
            return nil
        }
    }

    /// "; last lines of its stderr: …" from the task's log, or nothing.
    private func stderrTail(_ task: Task, skipping message: String) -> String {
        let lines = SlurmSpool.tail(SlurmSpool.stderrPath(task.directory), lines: 12)
            .filter { !$0.hasPrefix("mergeflow worker: failed: ") && !$0.hasPrefix("mergeflow worker: job ") }
        guard !lines.isEmpty, !message.contains(lines.last!) else { return "" }
        return "; last lines of its stderr:\n" + lines.map { "    " + $0 }.joined(separator: "\n")
    }

    // MARK: Ending

    /// Job ids submitted and not finished.
    public var activeJobIDs: [String] { lock.withLock { watched.compactMap(\.jobID) } }

    /// Cancels every job this executor watches (Ctrl-C).
    public func cancelAll() {
        SlurmClient.scancel(activeJobIDs)
    }

    /// Stops the poller and the submitter (at the end of a run), and removes the shared
    /// input bundles (task folders still waiting for a job keep their links).
    public func stop() {
        lock.withLock {
            stopped = true
            lock.broadcast()
        }
        try? FileManager.default.removeItem(atPath: "\(options.spool)/inputs")
    }
}

extension SlurmExecutor {
    /// Makes SIGINT, SIGTERM and SIGHUP cancel this executor's jobs (`scancel`) before the
    /// process ends with the signal's status.
    public func cancelOnInterrupt() {
        for s in [SIGINT, SIGTERM, SIGHUP] {
            signal(s, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
            source.setEventHandler { [self] in
                let ids = activeJobIDs
                FileHandle.standardError.write(Data("\nmergeflow: interrupted; cancelling \(ids.count) Slurm job\(ids.count == 1 ? "" : "s")\n".utf8))
                SlurmClient.scancel(ids)
                exit(128 + s)
            }
            source.resume()
            SignalSources.shared.keep(source)
        }
    }
}

/// Signal sources live as long as the process.
private final class SignalSources: @unchecked Sendable {
    static let shared = SignalSources()
    private let lock = NSLock()
    private var sources: [any DispatchSourceSignal] = []
    func keep(_ source: any DispatchSourceSignal) { lock.withLock { sources.append(source) } }
}
