import Foundation

/// The process-wide thread budget for numeric work.
///
/// One number governs both OpenBLAS's internal threads and the chunked kernels in
/// `Kernels`, so the two never oversubscribe the machine: a kernel splits across at most
/// `count` workers and never calls BLAS from inside a worker.
///
/// Our kernels give the same bits for any count; OpenBLAS's sgemm does not (its sums are
/// ordered differently with 1 and 2 threads). Work that must be reproducible across runs
/// (training) runs inside `withFixedSplit`: OpenBLAS at one thread, and every product cut by
/// `SplitGEMM` into a fixed number of blocks that our workers share, so the bits depend on
/// that number and not on how many workers there are.
public enum ComputeThreads {
    // Written at start-up (CLI `--threads`) or by tests before work starts; read everywhere.
    nonisolated(unsafe) private static var current: Int = {
        let n = ProcessInfo.processInfo.activeProcessorCount
        BLAS.setThreadCount(n)
        return n
    }()

    // The active split: its block count and how many holders share it. Guarded by `pinLock`.
    nonisolated(unsafe) private static var pinned: (pieces: Int, holders: Int)?
    private static let pinLock = NSCondition()

    /// The number of threads numeric code may use (default: all cores).
    public static var count: Int { current }

    /// Sets the budget for OpenBLAS and the parallel kernels. While a split is held, OpenBLAS
    /// stays at one thread and only the kernels' budget changes.
    /// - Parameter count: at least 1; values above the core count are allowed but rarely help.
    public static func set(_ count: Int) {
        pinLock.lock()
        defer { pinLock.unlock() }
        current = max(1, count)
        if pinned == nil { BLAS.setThreadCount(current) }
    }

    /// Runs `body` with OpenBLAS at one thread and every `SplitGEMM` product cut into `pieces`
    /// blocks, run by up to `count` workers. Concurrent callers asking for the same number
    /// share the split; a caller asking for another waits until it is free.
    public static func withFixedSplit<T>(_ pieces: Int, _ body: () throws -> T) rethrows -> T {
        let pieces = max(1, pieces)
        pinLock.lock()
        while let p = pinned, p.pieces != pieces { pinLock.wait() }
        pinned = (pieces, (pinned?.holders ?? 0) + 1)
        BLAS.setThreadCount(1)
        pinLock.unlock()
        defer {
            pinLock.lock()
            let holders = pinned!.holders - 1
            pinned = holders == 0 ? nil : (pieces, holders)
            if holders == 0 { BLAS.setThreadCount(current) }
            pinLock.broadcast()
            pinLock.unlock()
        }
        return try body()
    }

    /// The block count of the split being held, or nil outside `withFixedSplit`.
    public static var productSplit: Int? {
        pinLock.lock()
        defer { pinLock.unlock() }
        return pinned?.pieces
    }

    /// Cores on this machine.
    public static var available: Int { ProcessInfo.processInfo.activeProcessorCount }
}
