import Foundation
import JSON
import Store

/// `mergeflow exec --serve` workers kept between jobs, for ops whose work is a program they
/// start (`command`): such an op only supervises its program, so starting a new `exec` for
/// each one (process start, spec expansion, cache open: ≈ 55 ms) would cost more than most
/// programs. A worker takes one request at a time on its stdin (a JSON array: the `exec`
/// arguments) and answers on its stdout with `ChildReport` lines, as a one-shot `exec` does.
///
/// Isolation is kept: a worker that dies (a trap, an out-of-memory kill) fails the job it
/// was running, with its signal and the stderr it wrote for that job, and is not reused; a
/// worker ends itself within 0.1 s of the coordinator's death (it polls its parent), killing
/// the process group of the program it runs. Idle workers are told to stop (their stdin
/// closes) and waited for when the run ends (`stopIdle`), so none outlives it.
final class WorkerPool: @unchecked Sendable {
    /// Marker a worker writes on stderr before each request, so a failure quotes only the
    /// stderr of the job that failed.
    static let requestMarker = "mergeflow-request"

    private let argv: [String]
    private let lock = NSLock()
    private var idle: [Worker] = []

    /// - Parameter argv: the command line of a worker (`mergeflow exec --serve …`).
    init(argv: [String]) {
        self.argv = argv
        // A worker that died between jobs must not take the coordinator with it on write.
        signal(SIGPIPE, SIG_IGN)
    }

    deinit { stopIdle() }

    /// Stops every idle worker and waits for it to exit. The scheduler calls it when the
    /// run ends; the process may exit right after, so waiting here (not in `deinit`, which
    /// an exiting process never reaches) is what makes "no worker outlives the run" true.
    func stopIdle() {
        let stopping = lock.withLock { () -> [Worker] in
            defer { idle.removeAll() }
            return idle
        }
        for worker in stopping { worker.stop() }
    }

    /// Runs one request on an idle worker (or a new one) and returns how it ended.
    func run(_ request: ExecRequest, key: Digest?, store: Store, progress: @escaping @Sendable (Double) -> Void) -> JobOutcome {
        let line = JSONValue.array(Array(request.arguments.dropFirst()).map { .string($0) }).serialized(pretty: false) + "\n"
        var worker: Worker
        var sent: Bool
        do {
            worker = try take()
            sent = worker.send(line)
            if !sent {
                // It ended while idle and never saw the request: a new one takes it.
                _ = worker.end()
                worker = try Worker(argv)
                sent = worker.send(line)
            }
        } catch {
            return .failed("cannot start its worker process: \(error)", badInput: false)
        }
        var outcome: ChildReport?
        if sent {
            while let reply = worker.readLine() {
                switch ChildReport(line: reply) {
                case .progress(let f)?: progress(f)
                case let report?: outcome = report
                case nil: break
                }
                if outcome != nil { break }
            }
        }
        switch outcome {
        case .published(let digest, let detail)?:
            give(back: worker)
            return .published(digest, detail: detail)
        case .failed(let message, let bad)?:
            give(back: worker)
            return .failed(message, badInput: bad)
        default:
            // The worker died with the job: the transaction decides whether it published.
            let termination = worker.end()
            if let key, let hit = try? store.lookupAction(key) { return .published(hit, detail: "") }
            return .failed(ChildProcessExecutor.failureMessage("its worker process \(termination)", stderr: worker.stderrSinceLastRequest()),
                           badInput: false)
        }
    }

    private func take() throws -> Worker {
        lock.lock()
        if let worker = idle.popLast() {
            lock.unlock()
            return worker
        }
        lock.unlock()
        return try Worker(argv)
    }

    private func give(back worker: Worker) {
        lock.withLock { idle.append(worker) }
    }

    /// One `exec --serve` process: its stdin to write requests, its stdout read line by
    /// line, its stderr drained into a tail on a thread of its own.
    final class Worker: @unchecked Sendable {
        let process: Subprocess
        private var pending = Data()
        let stderrTail = TailBuffer(limit: 64 << 10)
        private let stderrDone: DispatchSemaphore

        init(_ argv: [String]) throws {
            process = try Subprocess(argv, environment: ChildProcessExecutor.childEnvironment, withStdin: true)
            stderrDone = stderrTail.drainInBackground(process.stderr)
        }

        /// Writes `line`; false when the worker is gone.
        func send(_ line: String) -> Bool {
            guard let fd = process.stdin?.fileDescriptor else { return false }
            var bytes = Array(line.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; return false }
                bytes = bytes.dropFirst(n)
            }
            return true
        }

        /// The next line of stdout, or nil at EOF.
        func readLine() -> Substring? {
            while true {
                if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Substring(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...newline)
                    return line
                }
                let chunk = process.stdout.availableData
                if chunk.isEmpty { return nil }
                pending.append(chunk)
            }
        }

        /// The stderr lines written since the worker began its last request.
        func stderrSinceLastRequest() -> [String] {
            let lines = stderrTail.lastLines(1000)
            let start = lines.lastIndex { $0.hasPrefix(WorkerPool.requestMarker) }.map { $0 + 1 } ?? 0
            return Array(lines[start...])
        }

        /// Waits for a worker that died (or was told to stop) and says how it ended.
        func end() -> Subprocess.Termination {
            try? process.stdin?.close()
            let termination = process.wait()
            stderrDone.wait()
            return termination
        }

        /// Tells an idle worker to stop: it reads EOF and exits.
        func stop() { _ = end() }
    }
}
