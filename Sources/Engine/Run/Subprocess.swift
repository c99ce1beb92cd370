import CProcess
import Foundation

/// A child process started with `posix_spawn`, optionally as the leader of its own process
/// group (so everything it forks can be killed with it), with its stdout and stderr read by
/// the caller. Every process-control syscall of the engine goes through this file.
///
/// Foundation's `Process` cannot start a process group, and its termination handler
/// reports signals and exit codes in one integer; this type says which it was.
public final class Subprocess: @unchecked Sendable {
    /// How a child ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        public var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signaled(let signal): return "killed by signal \(Subprocess.signalName(signal))"
            }
        }
    }

    public let pid: pid_t
    /// Whether the child leads its own process group (then `pid` is also the group id).
    public let ownsGroup: Bool
    /// Read ends of the child's stdout and stderr; the caller reads them to EOF.
    public let stdout: FileHandle
    public let stderr: FileHandle
    /// Write end of the child's stdin when started `withStdin` (else it reads /dev/null).
    public let stdin: FileHandle?

    /// Starts `argv[0]` (looked up in `PATH` when it has no slash).
    /// - Parameters:
    ///   - environment: the child's whole environment; nil inherits this process's.
    ///   - directory: the working directory; nil keeps this process's.
    ///   - newGroup: make the child the leader of a new process group.
    /// - Throws: `SubprocessError.notFound` when the program does not exist or cannot run.
    public init(_ argv: [String], environment: [String: String]? = nil, directory: String? = nil, newGroup: Bool = false,
         withStdin: Bool = false) throws {
        precondition(!argv.isEmpty)
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0], inPipe: [Int32] = [-1, -1]
        // Close-on-exec from the start (pipe2), so a process another thread starts meanwhile
        // never inherits these ends: it would keep a pipe open (no EOF for its reader, no
        // EPIPE for its writer). The child's ends become 0, 1, 2 by dup2, which clears it.
        guard mergeflow_pipe_cloexec(&outPipe) == 0, mergeflow_pipe_cloexec(&errPipe) == 0, !withStdin || mergeflow_pipe_cloexec(&inPipe) == 0 else {
            throw SubprocessError.cannotStart(argv[0], String(cString: strerror(errno)))
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if withStdin {
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
            posix_spawn_file_actions_addclose(&actions, inPipe[0])
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        posix_spawn_file_actions_addclose(&actions, outPipe[1])
        posix_spawn_file_actions_addclose(&actions, errPipe[1])
        if let directory { _ = mergeflow_spawn_add_chdir(&actions, directory) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default signal handling and an empty mask, whatever ours is.
        var defaults = sigset_t(), empty = sigset_t()
        sigfillset(&defaults)
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if newGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer { for p in cArgs + cEnv { free(p) } }
        var child: pid_t = 0
        let result = argv[0].contains("/")
            ? posix_spawn(&child, argv[0], &actions, &attributes, &cArgs, &cEnv)
            : posix_spawnp(&child, argv[0], &actions, &attributes, &cArgs, &cEnv)
        close(outPipe[1])
        close(errPipe[1])
        if withStdin { close(inPipe[0]) }
        guard result == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            if withStdin { close(inPipe[1]) }
            if result == ENOENT || result == EACCES || result == ENOEXEC {
                throw SubprocessError.notFound(argv[0], String(cString: strerror(result)))
            }
            throw SubprocessError.cannotStart(argv[0], String(cString: strerror(result)))
        }
        pid = child
        ownsGroup = newGroup
        stdout = FileHandle(fileDescriptor: outPipe[0], closeOnDealloc: true)
        stderr = FileHandle(fileDescriptor: errPipe[0], closeOnDealloc: true)
        stdin = withStdin ? FileHandle(fileDescriptor: inPipe[1], closeOnDealloc: true) : nil
    }

    /// Blocks until the child ends.
    public func wait() -> Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            if errno != EINTR { return .exited(-1) }
        }
        // WIFEXITED / WTERMSIG are macros Swift does not import.
        if status & 0x7f == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(status & 0x7f)
    }

    /// Sends `signal` to the child, and to its whole process group when it leads one.
    public func kill(_ signal: Int32) {
        if ownsGroup { _ = Glibc.kill(-pid, signal) } else { _ = Glibc.kill(pid, signal) }
    }

    /// Sends `signal` to a whole process group (used on processes the group leader left behind).
    public static func killGroup(_ group: pid_t, _ signal: Int32) { _ = Glibc.kill(-group, signal) }

    /// Whether any process of the group `group` is still alive.
    public static func groupExists(_ group: pid_t) -> Bool { Glibc.kill(-group, 0) == 0 }

    /// "SIGILL (illegal instruction: a Swift trap)", "SIGKILL (killed: out of memory, or by hand)".
    public static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGILL: return "SIGILL (illegal instruction: a Swift trap such as a failed force-unwrap)"
        case SIGTRAP: return "SIGTRAP (trace trap: a Swift trap)"
        case SIGABRT: return "SIGABRT (aborted)"
        case SIGSEGV: return "SIGSEGV (segmentation fault)"
        case SIGBUS: return "SIGBUS (bus error: a mapped file changed or the disk is full)"
        case SIGFPE: return "SIGFPE (arithmetic exception)"
        case SIGKILL: return "SIGKILL (killed: out of memory, or by hand)"
        case SIGTERM: return "SIGTERM (terminated)"
        case SIGINT: return "SIGINT (interrupted)"
        default: return "\(signal) (\(String(cString: strsignal(signal))))"
        }
    }
}

/// Why a child process could not start.
public enum SubprocessError: Error, CustomStringConvertible {
    case notFound(String, String)
    case cannotStart(String, String)

    public var description: String {
        switch self {
        case .notFound(let program, let reason): return "program \"\(program)\" not found or not executable (\(reason))"
        case .cannotStart(let program, let reason): return "cannot start \"\(program)\": \(reason)"
        }
    }
}
