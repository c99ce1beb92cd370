import Foundation

/// Temporary files (`NAME.partial-PID`) left by a writer that was killed (`kill -9`, power
/// loss) before it could rename or delete them.
enum StalePartialFiles {
    /// Deletes `path.partial-PID` files beside `path` whose process no longer exists.
    ///
    /// A file whose PID is alive is kept: it may be another process writing the same
    /// output right now. (PIDs are those of this host; a folder shared with other hosts
    /// may see another host's live writer as dead, which the rename-into-place protocol
    /// tolerates: that writer fails its rename with a clear error.)
    static func remove(besides path: String) {
        let folder = (path as NSString).deletingLastPathComponent
        let prefix = (path as NSString).lastPathComponent + ".partial-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH {
                unlink((folder as NSString).appendingPathComponent(name))
            }
        }
    }

    /// Deletes the stale `.partial-PID` files of every checkpoint file name in `folder`
    /// (`model.safetensors` and `model-XXXXX-of-YYYYY.safetensors`), as `remove(besides:)` does.
    static func removeCheckpointFiles(in folder: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        var bases = Set<String>()
        for name in names {
            guard let range = name.range(of: ".safetensors.partial-") else { continue }
            let base = String(name[..<range.lowerBound]) + ".safetensors"
            if base == "model.safetensors" || (base.hasPrefix("model-") && base.contains("-of-")) { bases.insert(base) }
        }
        for base in bases { remove(besides: (folder as NSString).appendingPathComponent(base)) }
    }
}
