import Foundation

/// Which file a path names: device and inode. Equal identities mean the same file, even
/// after it was written; a deleted and recreated or renamed-over file has another.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64

    /// The identity of the file at `path` (following symlinks), nil if there is none.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
