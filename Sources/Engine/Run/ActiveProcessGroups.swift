import Foundation

/// The process groups of the commands this process is running, so an interrupt (or the
/// death of the coordinator, which `mergeflow exec` receives as SIGTERM) kills them too.
public final class ActiveProcessGroups: @unchecked Sendable {
    public static let shared = ActiveProcessGroups()
    private let lock = NSLock()
    private var groups = Set<pid_t>()

    public func insert(_ group: pid_t) { lock.withLock { _ = groups.insert(group) } }
    public func remove(_ group: pid_t) { lock.withLock { _ = groups.remove(group) } }

    /// Kills every group; then this process ends with `signal`'s exit status.
    func killAllAndExit(_ signal: Int32) -> Never {
        // No lock: this runs from a signal handler, where the lock may be held. A stale
        // read kills a group that just ended, which is harmless.
        for group in groups { Subprocess.killGroup(group, SIGKILL) }
        _exit(128 + signal)
    }

    /// Makes SIGINT, SIGTERM and SIGHUP kill the running commands' groups before this
    /// process ends. Called once by `mergeflow exec`.
    public static func installSignalHandlers() {
        _ = shared
        for s in [SIGINT, SIGTERM, SIGHUP] {
            signal(s) { received in ActiveProcessGroups.shared.killAllAndExit(received) }
        }
    }
}
