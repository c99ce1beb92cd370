import Engine
import Checkpoint
import Datasets
import Foundation
import JSON
import Store

/// A `command` node's inputs as files the program reads: a checkpoint as a folder
/// (`config.json` + `model.safetensors`), a dataset as JSON Lines in the documented format,
/// metrics as JSON Lines rows, a `files` artifact as the folder it was made from.
enum CommandInputs {
    /// Writes `manifest` under `folder` as `name` (or `name.jsonl`); returns its path.
    static func materialize(_ manifest: ArtifactManifest, as name: String, in folder: String, store: Store) throws -> String {
        let base = (folder as NSString).appendingPathComponent(name)
        switch manifest.kind {
        case Store.checkpointKind:
            try store.exportCheckpoint(manifest.digest, to: base)
            return base
        case Store.datasetKind:
            let path = base + ".jsonl"
            try Data(JSONLines.encode(try store.loadDataset(manifest))).write(to: URL(fileURLWithPath: path))
            return path
        case EvalOp.metricsKind:
            let path = base + ".jsonl"
            let text = MetricRow.rows(inMetadata: manifest.metadata).map { $0.json.serialized(pretty: false) + "\n" }.joined()
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        case CommandOutputs.filesKind:
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
            for entry in manifest.tensors {
                let path = (base as NSString).appendingPathComponent(entry.name)
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data(try store.bytes(of: entry)).write(to: URL(fileURLWithPath: path))
            }
            return base
        default:
            throw OpError("input \(name) is a \(manifest.kind), which a command cannot read")
        }
    }

    /// A digest of every file under `path` (names, sizes and contents): taken before and
    /// after the program runs, so a write to an input is detected even by root, whom the
    /// read-only modes do not stop.
    static func fingerprint(_ path: String) -> Digest {
        var files: [(relative: String, path: String)] = []
        func visit(_ p: String, _ relative: String) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDirectory) else { return }
            if isDirectory.boolValue {
                for name in ((try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []).sorted() {
                    visit((p as NSString).appendingPathComponent(name), relative + "/" + name)
                }
            } else {
                files.append((relative, p))
            }
        }
        visit(path, "")
        var hasher = SHA256()
        for file in files {
            hasher.update(Array(file.relative.utf8) + [0])
            // In 4 MiB pieces: a checkpoint input may be larger than memory allows twice.
            if let handle = FileHandle(forReadingAtPath: file.path) {
                while let piece = try? handle.read(upToCount: 4 << 20), !piece.isEmpty { hasher.update([UInt8](piece)) }
                try? handle.close()
            }
            hasher.update([1])
        }
        return hasher.finalize()
    }
}
