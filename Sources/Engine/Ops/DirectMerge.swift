import Checkpoint
import Foundation
import JSON
import Merge
import Numerics
import Store

/// A merge straight from folders to a folder, outside the cache (`mergeflow merge --direct`):
/// what `mergekit-yaml` does, tensor by tensor from memory-mapped inputs to a streamed
/// safetensors file.
public enum DirectMerge {
    /// - Returns: the number of input bytes read.
    @discardableResult
    public static func run(config path: String, output: String, progress: (Double) -> Void = { _ in }) throws -> Int {
        let parsed = try MergekitConfig.parse(path)
        let recipe: MergeRecipe
        do {
            recipe = try MergeOp.recipe(parsed.mergeParams, modelCount: parsed.models.count, hasBase: parsed.base != nil)
        } catch let e as MergeError {
            throw SpecError(file: path, issues: [SpecIssue(path: "(config)", message: e.message)])
        }
        let models = try parsed.models.map { try FolderTensorSource(path: parsed.resolve($0)) }
        let base = try parsed.base.map { try FolderTensorSource(path: parsed.resolve($0)) }
        let reference = base ?? models[0]
        // The stream checks that the models agree (names, shapes) and starts on the first tensor.
        let stream = try MergeStream(recipe, models: models, base: base, layers: Merger.layerCount(reference.tensorNames))
        let names = stream.names
        try CheckpointDestination.checkNoShardIndex(in: output)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let items = names.map { SafetensorsWriter.Item(name: $0, dtype: .f32, shape: reference.shape(of: $0)!) }
        var metadata = reference.folder.metadata
        if metadata.isEmpty { metadata["format"] = "pt" }
        // The stream merges tensor i + 1 while tensor i is written. Like mergekit (and cp),
        // the output is not fsynced: it appears under its name only once complete (renamed
        // from a temporary file), and durability against power loss is the file system's.
        try SafetensorsWriter.writeStreaming(to: output + "/model.safetensors", items: items, metadata: metadata, durable: false) { i, emit in
            guard let tensor = try stream.next(), tensor.name == names[i] else { throw MergeError("tensor \(names[i]): out of order") }
            // An input truncated or rewritten while this tensor was merged is an error
            // before the tensor is written (see `MappedFile.checkUnchanged`).
            for source in models + (base.map { [$0] } ?? []) { try source.checkUnchanged() }
            try emit(UnsafeRawBufferPointer(tensor.values))
            progress(Double(i + 1) / Double(names.count))
        }
        if let config = reference.folder.config {
            try Data((config.serialized(pretty: true) + "\n").utf8).write(to: URL(fileURLWithPath: output + "/config.json"), options: .atomic)
        }
        return (models + (base.map { [$0] } ?? [])).reduce(0) { total, source in
            total + source.folder.tensors.reduce(0) { $0 + $1.entry.dataRange.count }
        }
    }
}
