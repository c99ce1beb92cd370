import Foundation

/// Runs the built `mergeflow` binary, as a user would.
struct CLIRunner {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The executable beside the test bundle (SwiftPM builds both into one folder).
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mergeflow")
    }

    var environment: [String: String]

    init(cache: String? = nil) {
        var env = ProcessInfo.processInfo.environment
        env["MERGEFLOW_CACHE"] = cache
        environment = env
    }

    /// Starts the binary without waiting.
    func start(_ arguments: [String], stdout: Pipe = Pipe(), stderr: Pipe = Pipe()) throws -> Process {
        let p = Process()
        p.executableURL = CLIRunner.executable
        p.arguments = arguments
        p.environment = environment
        p.standardOutput = stdout
        p.standardError = stderr
        try p.run()
        return p
    }

    /// Runs to completion and captures the output.
    func run(_ arguments: String...) throws -> Result { try run(arguments) }

    /// Runs `script` with /bin/sh, `$0` being the binary (to set limits with `ulimit`
    /// before `exec "$0" ARGS`), and captures the output.
    func runShell(_ script: String) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script, CLIRunner.executable.path]
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Runs to completion and captures the output.
    func run(_ arguments: [String]) throws -> Result {
        let out = Pipe(), err = Pipe()
        let p = try start(arguments, stdout: out, stderr: err)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

/// A fresh temporary folder per test, removed afterwards.
final class TestFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}
