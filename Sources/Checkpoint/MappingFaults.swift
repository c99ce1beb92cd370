import Foundation

/// Turns a fault in a memory-mapped input file into an error instead of a crash.
///
/// Reading a mapping past the end of a file that another program truncated raises SIGBUS,
/// which kills the process (inside SHA-256 or a merge kernel, wherever the read happens).
/// The handler installed here checks whether the faulting address lies in a registered
/// input mapping; if so it maps a page of zeros over the faulting page, marks the mapping
/// as faulted and returns, so the read completes with zeros. The owner then finds the mark
/// (`MappedFile.checkUnchanged`, called after each tensor is used) and throws an error
/// naming the file before anything computed from those zeros is kept. A SIGBUS anywhere
/// else goes to the handler that was there before (Swift's backtracer, or the default).
///
/// Everything the handler touches is preallocated raw memory: a signal handler must not
/// allocate, lock, or trigger a lazy global's initialisation.
enum MappingFaults {
    /// Mappings watched at once (input files open together: a merge's models and shards).
    static let capacity = 256

    /// Per slot: start address, end address (0 = free), fault mark. Written under `lock`
    /// by `register`/`unregister`, read by the handler; a slot is published by writing its
    /// end last and retired by clearing its end first, so the handler never sees a half-set
    /// slot as a live one.
    nonisolated(unsafe) private static let starts = UnsafeMutablePointer<UInt>.allocate(capacity: capacity)
    nonisolated(unsafe) private static let ends = UnsafeMutablePointer<UInt>.allocate(capacity: capacity)
    nonisolated(unsafe) private static let faulted = UnsafeMutablePointer<UInt>.allocate(capacity: capacity)
    nonisolated(unsafe) private static let previous = UnsafeMutablePointer<sigaction>.allocate(capacity: 1)
    private static let pageSize = UInt(getpagesize())
    private static let lock = NSLock()

    /// Installs the handler once (first use), after every global it reads is initialised.
    private static let installed: Bool = {
        starts.initialize(repeating: 0, count: capacity)
        ends.initialize(repeating: 0, count: capacity)
        faulted.initialize(repeating: 0, count: capacity)
        _ = pageSize
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = handleFault
        action.sa_flags = SA_SIGINFO
        sigemptyset(&action.sa_mask)
        return sigaction(SIGBUS, &action, previous) == 0
    }()

    /// Watches `bytes` (a mapping of an input file); returns its slot, or nil when every
    /// slot is taken (the mapping then reads unprotected, as before).
    static func register(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard installed, let base = bytes.baseAddress, bytes.count > 0 else { return nil }
        lock.lock()
        defer { lock.unlock() }
        guard let slot = (0..<capacity).first(where: { ends[$0] == 0 }) else { return nil }
        faulted[slot] = 0
        starts[slot] = UInt(bitPattern: base)
        ends[slot] = UInt(bitPattern: base) + UInt(bytes.count)
        return slot
    }

    /// Stops watching a slot (before its mapping is unmapped).
    static func unregister(_ slot: Int) {
        lock.lock()
        ends[slot] = 0
        starts[slot] = 0
        lock.unlock()
    }

    /// Whether a read in this slot's mapping faulted since it was registered.
    static func hasFaulted(_ slot: Int) -> Bool { faulted[slot] != 0 }

    /// The SIGBUS handler. Async-signal-safe: reads raw memory and calls mmap / sigaction.
    private static let handleFault: @convention(c) (Int32, UnsafeMutablePointer<siginfo_t>?, UnsafeMutableRawPointer?) -> Void = { _, info, _ in
        let address = UInt(bitPattern: info?.pointee._sifields._sigfault.si_addr)
        for slot in 0..<MappingFaults.capacity {
            let end = MappingFaults.ends[slot]
            guard end != 0, address >= MappingFaults.starts[slot], address < end else { continue }
            let page = address & ~(MappingFaults.pageSize - 1)
            let zeros = mmap(UnsafeMutableRawPointer(bitPattern: page), Int(MappingFaults.pageSize), PROT_READ,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
            if zeros != MAP_FAILED {
                MappingFaults.faulted[slot] = 1
                return
            }
            break
        }
        // Not an input mapping (or the page could not be replaced): let the previous
        // handler have it when the instruction faults again.
        sigaction(SIGBUS, MappingFaults.previous, nil)
    }
}
