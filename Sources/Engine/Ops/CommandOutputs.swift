import Checkpoint
import Datasets
import Foundation
import JSON
import Store

/// What a `command` node declares it writes, and how each kind is checked and imported.
enum CommandOutputs {
    /// Artifact kind of a folder stored as a file tree (one byte tensor per file).
    static let filesKind = "files"
    /// The kinds `params.outputs` may name.
    static let kinds = ["checkpoint", "metrics", "dataset", "files"]

    /// The artifact kind an output kind publishes.
    static func artifactKind(_ kind: String) -> String {
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

    /// The eval op's row schema: `{"lang", "objective", "metric", "value", "n"}`, optionally
    /// `"sd"`; one JSON object per line, blank lines ignored.
    static func metricRows(_ name: String, path: String) throws -> [JSONValue] {
        let text = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data(), as: UTF8.self)
        var rows: [JSONValue] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let at = "output \(name) (metrics), line \(i + 1)"
            guard let value = try? JSONValue.parse(trimmed), let o = value.objectValue else {
                throw OpError("\(at): expected a JSON object {\"lang\", \"objective\", \"metric\", \"value\", \"n\"}")
            }
            for key in o.keys where !["lang", "objective", "metric", "value", "n", "sd"].contains(key) {
                throw OpError("\(at): unknown key \"\(key)\" (allowed: lang, objective, metric, value, n, sd)")
            }
            for key in ["lang", "objective", "metric"] where (o[key]?.stringValue ?? "").isEmpty {
                throw OpError("\(at): \"\(key)\" must be a non-empty string")
            }
            guard let v = o["value"]?.doubleValue, v.isFinite else { throw OpError("\(at): \"value\" must be a finite number") }
            guard let n = o["n"]?.intValue, n >= 0 else { throw OpError("\(at): \"n\" must be a whole number ≥ 0") }
            var row = JSONObject([("lang", o["lang"]!), ("objective", o["objective"]!), ("metric", o["metric"]!),
                                  ("value", .number(v)), ("n", .number(Double(n)))])
            if let sd = o["sd"] {
                guard let s = sd.doubleValue, s.isFinite, s >= 0 else { throw OpError("\(at): \"sd\" must be a number ≥ 0") }
                row["sd"] = .number(s)
            }
            rows.append(.object(row))
        }
        if rows.isEmpty { throw OpError("output \(name) (metrics) holds no rows") }
        return rows
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
