import Foundation

/// The process-wide thread budget for numeric work.
///
/// One number governs both OpenBLAS's internal threads and the chunked kernels in
/// `Kernels`, so the two never oversubscribe the machine: a kernel splits across at most
/// `count` workers and never calls BLAS from inside a worker.
///
/// Our kernels give the same bits for any count; OpenBLAS's sgemm does not (its sums are
/// ordered differently with 1 and 2 threads). Work that must be reproducible across runs
/// (training) runs inside `withPinnedBLAS`, which fixes OpenBLAS's count for its duration.
public enum ComputeThreads {
    // Written at start-up (CLI `--threads`) or by tests before work starts; read everywhere.
    nonisolated(unsafe) private static var current: Int = {
        let n = ProcessInfo.processInfo.activeProcessorCount
        BLAS.setThreadCount(n)
        return n
    }()

    // Active pins: their thread count and how many holders share it. Guarded by `pinLock`.
    nonisolated(unsafe) private static var pinned: (threads: Int, holders: Int)?
    private static let pinLock = NSCondition()

    /// The number of threads numeric code may use (default: all cores).
    public static var count: Int { current }

    /// Sets the budget for OpenBLAS and the parallel kernels. While a pin is held, OpenBLAS
    /// keeps the pinned count and only the kernels' budget changes.
    /// - Parameter count: at least 1; values above the core count are allowed but rarely help.
    public static func set(_ count: Int) {
        pinLock.lock()
        defer { pinLock.unlock() }
        current = max(1, count)
        if pinned == nil { BLAS.setThreadCount(current) }
    }

    /// Runs `body` with OpenBLAS fixed at `threads`. Concurrent callers asking for the same
    /// count share the pin; a caller asking for another count waits until the pin is free.
    public static func withPinnedBLAS<T>(_ threads: Int, _ body: () throws -> T) rethrows -> T {
        let threads = max(1, threads)
        pinLock.lock()
        while let p = pinned, p.threads != threads { pinLock.wait() }
        pinned = (threads, (pinned?.holders ?? 0) + 1)
        BLAS.setThreadCount(threads)
        pinLock.unlock()
        defer {
            pinLock.lock()
            let holders = pinned!.holders - 1
            pinned = holders == 0 ? nil : (threads, holders)
            if holders == 0 { BLAS.setThreadCount(current) }
            pinLock.broadcast()
            pinLock.unlock()
        }
        return try body()
    }

    /// Cores on this machine.
    public static var available: Int { ProcessInfo.processInfo.activeProcessorCount }
}
