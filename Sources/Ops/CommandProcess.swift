import Engine
import Foundation

/// Runs an external program in its own process group: stdout and stderr tails kept, a
/// timeout that kills the whole group, and the group killed when the program ends, so a
/// child it forked and left behind does not outlive the node.
enum CommandProcess {
    /// How the program ended, and the end of what it printed.
    struct Result {
        let termination: Subprocess.Termination
        let timedOut: Bool
        let stdout: TailBuffer
        let stderr: TailBuffer
    }

    /// The last MiB of each stream is kept.
    static let tailLimit = 1 << 20

    /// Starts `argv`, waits for it, kills what is left of its process group.
    /// - Parameter timeout: seconds; 0 for none. On expiry the group gets SIGTERM, then
    ///   SIGKILL 5 s later.
    /// - Throws: `SubprocessError.notFound` when the program does not exist.
    static func run(_ argv: [String], environment: [String: String], directory: String, timeout: Double) throws -> Result {
        let child = try Subprocess(argv, environment: environment, directory: directory, newGroup: true)
        ActiveProcessGroups.shared.insert(child.pid)
        defer { ActiveProcessGroups.shared.remove(child.pid) }
        let out = TailBuffer(limit: tailLimit), err = TailBuffer(limit: tailLimit)
        let drained = DispatchGroup()
        for (buffer, handle) in [(out, child.stdout), (err, child.stderr)] {
            drained.enter()
            Thread {
                buffer.drain(handle)
                drained.leave()
            }.start()
        }
        let state = TimeoutState()
        if timeout > 0 {
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                guard state.expire() else { return }
                child.kill(SIGTERM)
                DispatchQueue.global().asyncAfter(deadline: .now() + 5) { if state.isRunning { child.kill(SIGKILL) } }
            }
        }
        let termination = child.wait()
        state.finish()
        // Whatever the program forked and left running goes with it; then the pipes close.
        Subprocess.killGroup(child.pid, SIGKILL)
        drained.wait()
        return Result(termination: termination, timedOut: state.expired, stdout: out, stderr: err)
    }

    /// Whether the timeout fired before the program ended.
    final class TimeoutState: @unchecked Sendable {
        private let lock = NSLock()
        private var finished = false
        private(set) var expired = false

        /// Marks the timeout as fired, unless the program already ended.
        func expire() -> Bool { lock.withLock { if finished { return false }; expired = true; return true } }
        func finish() { lock.withLock { finished = true } }
        var isRunning: Bool { lock.withLock { !finished } }
    }
}
