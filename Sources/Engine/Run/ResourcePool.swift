import Foundation

/// The machine's cores, memory and GPUs as the local executor hands them out: a job starts
/// only when what it declares is free, so parallel jobs never oversubscribe the cores
/// (--threads) or the declared memory (--memory-gb), and each gets its own GPUs (--gpus).
struct ResourcePool {
    /// What one started job holds.
    struct Grant: Sendable {
        let threads: Int
        let memoryGB: Double
        /// Device ids, for CUDA_VISIBLE_DEVICES.
        let gpus: [Int]
    }

    let totalThreads: Int
    let totalMemoryGB: Double
    private(set) var freeThreads: Int
    private(set) var freeMemoryGB: Double
    private(set) var freeGPUs: [Int]
    let allGPUs: [Int]

    init(threads: Int, memoryGB: Double, gpus: [Int]) {
        totalThreads = max(1, threads)
        totalMemoryGB = memoryGB
        freeThreads = totalThreads
        freeMemoryGB = memoryGB
        freeGPUs = gpus
        allGPUs = gpus
    }

    /// Why a job needing `need` can never start here, if it cannot.
    func impossible(_ need: Resources) -> String? {
        if need.memoryGB > totalMemoryGB {
            return "it declares \(format(need.memoryGB)) GB of memory; this run has \(format(totalMemoryGB)) GB (--memory-gb)"
        }
        if need.gpus > allGPUs.count {
            return "it declares \(need.gpus) GPU\(need.gpus == 1 ? "" : "s"); this run has \(allGPUs.count) (--gpus)"
        }
        return nil
    }

    /// Takes what `need` asks for, if it is free now. Threads beyond the machine's are
    /// capped at the machine's (a spec written for a bigger machine still runs).
    /// - Parameter share: the threads of a job that does not declare them.
    mutating func take(_ need: Resources, share: Int) -> Grant? {
        let threads = min(totalThreads, need.threads ?? share)
        guard threads <= freeThreads, need.memoryGB <= freeMemoryGB, need.gpus <= freeGPUs.count else { return nil }
        freeThreads -= threads
        freeMemoryGB -= need.memoryGB
        let gpus = Array(freeGPUs.prefix(need.gpus))
        freeGPUs.removeFirst(need.gpus)
        return Grant(threads: threads, memoryGB: need.memoryGB, gpus: gpus)
    }

    mutating func give(back grant: Grant) {
        freeThreads += grant.threads
        freeMemoryGB += grant.memoryGB
        freeGPUs.append(contentsOf: grant.gpus)
        freeGPUs.sort()
    }

    private func format(_ gb: Double) -> String {
        gb == gb.rounded() ? String(Int(gb)) : String(format: "%.1f", gb)
    }
}
