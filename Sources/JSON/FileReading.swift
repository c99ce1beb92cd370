#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads whole files with POSIX calls, the one place this module talks to the C library.
///
/// POSIX rather than Foundation so that failures carry the system's own reason
/// (`No such file or directory`, `Is a directory`) and the module stays Foundation-free.
enum FileReading {
    /// The bytes of the file at `path`.
    ///
    /// - Throws: ``JSONFileError/unreadable(path:reason:)`` with `strerror`'s text.
    static func contents(ofFile path: String) throws(JSONFileError) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait forever for a writer.
        // (It changes nothing for a regular file.)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw unreadable(path) }
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw unreadable(path) }
        let kind = status.st_mode & S_IFMT
        if kind != S_IFREG && kind != S_IFDIR {
            let what = kind == S_IFIFO ? "a FIFO (named pipe)" : kind == S_IFSOCK ? "a socket" : "a device"
            throw .unreadable(path: path, reason: "is \(what), not a regular file")
        }
        let expectedSize = Int(status.st_size)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(expectedSize + 1)
        var chunk = [UInt8](repeating: 0, count: max(expectedSize + 1, 1 << 16))
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                return bytes
            } else if errno != EINTR {
                throw unreadable(path)
            }
        }
    }

    /// The error for the current `errno`.
    private static func unreadable(_ path: String) -> JSONFileError {
        .unreadable(path: path, reason: String(cString: strerror(errno)))
    }
}
