import Foundation
import JSON
import Store

/// A checkpoint on disk: one `.safetensors` file, or a Hugging Face folder holding
/// `model.safetensors` or shards listed in `model.safetensors.index.json`, and optionally
/// `config.json`.
public final class CheckpointFolder {
    /// Where each tensor lives.
    public struct Location {
        public let file: SafetensorsFile
        public let entry: SafetensorsEntry
    }

    public let path: String
    public let files: [SafetensorsFile]
    /// Tensors sorted by name.
    public let tensors: [Location]
    /// Name → location: merges look every tensor up by name in every input.
    private let byName: [String: Location]
    /// `config.json`, if the folder has one.
    public let config: JSONValue?
    /// `__metadata__` of the files merged (first file's value wins on a clash).
    public let metadata: JSONObject

    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        // FileKind says why not in plain words: a symlink loop, a FIFO, a missing file.
        if let problem = FileKind.problem(path, allowFolder: true) { throw CheckpointError(file: path, problem) }
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError(file: path, "no such file or folder")
        }
        var config: JSONValue?
        var files: [SafetensorsFile]
        var weightMap: [String: String]?
        if !isDirectory.boolValue {
            files = [try SafetensorsFile(path: path)]
        } else {
            let configPath = (path as NSString).appendingPathComponent("config.json")
            if FileManager.default.fileExists(atPath: configPath) {
                do { config = try JSONValue.parse(contentsOf: configPath) } catch {
                    throw CheckpointError(file: configPath, "\(error)")
                }
            }
            let indexPath = (path as NSString).appendingPathComponent("model.safetensors.index.json")
            let singlePath = (path as NSString).appendingPathComponent("model.safetensors")
            if FileManager.default.fileExists(atPath: indexPath) {
                let map = try CheckpointFolder.readIndex(indexPath)
                weightMap = map
                files = try Set(map.values).sorted().map { shard throws in
                    guard !shard.contains("/") else { throw CheckpointError(file: indexPath, tensor: map.first { $0.value == shard }?.key, "shard \"\(shard)\" is not a file in this folder") }
                    return try SafetensorsFile(path: (path as NSString).appendingPathComponent(shard))
                }
            } else if FileManager.default.fileExists(atPath: singlePath) {
                files = [try SafetensorsFile(path: singlePath)]
            } else {
                throw CheckpointError(file: path, "no model.safetensors or model.safetensors.index.json in this folder")
            }
        }
        var locations: [String: Location] = [:]
        var metadata = JSONObject()
        for file in files {
            for (k, v) in file.metadata where metadata[k] == nil { metadata[k] = v }
            for entry in file.entries {
                if let other = locations[entry.name] {
                    throw CheckpointError(file: file.path, tensor: entry.name, "also present in \(other.file.path)")
                }
                if let map = weightMap, map[entry.name] != (file.path as NSString).lastPathComponent {
                    throw CheckpointError(file: file.path, tensor: entry.name,
                                          map[entry.name] == nil ? "not listed in model.safetensors.index.json"
                                                                 : "index says it is in \(map[entry.name]!)")
                }
                locations[entry.name] = Location(file: file, entry: entry)
            }
        }
        if let map = weightMap {
            for name in map.keys.sorted() where locations[name] == nil {
                throw CheckpointError(file: path, tensor: name, "listed in model.safetensors.index.json but missing from \(map[name]!)")
            }
        }
        self.files = files
        self.config = config
        self.metadata = metadata
        self.tensors = locations.values.sorted { $0.entry.name.utf8.lexicographicallyPrecedes($1.entry.name.utf8) }
        self.byName = locations
    }

    /// Reads `weight_map` from a sharded checkpoint's index.
    static func readIndex(_ indexPath: String) throws -> [String: String] {
        let index: JSONValue
        do { index = try JSONValue.parse(contentsOf: indexPath) } catch {
            throw CheckpointError(file: indexPath, "\(error)")
        }
        guard let map = index.objectValue?["weight_map"]?.objectValue else {
            throw CheckpointError(file: indexPath, "missing \"weight_map\" object")
        }
        var out: [String: String] = [:]
        for (name, file) in map {
            guard let f = file.stringValue else { throw CheckpointError(file: indexPath, tensor: name, "shard name is a \(file.typeName)") }
            out[name] = f
        }
        return out
    }

    /// The location of `name`, if present.
    public func tensor(named name: String) -> Location? {
        byName[name]
    }
}
