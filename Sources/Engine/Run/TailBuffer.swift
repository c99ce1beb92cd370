import Foundation

/// Keeps the last `limit` bytes of a stream, cut to whole lines where possible: the tail of
/// a child's stderr shown in its error and kept with its result.
public final class TailBuffer: @unchecked Sendable {
    private let limit: Int
    private var bytes: [UInt8] = []
    private let lock = NSLock()
    /// Whether anything was dropped from the front.
    private(set) var truncated = false

    public init(limit: Int) { self.limit = limit }

    public func append(_ data: Data) {
        lock.withLock {
            bytes.append(contentsOf: data)
            if bytes.count > 2 * limit {
                bytes.removeFirst(bytes.count - limit)
                truncated = true
            }
        }
    }

    /// The kept text.
    public var text: String {
        lock.withLock {
            var b = bytes
            if b.count > limit {
                b.removeFirst(b.count - limit)
            }
            return String(decoding: b, as: UTF8.self)
        }
    }

    /// The last `count` non-empty lines.
    public func lastLines(_ count: Int) -> [String] {
        Array(text.split(separator: "\n", omittingEmptySubsequences: true).suffix(count).map(String.init))
    }

    /// Reads `handle` to EOF on a thread of its own (a child's stderr, read while its stdout
    /// is read on the caller's thread, so neither pipe fills and blocks the child); the
    /// returned semaphore is signalled at EOF.
    public func drainInBackground(_ handle: FileHandle) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread { [self] in
            drain(handle)
            done.signal()
        }.start()
        return done
    }

    /// Reads `handle` to EOF on the calling thread, calling `line` for each complete line
    /// if given, keeping the tail.
    public func drain(_ handle: FileHandle, line: ((Substring) -> Void)? = nil) {
        var pending = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            append(chunk)
            guard let line else { continue }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                line(Substring(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)))
                pending.removeSubrange(pending.startIndex...newline)
            }
        }
    }
}
