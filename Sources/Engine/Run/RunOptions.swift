/// How `run` behaves.
public struct RunOptions: Sendable {
    /// Instances run at once (each gets threads / jobs numeric threads).
    public var jobs: Int = 1
    /// Instances recomputed even when cached.
    public var force: Set<Int> = []
    /// When set, only these instances (and what they need) are considered.
    public var only: Set<Int>?
    /// Numeric threads in all.
    public var threads: Int = 1
    /// How progress is shown.
    public var progress: ProgressStyle = .lines
    /// The command line, for the run record.
    public var command: String = ""
    /// How long a lease lives without renewal; a dead owner's lease expires after this.
    public var leaseSeconds: Double = 30
    /// Declared memory all running instances may hold at once; nil: the machine's physical memory.
    public var memoryGB: Double?
    /// GPU device ids instances may be given (`--gpus 0,1`).
    public var gpus: [Int] = []
    /// How to start `mergeflow exec` for ops that run isolated in a child process; nil runs
    /// every op in this process (the library's default: it has no executable to start).
    public var childProcess: ChildProcessExecutor.Launch?
    /// The process's numeric thread budget, which the run divides among the jobs it runs
    /// in this process (`threads / jobs` each); nil leaves it alone. The ops module's
    /// `ComputeThreadBudget.numerics` is the budget its kernels and BLAS use.
    public var computeThreads: ComputeThreadBudget?
    /// When set, every instance runs as a Slurm job (`--executor slurm`); `jobs` is then the
    /// bound on jobs submitted and not finished (`--max-jobs`), and this machine's cores,
    /// memory and GPUs do not limit what starts.
    public var slurm: SlurmExecutor.Options?

    public enum ProgressStyle: Sendable { case live, lines, quiet }

    public init() {}
}

/// A process-wide numeric thread count the scheduler sets while a run lasts: how the engine
/// shares cores with the ops' kernels without knowing them.
public struct ComputeThreadBudget: Sendable {
    public let get: @Sendable () -> Int
    public let set: @Sendable (Int) -> Void

    public init(get: @escaping @Sendable () -> Int, set: @escaping @Sendable (Int) -> Void) {
        self.get = get
        self.set = set
    }
}

/// What a run did.
public struct RunSummary: Sendable {
    public let runID: Int64
    public var executed = 0
    public var cached = 0
    public var failed: [(instance: String, error: String)] = []
    /// Failed instances whose error was a malformed input file (a checkpoint that cannot
    /// be read): bad input rather than failed work, for commands that exit 2 on it.
    public var failedOnBadInput: Set<String> = []
    public var skipped = 0
    public var waitedForOthers = 0
    public var seconds = 0.0
    /// Instance index → artifact, for everything that finished.
    public var artifacts: [Int: Digest] = [:]

    public var succeeded: Bool { failed.isEmpty && skipped == 0 }
}

import Store
