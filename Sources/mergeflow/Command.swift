import Foundation
import Numerics
import Store

/// A subcommand: its name, one-line summary, full help, and what it runs.
struct Command: Sendable {
    let name: String
    let summary: String
    let help: String
    /// Returns the exit code (0 success, 1 failure of the work); throws `UsageError` for
    /// bad usage and input errors (exit code 2).
    let run: @Sendable ([String]) throws -> Int32
}

/// Shared steps of cache-touching commands.
enum CommandSupport {
    /// Applies `--threads` and opens the cache.
    static func openStore(_ args: Arguments) throws -> Store {
        let threads = try args.integer("--threads", default: ComputeThreads.available, in: 1...1024)
        ComputeThreads.set(threads)
        return try Store(path: args.cachePath)
    }

    /// Resolves a full digest or a unique prefix of at least 6 hex digits.
    static func resolveArtifact(_ text: String, in store: Store) throws -> Digest {
        if let d = Digest(hex: text) {
            guard try store.contains(d) else { throw UsageError("no artifact \(text) in \(store.path)") }
            return d
        }
        guard text.count >= 6, text.allSatisfy(\.isHexDigit) else {
            throw UsageError("\"\(text)\" is not an artifact digest (64 hex digits, or a unique prefix of 6 or more)")
        }
        let matches = try store.artifacts(withPrefix: text)
        switch matches.count {
        case 0: throw UsageError("no artifact starting with \(text) in \(store.path)")
        case 1: return matches[0]
        default: throw UsageError("\(text) is ambiguous: \(matches.map(\.short).joined(separator: ", "))")
        }
    }

    /// Human-readable byte count.
    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }
}

/// Standard error, for messages that are not the command's output.
nonisolated(unsafe) var standardError = FileHandle.standardError

extension FileHandle: @retroactive TextOutputStream {
    public func write(_ string: String) { write(Data(string.utf8)) }
}
