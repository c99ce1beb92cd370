import Dispatch
import Foundation
import Synchronization

/// The threads behind `Parallel`'s regions: helpers that wait a short while for the next
/// region by spinning before they sleep.
///
/// Why not `DispatchQueue.concurrentPerform` alone: each call wakes a libdispatch worker
/// through the kernel and lets it fall asleep again, about 16 µs per two-worker region on
/// the 2-core machines this was measured on, beyond the work itself — and a training step
/// is a few hundred short regions (LayerNorm, GELU, attention, each `SplitGEMM` product).
/// Here a region that follows another within the spin window starts without a wake-up.
///
/// One region at a time uses the pool; a region started while it is in use (nested in
/// another's body, or from another thread) runs on `concurrentPerform` as before. Worker w
/// of a region runs the same share either way, so no result depends on which ran it. A
/// region with more workers than cores does not spin: a spinning helper would take a core
/// from a worker still busy.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// How long a helper checks for the next region before it sleeps (loads of an atomic,
    /// roughly 50–100 µs here): longer than the serial work between a training step's
    /// regions, short enough that an idle process is idle.
    private static let spinChecks = 1 << 16
    private static let cores = ProcessInfo.processInfo.activeProcessorCount

    private final class Helper: Sendable {
        /// Worker index in a region: helpers are workers 1, 2, …
        let worker: Int
        /// 0 while the helper runs or spins, 1 while it sleeps (or is about to) on `wake`.
        let sleeping = Atomic<Int>(0)
        let wake = DispatchSemaphore(value: 0)
        init(worker: Int) { self.worker = worker }
    }

    /// Held by the caller whose region is running.
    private let busy = Atomic<Bool>(false)
    /// Bumped once per region; a helper runs a region when it sees a new value.
    private let generation = Atomic<Int>(0)
    /// Helpers that have not yet finished the current region.
    private let remaining = Atomic<Int>(0)
    // Written only by the caller holding `busy`, before it bumps `generation` (which
    // publishes them) and read by helpers after they see the bump; stable until every
    // helper has counted itself out of the region.
    private var helpers: [Helper] = []
    private var body: ((Int) -> Void)?
    private var workers = 0
    /// How many times a helper checks for the next region before it sleeps, after this one.
    private var checksBeforeSleep = 0

    /// Runs `body(w)` for w in 0..<workers, worker 0 on the calling thread, and returns when
    /// all have finished; false (nothing run) when another region holds the pool.
    func run(workers: Int, _ body: (Int) -> Void) -> Bool {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        while helpers.count < workers - 1 { start(Helper(worker: helpers.count + 1)) }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.workers = workers
            let spin = workers <= Self.cores
            checksBeforeSleep = spin ? Self.spinChecks : 0
            // Every helper counts itself out, taking part or not, so none can still be
            // reading this region's body when the next one is written.
            remaining.store(helpers.count, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            for helper in helpers where helper.sleeping.exchange(0, ordering: .sequentiallyConsistent) == 1 {
                helper.wake.signal()
            }
            body(0)
            var checks = 0
            while remaining.load(ordering: .acquiring) > 0 {
                checks += 1
                if !spin || checks > Self.spinChecks { sched_yield() }
            }
            self.body = nil
        }
        return true
    }

    private func start(_ helper: Helper) {
        helpers.append(helper)
        let seen = generation.load(ordering: .acquiring)
        let thread = Thread { [self] in serve(helper, from: seen) }
        thread.stackSize = 8 << 20
        thread.start()
    }

    private func serve(_ helper: Helper, from first: Int) {
        var seen = first, limit = 0
        while true {
            var current = generation.load(ordering: .acquiring), checks = 0
            while current == seen {
                checks += 1
                if checks > limit {
                    // Announce the sleep, then look once more: a region published before the
                    // announcement was seen here; one published after it signals `wake`.
                    helper.sleeping.store(1, ordering: .sequentiallyConsistent)
                    current = generation.load(ordering: .sequentiallyConsistent)
                    if current != seen {
                        // The caller may already have taken the announcement back and
                        // signalled: consume that signal so it does not wake a later sleep.
                        if helper.sleeping.exchange(0, ordering: .sequentiallyConsistent) == 0 { helper.wake.wait() }
                        break
                    }
                    helper.wake.wait()
                    checks = 0
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            limit = checksBeforeSleep
            if helper.worker < workers { body!(helper.worker) }
            remaining.subtract(1, ordering: .releasing)
        }
    }
}
