import Foundation

/// An error as one plain line for standard error.
///
/// Foundation's file errors print as `Error Domain=NSCocoaErrorDomain Code=513 "(null)"
/// UserInfo={…}`; they become "PATH: the system's reason" (e.g. "out/x: Permission denied").
/// Every other error prints its own description.
func plainErrorMessage(_ error: Error) -> String {
    let ns = error as NSError
    guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return "\(error)" }
    let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
    let reason: String
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(underlying.code)))
    } else if ns.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(ns.code)))
    } else if let path, let found = pathProblem(path) {
        reason = found
    } else {
        reason = cocoaReason(ns.code)
    }
    return path.map { "\($0): \(reason)" } ?? reason
}

/// What stands in the way of creating `path`, found by walking its folders: Foundation
/// often reports only "unknown write error" (512).
private func pathProblem(_ path: String) -> String? {
    var prefix = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        let parent = prefix.isEmpty ? "/" : prefix
        prefix += "/" + component
        var info = stat()
        if stat(prefix, &info) != 0 {
            if errno == ENOENT && access(parent, W_OK) != 0 { return "Permission denied (cannot create anything in \(parent))" }
            return errno == ENOENT ? nil : String(cString: strerror(errno))
        }
        if info.st_mode & S_IFMT != S_IFDIR && prefix != path {
            return "Not a directory (\(prefix) is a file)"
        }
    }
    return nil
}

/// Words for the Cocoa file error codes Foundation uses without an underlying POSIX error.
private func cocoaReason(_ code: Int) -> String {
    switch code {
    case CocoaError.fileNoSuchFile.rawValue, CocoaError.fileReadNoSuchFile.rawValue: return "no such file or folder"
    case CocoaError.fileWriteNoPermission.rawValue, CocoaError.fileReadNoPermission.rawValue: return "permission denied"
    case CocoaError.fileWriteOutOfSpace.rawValue: return "no space left on the device"
    case CocoaError.fileWriteFileExists.rawValue: return "a file is in the way"
    case CocoaError.fileWriteVolumeReadOnly.rawValue: return "read-only file system"
    case CocoaError.fileWriteInvalidFileName.rawValue, CocoaError.fileReadInvalidFileName.rawValue: return "invalid file name"
    default: return "file operation failed (Foundation error \(code))"
    }
}
