import Engine
import Foundation
import Store

/// The folders of one `command` action, beside the cache file: `mergeflow-work/KEY/` holds
/// `workdir/` (the program's own scratch: it survives an interruption, so a program that
/// checkpoints there resumes), `inputs/` (materialised, read-only), `outputs/` (what the
/// program writes) and the logs of the last attempt. Named by the action key, so a rerun of
/// the same work finds it and different work never shares it. Removed once the result is
/// published.
struct CommandWorkspace {
    let root: String

    init(store: Store, key: Digest) {
        // Absolute: the program starts in the spec's folder, not in ours.
        let cache = URL(fileURLWithPath: store.path).standardizedFileURL
        root = cache.deletingLastPathComponent().appendingPathComponent("mergeflow-work/\(key.hex)").path
    }

    var workdir: String { path("workdir") }
    var inputs: String { path("inputs") }
    var outputs: String { path("outputs") }
    var stdoutLog: String { path("stdout.log") }
    var stderrLog: String { path("stderr.log") }

    func path(_ name: String) -> String { (root as NSString).appendingPathComponent(name) }

    /// Keeps `workdir` as a previous attempt left it; starts `inputs` and `outputs` afresh.
    func prepare() throws {
        let fm = FileManager.default
        for folder in [inputs, outputs] where fm.fileExists(atPath: folder) {
            CommandWorkspace.makeWritable(folder)
            try fm.removeItem(atPath: folder)
        }
        for folder in [workdir, inputs, outputs] { try fm.createDirectory(atPath: folder, withIntermediateDirectories: true) }
    }

    /// Deletes the whole workspace (after the result is published).
    func remove() {
        CommandWorkspace.makeWritable(root)
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Makes a materialised input read-only: files 0444, folders 0555.
    static func makeReadOnly(_ path: String) { FileModes.makeReadOnly(path) }

    static func makeWritable(_ path: String) { FileModes.makeWritable(path) }
}
