import Foundation

/// The process-wide thread budget for numeric work.
///
/// One number governs both OpenBLAS's internal threads and the chunked kernels in
/// `Kernels`, so the two never oversubscribe the machine: a kernel splits across at most
/// `count` workers and never calls BLAS from inside a worker.
public enum ComputeThreads {
    // Written at start-up (CLI `--threads`) or by tests before work starts; read everywhere.
    nonisolated(unsafe) private static var current: Int = {
        let n = ProcessInfo.processInfo.activeProcessorCount
        BLAS.setThreadCount(n)
        return n
    }()

    /// The number of threads numeric code may use (default: all cores).
    public static var count: Int { current }

    /// Sets the budget for OpenBLAS and the parallel kernels.
    /// - Parameter count: at least 1; values above the core count are allowed but rarely help.
    public static func set(_ count: Int) {
        current = max(1, count)
        BLAS.setThreadCount(current)
    }

    /// Cores on this machine.
    public static var available: Int { ProcessInfo.processInfo.activeProcessorCount }
}
