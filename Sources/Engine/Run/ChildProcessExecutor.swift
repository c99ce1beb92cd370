import Foundation
import Store

/// Runs each job in a child process, `mergeflow exec`, against the same cache: a trap or an
/// out-of-memory kill inside the op fails that node only, with the signal and the last
/// lines of the child's stderr in its error, and the rest of the sweep goes on.
///
/// The child publishes its result itself, under the coordinator's lease (the coordinator
/// keeps renewing it), so in-node progress and resume work exactly as in-process. It ends
/// itself when the coordinator dies, so a killed sweep leaves no worker computing.
public struct ChildProcessExecutor: Executor {
    /// How to start `mergeflow exec` for this run.
    public struct Launch: Sendable {
        public var executable: String
        public var specPath: String
        public var cachePath: String
        public var instanceLimit: Int

        public init(executable: String, specPath: String, cachePath: String, instanceLimit: Int) {
            self.executable = executable
            self.specPath = specPath
            self.cachePath = cachePath
            self.instanceLimit = instanceLimit
        }
    }

    /// Lines of the child's stderr quoted in a failure.
    static let quotedLines = 12

    let launch: Launch
    let store: Store
    /// Workers kept between jobs of ops that reuse them (`OpDefinition.reusesWorker`).
    let workers: WorkerPool

    public init(launch: Launch, store: Store) {
        self.launch = launch
        self.store = store
        workers = WorkerPool(argv: [launch.executable, "exec", "--serve", launch.specPath, "--cache", launch.cachePath,
                                    "--max-instances", String(launch.instanceLimit), "--parent", String(getpid())])
    }

    public func start(_ job: Job, progress: @escaping @Sendable (Double) -> Void,
                      completion: @escaping @Sendable (JobOutcome) -> Void) {
        var request = ExecRequest(specPath: launch.specPath, cachePath: launch.cachePath, instanceID: job.instance.id,
                                  key: job.action.key, inputs: job.instance.dependencies.map { job.inputDigests[$0]! },
                                  owner: job.owner, nodeRun: job.nodeRun, threads: job.threads,
                                  instanceLimit: launch.instanceLimit, parent: getpid())
        request.gpus = job.gpus
        let reuse = job.instance.op.reusesWorker
        let thread = Thread { [launch, store, request, workers] in
            // A forced rerun's key already has a result; only an unforced one can tell
            // "published, then killed" from "killed" by looking.
            if reuse {
                completion(workers.run(request, key: job.forced ? nil : job.action.key, store: store, progress: progress))
                return
            }
            completion(ChildProcessExecutor.supervise([launch.executable] + request.arguments, key: job.forced ? nil : job.action.key,
                                                      store: store, progress: progress))
        }
        thread.start()
    }

    /// Ends the workers kept between jobs; called when the run ends.
    func stop() { workers.stopIdle() }

    /// This process's environment, with Swift's crash report trimmed to what a failure
    /// message can quote (the trap's message and the top frames, no registers or images),
    /// unless the user chose their own `SWIFT_BACKTRACE`.
    static var childEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        if env["SWIFT_BACKTRACE"] == nil {
            env["SWIFT_BACKTRACE"] = "interactive=no,color=no,threads=crashed,registers=none,images=none,limit=6,top=2,sanitize=yes"
        }
        return env
    }

    /// Starts the child, forwards its progress, and turns how it ended into an outcome.
    static func supervise(_ argv: [String], key: Digest?, store: Store, progress: @escaping @Sendable (Double) -> Void) -> JobOutcome {
        let child: Subprocess
        do {
            child = try Subprocess(argv, environment: childEnvironment)
        } catch {
            return .failed("cannot start its child process: \(error)", badInput: false)
        }
        let stderrTail = TailBuffer(limit: 64 << 10)
        let stderrDone = stderrTail.drainInBackground(child.stderr)
        var outcome: ChildReport?
        TailBuffer(limit: 4096).drain(child.stdout) { line in
            switch ChildReport(line: line) {
            case .progress(let f)?: progress(f)
            case let report?: outcome = report
            case nil: break
            }
        }
        stderrDone.wait()
        let termination = child.wait()
        switch outcome {
        case .published(let digest, let detail)?: return .published(digest, detail: detail)
        case .failed(let message, let bad)?: return .failed(message, badInput: bad)
        default:
            // Killed between publishing and saying so: the transaction decides.
            if let key, let hit = try? store.lookupAction(key) { return .published(hit, detail: "") }
            return .failed(failureMessage("its child process \(termination)", stderr: stderrTail.lastLines(1000)), badInput: false)
        }
    }

    /// "its child process killed by signal …; last lines of its stderr: …", quoting Swift's
    /// trap message too when it is further up than the last lines.
    static func failureMessage(_ head: String, stderr all: [String]) -> String {
        var message = head
        var lines = Array(all.suffix(quotedLines))
        if let trap = all.last(where: { $0.hasPrefix("Fatal error") || $0.contains("Fatal error:") }), !lines.contains(trap) {
            lines.insert(trap, at: 0)
        }
        if !lines.isEmpty { message += "; last lines of its stderr:\n" + lines.map { "    " + $0 }.joined(separator: "\n") }
        return message
    }
}
