import Foundation

/// Plain words for why a path is not a regular file that can be read, so a FIFO is not
/// reported as "not found" and a symlink loop not as "no such file".
public enum FileKind {
    /// nil for a regular file (or a folder, when `allowFolder`), else the problem.
    public static func problem(_ path: String, allowFolder: Bool = false) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            switch errno {
            case ELOOP: return "too many levels of symbolic links (a symlink loop?)"
            case ENOENT:
                var link = stat()
                return lstat(path, &link) == 0 ? "a symbolic link to a missing file" : "no such file or folder"
            default: return String(cString: strerror(errno))
            }
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return allowFolder ? nil : "is a folder, not a file"
        case S_IFIFO: return "is a FIFO (named pipe), not a regular file"
        case S_IFCHR: return "is a character device, not a regular file"
        case S_IFBLK: return "is a block device, not a regular file"
        case S_IFSOCK: return "is a socket, not a regular file"
        default: return "is not a regular file"
        }
    }
}
