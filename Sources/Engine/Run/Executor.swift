import Store

/// One instance the scheduler decided to compute: keyed, leased, its node run record
/// started. An executor computes it and publishes the result under `action.key`, releasing
/// the lease of `owner` and finishing `nodeRun` in the same transaction.
public struct Job: Sendable {
    public let instance: Instance
    public let action: Action
    /// The node run record started with the lease.
    public let nodeRun: Int64
    /// Producing instance index → its artifact, for every input.
    public let inputDigests: [Int: Digest]
    /// Numeric threads the op may use.
    public let threads: Int
    /// GPU device ids given to it (CUDA_VISIBLE_DEVICES for commands).
    public var gpus: [Int] = []
    /// The lease owner the result is published for.
    public let owner: String
    /// Recomputed although cached (`--force`).
    public let forced: Bool
}

/// How a job ended. On `.failed` nothing was published; the scheduler releases the lease
/// and records the failure.
public enum JobOutcome: Sendable {
    /// Published; `detail` is shown beside "ran" ("resumed from step 40").
    case published(Digest, detail: String)
    /// `badInput`: the op rejected a malformed input file (commands exit 2 on it).
    case failed(String, badInput: Bool)
}

/// Runs ready jobs and reports their completions: the seam between deciding what to run
/// (the scheduler) and running it (ninja's `CommandRunner`, REAPI's execution service).
///
/// `start` returns at once; the executor calls `progress` any number of times and then
/// `completion` exactly once, from any thread. Executors never decide what is ready, and
/// never write run records other than the published result's.
public protocol Executor: Sendable {
    func start(_ job: Job, progress: @escaping @Sendable (Double) -> Void,
               completion: @escaping @Sendable (JobOutcome) -> Void)
}
