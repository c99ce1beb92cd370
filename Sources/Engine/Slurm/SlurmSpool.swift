import Foundation
import JSON
import Store

/// The spool: a folder on the shared filesystem through which the coordinator and its Slurm
/// workers exchange everything (workers never open the coordinator's SQLite cache).
///
///     SPOOL/jobs/KEY/request.json        what to compute (spec, instance, key, input digests)
///     SPOOL/jobs/KEY/inputs/DIGEST.bundle the inputs, as artifact bundles (hard links to
///                                         SPOOL/inputs/DIGEST.bundle, written once per run)
///     SPOOL/jobs/KEY/worker/             the worker's own cache: in-node progress and a
///                                         command's {workdir} live here, so a requeued job
///                                         resumes from them on any node
///     SPOOL/jobs/KEY/result.bundle       the output, renamed into place when complete
///     SPOOL/jobs/KEY/log.bundle          a command's log, likewise
///     SPOOL/jobs/KEY/exit.json           the exit record, written last (renamed into place)
///     SPOOL/jobs/KEY/stdout.log, stderr.log   the worker's output, appended by each attempt
///     SPOOL/batches/NAME.sh, NAME.tasks  one submission: its script and its task folders
public enum SlurmSpool {
    /// The task folder of an action.
    public static func taskDirectory(spool: String, key: Digest) -> String { "\(spool)/jobs/\(key.hex)" }

    static func requestPath(_ task: String) -> String { "\(task)/request.json" }
    static func inputPath(_ task: String, _ digest: Digest) -> String { "\(task)/inputs/\(digest.hex).bundle" }
    static func workerCachePath(_ task: String) -> String { "\(task)/worker/cache.sqlite" }
    static func resultPath(_ task: String) -> String { "\(task)/result.bundle" }
    /// A `command` node's log (stdout, stderr, argv, environment), for `mergeflow logs`.
    static func logPath(_ task: String) -> String { "\(task)/log.bundle" }
    static func exitPath(_ task: String) -> String { "\(task)/exit.json" }
    static func stderrPath(_ task: String) -> String { "\(task)/stderr.log" }

    /// What a worker is asked to compute.
    struct Request: Equatable {
        var specPath: String
        var instanceID: String
        var key: Digest
        var inputs: [Digest]
        var threads: Int
        var instanceLimit: Int

        var json: JSONValue {
            .object(JSONObject([
                ("spec", .string(specPath)), ("instance", .string(instanceID)), ("key", .string(key.hex)),
                ("inputs", .array(inputs.map { .string($0.hex) })), ("threads", .number(Double(threads))),
                ("max_instances", .number(Double(instanceLimit))),
            ]))
        }

        init(specPath: String, instanceID: String, key: Digest, inputs: [Digest], threads: Int, instanceLimit: Int) {
            self.specPath = specPath
            self.instanceID = instanceID
            self.key = key
            self.inputs = inputs
            self.threads = threads
            self.instanceLimit = instanceLimit
        }

        init(path: String) throws {
            let value = try JSONValue.parse(contentsOf: path)
            guard let o = value.objectValue, let spec = o["spec"]?.stringValue, let id = o["instance"]?.stringValue,
                  let key = o["key"]?.stringValue.flatMap(Digest.init(hex:)),
                  let inputs = o["inputs"]?.arrayValue?.map({ $0.stringValue.flatMap(Digest.init(hex:)) }),
                  let threads = o["threads"]?.intValue, let limit = o["max_instances"]?.intValue else {
                throw SlurmError("\(path): not a mergeflow task request")
            }
            let digests = inputs.compactMap { $0 }
            guard digests.count == inputs.count else { throw SlurmError("\(path): an input is not a digest") }
            self.init(specPath: spec, instanceID: id, key: key, inputs: digests, threads: threads, instanceLimit: limit)
        }
    }

    /// How a worker ended, written by the worker as its very last act.
    enum ExitRecord: Equatable {
        case published(Digest, detail: String)
        case failed(String, badInput: Bool)

        var json: JSONValue {
            switch self {
            case let .published(d, detail):
                return .object(JSONObject([("status", "published"), ("digest", .string(d.hex)), ("detail", .string(detail))]))
            case let .failed(message, bad):
                return .object(JSONObject([("status", "failed"), ("message", .string(message)), ("bad_input", .bool(bad))]))
            }
        }

        init(_ outcome: JobOutcome) {
            switch outcome {
            case let .published(d, detail): self = .published(d, detail: detail)
            case let .failed(m, bad): self = .failed(m, badInput: bad)
            }
        }

        /// Reads an exit record; nil when there is none (or it cannot be read yet).
        init?(path: String) {
            guard FileManager.default.fileExists(atPath: path), let value = try? JSONValue.parse(contentsOf: path),
                  let o = value.objectValue else { return nil }
            switch o["status"]?.stringValue {
            case "published":
                guard let d = o["digest"]?.stringValue.flatMap(Digest.init(hex:)) else { return nil }
                self = .published(d, detail: o["detail"]?.stringValue ?? "")
            case "failed":
                self = .failed(o["message"]?.stringValue ?? "failed", badInput: o["bad_input"]?.boolValue ?? false)
            default:
                return nil
            }
        }
    }

    /// Writes `text` at `path` so that readers see all of it or nothing: a temporary file in
    /// the same folder, synced, then renamed.
    static func writeAtomically(_ text: String, to path: String) throws {
        let temporary = "\(path).partial-\(getpid())"
        let data = Data(text.utf8)
        guard FileManager.default.createFile(atPath: temporary, contents: data), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw SlurmError("cannot write \(temporary)")
        }
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw SlurmError("cannot rename \(temporary) into place: \(reason)")
        }
    }

    /// The last `count` lines of a log file (at most its last 64 KiB are read).
    static func tail(_ path: String, lines count: Int) -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 65536 ? size - 65536 : 0)
        let data = (try? handle.readToEnd()) ?? Data()
        return Array(String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(count).map(String.init))
    }
}

/// A Slurm executor's error: a message for people.
public struct SlurmError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
