/// Failures of the cache that a user can act on.
public enum StoreError: Error, CustomStringConvertible {
    case newerSchema(path: String, found: Int, supported: Int)
    case notFound(String)
    case missingChunks(artifact: String, count: Int)
    case invalidTensor(name: String, reason: String)
    case corrupt(String)
    /// A chunk whose content no longer matches its digest (a bit flipped on disk).
    case corruptChunk(chunk: String, tensor: String, artifacts: [String])
    /// The cache file was deleted or replaced while this process had it open.
    case cacheFileReplaced(path: String)
    /// The disk is full and there was no reserve left to free (see `Store+Reserve`).
    case diskFull(path: String)
    /// A file to read that is not a readable regular file (a FIFO, a device, a symlink loop).
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .newerSchema(path, found, supported):
            return "\(path): cache schema version \(found) is newer than this mergeflow supports (\(supported)); upgrade mergeflow or use another --cache"
        case let .notFound(what): return "not found in the cache: \(what)"
        case let .missingChunks(artifact, count): return "artifact \(artifact): \(count) chunk(s) missing from the cache"
        case let .invalidTensor(name, reason): return "tensor \(name): \(reason)"
        case let .corrupt(what): return "cache corrupt: \(what)"
        case let .corruptChunk(chunk, tensor, artifacts):
            let users = artifacts.isEmpty ? "" : " (artifact\(artifacts.count == 1 ? "" : "s") \(artifacts.joined(separator: ", ")))"
            return "cache corrupt: chunk \(chunk) of tensor \"\(tensor)\"\(users) does not match its digest; "
                + "`mergeflow verify --repair` removes it and what needs it, so the next run recomputes them"
        case let .cacheFileReplaced(path):
            return "\(path): the cache file was deleted or replaced while this run was using it; its results are lost with it (run again)"
        case let .unreadableFile(path, reason): return "\(path): \(reason)"
        case let .diskFull(path):
            return "\(path): the disk is full and the space kept in reserve is used up; free a few MiB and run gc again"
        }
    }
}
