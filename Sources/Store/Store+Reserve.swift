import Foundation

/// Space set aside beside the cache so that `gc` can run on a full disk.
///
/// Deleting rows in WAL mode appends pages to the write-ahead log, and folding the log back
/// into the database may grow it for a moment: on a disk with no space left, `gc` could not
/// free anything (it failed with "database or disk is full" until space was freed by
/// hand). So a file of `reserveBytes` is kept beside the cache (`PATH-reserve`, allocated,
/// not sparse); when a `gc` hits a full disk, it deletes the reserve first, then runs
/// again, and puts the reserve back once space has been freed.
extension Store {
    /// Enough for gc's own log pages and the log pages not yet folded in when the disk filled
    /// (each chunk transaction is at most `ArtifactWriter.transactionBytes`, but the log is
    /// folded in every ~16 MiB while the disk has room).
    public static let reserveBytes = 16 << 20

    public var reservePath: String { path + "-reserve" }

    /// Allocates the reserve if it is missing and the space is there (best effort: a
    /// failure leaves no partial file and is not an error).
    func ensureReserve() {
        if access(reservePath, F_OK) == 0 { return }
        let fd = open(reservePath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        let allocated = posix_fallocate(fd, 0, off_t(Store.reserveBytes)) == 0
        close(fd)
        if !allocated { unlink(reservePath) }
    }

    /// Deletes the reserve; returns whether there was one to delete.
    func releaseReserve() -> Bool {
        unlink(reservePath) == 0
    }

    /// Runs `body`; if the disk is full, deletes the reserve and runs it once more. The
    /// reserve is put back afterwards when there is room again.
    func withReserveOnFullDisk<T>(_ body: () throws -> T) throws -> T {
        defer { ensureReserve() }
        do {
            return try body()
        } catch let error as SQLiteError where error.isFull {
            guard releaseReserve() else { throw StoreError.diskFull(path: path) }
            return try body()
        }
    }
}
