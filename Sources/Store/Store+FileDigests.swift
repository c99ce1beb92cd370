import Foundation

extension Store {
    /// SHA-256 of a file's content, remembered against the file's identity, size and change
    /// times: an unchanged file is hashed once, and a file that was copied, checked out again
    /// or touched is hashed again but keeps its digest (and so every action key built on it).
    /// - Throws: `StoreError.unreadableFile` if it is not a readable regular file.
    public func fileDigest(path: String) throws -> Digest {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        guard let before = Store.stamp(absolute) else {
            throw StoreError.unreadableFile(path: absolute, reason: FileKind.problem(absolute) ?? "cannot be read")
        }
        let remembered: Digest? = try locked {
            let s = try db.prepare("SELECT digest FROM file_digests WHERE path = ? AND stamp = ?")
            s.bind(1, absolute)
            s.bind(2, before)
            return try s.step() ? Digest(hex: s.text(0)) : nil
        }
        if let remembered { return remembered }
        let digest = try Store.hashFile(absolute)
        // A file that changed while it was read is not remembered (its next use hashes again).
        if Store.stamp(absolute) == before {
            try locked {
                let s = try db.prepare("INSERT OR REPLACE INTO file_digests(path, stamp, digest) VALUES (?, ?, ?)")
                s.bind(1, absolute)
                s.bind(2, before)
                s.bind(3, digest.hex)
                try s.run()
            }
        }
        return digest
    }

    /// device:inode:size:mtime_ns:ctime_ns, or nil if the file cannot be stat'ed.
    static func stamp(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return "\(info.st_dev):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec)\(String(format: "%09ld", info.st_mtim.tv_nsec)):"
            + "\(info.st_ctim.tv_sec)\(String(format: "%09ld", info.st_ctim.tv_nsec))"
    }

    static func hashFile(_ path: String) throws -> Digest {
        // O_NONBLOCK: a FIFO put in the file's place after the stat must not block the open.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw StoreError.unreadableFile(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw StoreError.unreadableFile(path: path, reason: "read failed: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hasher.finalize()
    }
}
