import Foundation
import Store

/// A read-only memory mapping of a whole file. Pages load on first touch, so opening a
/// multi-gigabyte checkpoint costs nothing until a tensor is read.
final class MappedFile {
    let path: String
    let bytes: UnsafeRawBufferPointer
    /// Kept open to notice the file changing under the mapping (see `checkUnchanged`).
    private let descriptor: Int32
    private let modified: timespec
    /// Where `MappingFaults` records a read past a truncated end (nil: not watched).
    private let faultSlot: Int?

    init(path: String) throws(CheckpointError) {
        self.path = path
        // O_NONBLOCK: opening a FIFO would otherwise wait forever for a writer; it is
        // refused below as not a regular file. (It changes nothing for a regular file.)
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw CheckpointError(file: path, FileKind.problem(path) ?? "cannot open: \(String(cString: strerror(errno)))") }
        var mapped = false
        defer { if !mapped { close(fd) } }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw CheckpointError(file: path, "cannot stat: \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw CheckpointError(file: path, FileKind.problem(path) ?? "not a regular file") }
        descriptor = fd
        modified = info.st_mtim
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            faultSlot = nil
            mapped = true
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw CheckpointError(file: path, "cannot map: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
        faultSlot = MappingFaults.register(bytes)
        mapped = true
    }

    /// Throws if the file was written or truncated since it was mapped, or if a read ran
    /// past its truncated end (which `MappingFaults` turned from a SIGBUS into zeros).
    /// Reading a rewritten file mixes old and new tensors; checked before each tensor is
    /// read and again after it is used, this turns both into an error before anything
    /// computed from the read is kept. (A file replaced by rename is harmless: the mapping
    /// keeps the old one.)
    func checkUnchanged() throws(CheckpointError) {
        if let faultSlot, MappingFaults.hasFaulted(faultSlot) {
            throw CheckpointError(file: path, "was truncated while being read (by another program); nothing read from it was kept")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, Int(info.st_size) == bytes.count,
              info.st_mtim.tv_sec == modified.tv_sec, info.st_mtim.tv_nsec == modified.tv_nsec else {
            throw CheckpointError(file: path, "changed while being read (written or truncated by another program)")
        }
    }

    /// Copies bytes `range` of the file to `destination` with `pread`: nothing is mapped into
    /// this process (no page-table work, no TLB shootdown when the pages are let go), and
    /// the bytes arrive in this core's cache, where the caller reads them next. A file cut
    /// short under the read is an error, not zeros.
    func copy(_ range: Range<Int>, into destination: UnsafeMutableRawPointer) throws(CheckpointError) {
        var done = 0
        while done < range.count {
            let n = pread(descriptor, destination + done, range.count - done, off_t(range.lowerBound + done))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n == 0 { throw CheckpointError(file: path, "was truncated while being read (by another program); nothing read from it was kept") }
            throw CheckpointError(file: path, "cannot read: \(String(cString: strerror(errno)))")
        }
    }

    /// Tells the kernel a range will be read soon, sequentially.
    func prefetch(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let page = Int(getpagesize())
        let start = range.lowerBound / page * page
        madvise(UnsafeMutableRawPointer(mutating: base + start), range.upperBound - start, MADV_WILLNEED)
    }

    /// Maps a range's pages in one call (MADV_POPULATE_READ) instead of one page fault per
    /// few pages as they are touched; ignored where the kernel does not know the advice.
    func populate(_ range: Range<Int>) {
        advise(range, 22 /* MADV_POPULATE_READ, Linux 5.14 */)
    }

    /// Drops a range's pages from this process's resident memory (MADV_DONTNEED). The file's
    /// pages stay in the page cache, and a later read maps them again: safe on a read-only
    /// mapping, whatever else still reads the range.
    func evict(_ range: Range<Int>) {
        advise(range, MADV_DONTNEED)
    }

    private func advise(_ range: Range<Int>, _ advice: Int32) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let page = Int(getpagesize())
        let start = range.lowerBound / page * page
        let end = min(bytes.count, (range.upperBound + page - 1) / page * page)
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, advice)
    }

    deinit {
        if let faultSlot { MappingFaults.unregister(faultSlot) }
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
        close(descriptor)
    }
}
