import Foundation

/// Appends bytes to a new file front to back, through the page cache or around it.
///
/// `bypassCache` writes with `O_DIRECT` from an aligned staging buffer, in whole blocks at
/// block-aligned offsets; the last block is padded and the file cut back to its length.
/// Why: a merge's output is gigabytes that nothing reads soon, and copying it into the page
/// cache is most of a merge's system time on a virtual machine whose idle memory the host
/// takes back (`copy_folio_from_iter_atomic` was a third of a 1.1 B-parameter TIES merge's
/// CPU samples: each new page-cache page faults into the host). Around the cache the device
/// is fed by DMA and the CPU only stages the bytes (`dd` on this machine: 2.3 GB in 0.9–1.0 s
/// with `oflag=direct`, 0.4–5.2 s through the cache depending on what the host reclaimed).
/// Where the file system refuses `O_DIRECT` (tmpfs, some network file systems), or a direct
/// write fails as unaligned, the writer goes on through the page cache: same bytes.
public final class SequentialFileWriter {
    public let path: String
    /// The file errors name: the one `path` becomes (a temporary file is renamed into place).
    let reportedPath: String
    private let fd: Int32
    /// Bytes appended so far (the file's length once finished).
    public private(set) var length = 0
    /// Whether writes still go around the page cache.
    public private(set) var direct: Bool
    /// Bytes written to the disk straight from the caller's memory (for tests).
    private(set) var uncopiedBytes = 0
    // Staging for direct writes: `staged` bytes wait in `buffer` for file offset `length - staged`.
    private var buffer: UnsafeMutableRawBufferPointer?
    private var staged = 0

    /// Linux's O_DIRECT, which Glibc's Swift overlay leaves out (it needs _GNU_SOURCE).
    #if arch(x86_64)
    static let oDirect: Int32 = 0o40000
    #else
    static let oDirect: Int32 = 0o200000  // arm64, as <asm-generic/fcntl.h> has it for most others
    #endif

    /// Block size for offsets, lengths and buffer addresses of direct writes (a multiple of
    /// every logical block size in use), and the staging buffer's size.
    static let block = 4096
    static let stagingBytes = 8 << 20
    /// Below this, bytes are staged even when they could go straight to the disk.
    static let directMinimum = 64 << 10

    /// Creates (truncates) `path`; errors name `reportedPath` (default: `path`).
    public init(path: String, bypassCache: Bool, reportedPath: String? = nil) throws(CheckpointError) {
        self.path = path
        self.reportedPath = reportedPath ?? path
        var fd: Int32 = -1
        if bypassCache { fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | Self.oDirect, 0o644) }
        direct = fd >= 0
        if fd < 0 { fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw CheckpointError(file: self.reportedPath, "cannot create: \(String(cString: strerror(errno)))") }
        self.fd = fd
        if direct {
            buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.stagingBytes, alignment: Self.block)
        }
    }

    deinit {
        buffer?.deallocate()
        close(fd)
    }

    public func append(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) {
        guard direct, let buffer else {
            try check(writeAll(bytes, at: length))
            length += bytes.count
            return
        }
        var done = 0
        // Bytes whose address has the phase of their file offset within a page (a merge's
        // output, see `MergeTask.outputPagePhase`) go to the disk from where they are: the
        // staged block is completed from their head and written, then their whole blocks
        // straight from the caller's memory; only the tail is staged.
        let head = (Self.block - length % Self.block) % Self.block
        if bytes.count >= head + Self.directMinimum, (Int(bitPattern: bytes.baseAddress!) - length) % Self.block == 0 {
            if head > 0 {
                (buffer.baseAddress! + staged).copyMemory(from: bytes.baseAddress!, byteCount: head)
                staged += head
                length += head
            }
            if staged > 0 { try flush(padding: false) }
            let middle = (bytes.count - head) / Self.block * Self.block
            done = head
            if direct {
                let failure = writeAll(UnsafeRawBufferPointer(start: bytes.baseAddress! + head, count: middle), at: length)
                if failure == EINVAL { try fallBack(failure) } else { try check(failure) }
                if direct {
                    length += middle
                    done += middle
                    uncopiedBytes += middle
                }
            }
            // Else (the page cache from here on) the rest is staged as usual.
        }
        while done < bytes.count {
            let n = min(bytes.count - done, buffer.count - staged)
            (buffer.baseAddress! + staged).copyMemory(from: bytes.baseAddress! + done, byteCount: n)
            staged += n
            done += n
            length += n
            if staged == buffer.count { try flush(padding: false) }
        }
    }

    /// Writes what is staged, cuts the file to `length`, and fsyncs when `durable`. The file
    /// is complete only after this returns.
    public func finish(durable: Bool) throws(CheckpointError) {
        if staged > 0 {
            // Direct, the last block goes out padded and the padding is cut off; staged after
            // a fall back to the page cache, it goes out as it is.
            let padded = direct
            try flush(padding: padded)
            guard !padded || ftruncate(fd, off_t(length)) == 0 else {
                throw CheckpointError(file: reportedPath, "truncate failed: \(String(cString: strerror(errno)))")
            }
        }
        guard !durable || fsync(fd) == 0 else { throw CheckpointError(file: reportedPath, "fsync failed: \(String(cString: strerror(errno)))") }
    }

    /// Writes the staged bytes at their offset: whole blocks, the last one zero-padded when
    /// `padding` (the end of the file).
    private func flush(padding: Bool) throws(CheckpointError) {
        guard let buffer else { return }
        let start = length - staged
        let count = padding ? (staged + Self.block - 1) / Self.block * Self.block : staged
        if count > staged { (buffer.baseAddress! + staged).initializeMemory(as: UInt8.self, repeating: 0, count: count - staged) }
        var failure = writeAll(UnsafeRawBufferPointer(start: buffer.baseAddress, count: count), at: start)
        if failure == EINVAL {
            // These bytes again, unpadded, through the page cache.
            try fallBack(failure)
            failure = writeAll(UnsafeRawBufferPointer(start: buffer.baseAddress, count: staged), at: start)
        }
        try check(failure)
        staged = 0
    }

    /// Direct I/O refused after all (an alignment this file system wants larger): from here
    /// on through the page cache.
    private func fallBack(_ failure: Int32) throws(CheckpointError) {
        guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~Self.oDirect) == 0 else {
            throw CheckpointError(file: reportedPath, "write failed: \(String(cString: strerror(failure)))")
        }
        direct = false
    }

    /// Writes all of `bytes` at `offset`; the errno of a failed write, else 0.
    private func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int32 {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if n == 0 { return EIO }
            done += n
        }
        return 0
    }

    private func check(_ failure: Int32) throws(CheckpointError) {
        guard failure == 0 else { throw CheckpointError(file: reportedPath, "write failed: \(String(cString: strerror(failure)))") }
    }
}
