import Foundation

/// Runs this same binary as a child and reports its wall time and peak resident memory
/// (`wait4`'s rusage), so a benchmark's memory figure is the merge's own, not the
/// benchmark process's.
enum ChildProcess {
    struct Result {
        let seconds: Double
        let peakRSSBytes: Int
        let status: Int32
    }

    static var executable: String { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path }

    static func run(_ arguments: [String]) throws -> Result {
        let argv = [executable] + arguments
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let start = Stopwatch.now()
        let rc = posix_spawn(&pid, executable, &actions, nil, &cArgs, environ)
        guard rc == 0 else { throw UsageError("cannot start \(executable): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let seconds = Stopwatch.now() - start
        // ru_maxrss is in KiB on Linux.
        return Result(seconds: seconds, peakRSSBytes: Int(usage.ru_maxrss) * 1024, status: (status >> 8) & 0xff)
    }
}
