/// Failures of the cache that a user can act on.
public enum StoreError: Error, CustomStringConvertible {
    case newerSchema(path: String, found: Int, supported: Int)
    case notFound(String)
    case missingChunks(artifact: String, count: Int)
    case invalidTensor(name: String, reason: String)
    case corrupt(String)

    public var description: String {
        switch self {
        case let .newerSchema(path, found, supported):
            return "\(path): cache schema version \(found) is newer than this mergeflow supports (\(supported)); upgrade mergeflow or use another --cache"
        case let .notFound(what): return "not found in the cache: \(what)"
        case let .missingChunks(artifact, count): return "artifact \(artifact): \(count) chunk(s) missing from the cache"
        case let .invalidTensor(name, reason): return "tensor \(name): \(reason)"
        case let .corrupt(what): return "cache corrupt: \(what)"
        }
    }
}
