import Engine
import Checkpoint
import Datasets
import Foundation
import JSON
import Store

/// What a `command` node declares it writes, and how each kind is checked and imported.
enum CommandOutputs {
    /// Artifact kind of a folder stored as a file tree (one byte tensor per file).
    static let filesKind = ArtifactKind.files
    /// The kinds `params.outputs` may name.
    static let kinds = ["checkpoint", "metrics", "dataset", "files"]

    /// The artifact kind an output kind publishes.
    static func artifactKind(_ kind: String) -> ArtifactKind {
        switch kind {
        case "checkpoint": return Store.checkpointKind
        case "metrics": return EvalOp.metricsKind
        case "dataset": return Store.datasetKind
        default: return filesKind
        }
    }

    /// Where the program writes an output: a folder for checkpoint and files, a JSON Lines
    /// file for metrics and dataset.
    static func path(of name: String, kind: String, in folder: String) -> String {
        let base = (folder as NSString).appendingPathComponent(name)
        return kind == "metrics" || kind == "dataset" ? base + ".jsonl" : base
    }

    /// The key output `name` of the command whose action key is `actionKey` is published
    /// under, so it stays cached (and kept by `gc`) as long as the command's result.
    static func key(for actionKey: Digest, output name: String) -> Digest {
        SHA256.hash("command-output:" + actionKey.hex + ":" + name)
    }

    /// Publishes each of several outputs as an artifact of its own and returns the node's
    /// result: a `command-outputs` artifact listing them (name → kind and digest).
    static func publishSeveral(_ declared: [(name: String, kind: String)], _ writers: [ArtifactWriter], actionKey: Digest,
                               context: OpContext) throws -> ArtifactWriter {
        var listed = JSONObject()
        for (output, writer) in zip(declared, writers) {
            let manifest = try writer.publish(actionKey: key(for: actionKey, output: output.name))
            listed[output.name] = .object(JSONObject([("kind", .string(output.kind)), ("artifact", .string(manifest.digest.hex))]))
        }
        return context.newArtifact(kind: .commandOutputs, metadata: .object(JSONObject([("outputs", .object(listed))])))
    }

    /// Reads and checks what the program wrote at `path`, into an unpublished artifact.
    /// - Throws: `OpError` naming the output when it is missing or invalid.
    static func read(_ name: String, kind: String, at path: String, store: Store) throws -> ArtifactWriter {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw OpError("output \(name) (\(kind)) is missing: the program wrote nothing at \(path)")
        }
        let wantsFolder = kind == "checkpoint" || kind == "files"
        if wantsFolder != isDirectory.boolValue {
            throw OpError("output \(name) (\(kind)) must be a \(wantsFolder ? "folder" : "JSON Lines file"), but \(path) is \(isDirectory.boolValue ? "a folder" : "a file")")
        }
        switch kind {
        case "checkpoint":
            do {
                return try store.checkpointWriter(reading: path)
            } catch {
                throw OpError("output \(name) (checkpoint) is not a valid checkpoint folder: \(error)")
            }
        case "metrics":
            let rows = try metricRows(name, path: path)
            return store.newArtifact(kind: EvalOp.metricsKind, metadata: .object(JSONObject([
                ("stage", "eval"), ("rows", .array(rows)), ("source", "command"),
            ])))
        case "dataset":
            let bytes = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data())
            let examples: [Example]
            do {
                examples = try JSONLines.parse(bytes, source: path)
            } catch {
                throw OpError("output \(name) (dataset) is not a valid dataset: \(error)")
            }
            if examples.isEmpty { throw OpError("output \(name) (dataset) holds no examples") }
            return try store.datasetWriter(examples, metadata: [("source", "command")])
        default:
            let writer = store.newArtifact(kind: filesKind)
            for file in try files(under: path, output: name) {
                let data = try Data(contentsOf: URL(fileURLWithPath: (path as NSString).appendingPathComponent(file)))
                try writer.add(name: file, fileBytes: [UInt8](data))
            }
            return writer
        }
    }

    /// The eval op's row schema (`MetricRow`), one JSON object per line, blank lines ignored.
    static func metricRows(_ name: String, path: String) throws -> [JSONValue] {
        let text = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data(), as: UTF8.self)
        let rows: [MetricRow]
        do {
            rows = try MetricRow.jsonLines(text)
        } catch {
            throw OpError("output \(name) (metrics), line \(error.line): \(error.problem)")
        }
        if rows.isEmpty { throw OpError("output \(name) (metrics) holds no rows") }
        return rows.map(\.json)
    }

    /// Regular files under `folder`, relative, sorted; links and special files are refused.
    static func files(under folder: String, output name: String) throws -> [String] {
        var out: [String] = []
        func visit(_ relative: String) throws {
            let full = relative.isEmpty ? folder : (folder as NSString).appendingPathComponent(relative)
            var info = stat()
            guard lstat(full, &info) == 0 else { throw OpError("output \(name) (files): cannot read \(full)") }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                for entry in try FileManager.default.contentsOfDirectory(atPath: full).sorted() {
                    try visit(relative.isEmpty ? entry : relative + "/" + entry)
                }
            case S_IFREG: out.append(relative)
            default: throw OpError("output \(name) (files): \(relative) is not a regular file or folder")
            }
        }
        try visit("")
        return out
    }
}
