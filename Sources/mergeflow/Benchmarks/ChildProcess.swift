import Foundation

/// Runs this same binary as a child and reports its wall time and exit status; its
/// standard output is captured (a child asked with `--peak-rss` reports its own peak
/// memory there).
enum ChildProcess {
    struct Result {
        let seconds: Double
        let status: Int32
        let output: String
    }

    static var executable: String { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path }

    static func run(_ arguments: [String]) throws -> Result {
        let argv = [executable] + arguments
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        let outputPath = NSTemporaryDirectory() + "mergeflow-child-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var pid: pid_t = 0
        let start = Stopwatch.now()
        let rc = posix_spawn(&pid, executable, &actions, nil, &cArgs, environ)
        guard rc == 0 else { throw UsageError("cannot start \(executable): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let seconds = Stopwatch.now() - start
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Result(seconds: seconds, status: (status >> 8) & 0xff, output: output)
    }
}
