import Foundation
import JSON
import Store

extension Store {
    /// The artifact kind of model checkpoints.
    public static let checkpointKind = ArtifactKind.checkpoint

    /// Stores a checkpoint file or folder as a `checkpoint` artifact, tensor by tensor,
    /// and pins it under `import:<absolute path>` so `gc` keeps it.
    ///
    /// Tensors keep their stored dtype (F16 / BF16 stay half size); metadata keeps
    /// `config.json` (as `config`) and the files' `__metadata__` (as `safetensors_metadata`).
    /// Nothing becomes visible unless the whole checkpoint was stored.
    /// - Parameter progress: called after each tensor with (bytes done, bytes total).
    @discardableResult
    public func importCheckpoint(at path: String, progress: ((Int, Int) -> Void)? = nil) throws -> ArtifactManifest {
        let writer = try checkpointWriter(reading: path, progress: progress)
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        return try writer.publish(pin: "import:\(absolute)")
    }

    /// Reads a checkpoint file or folder into an unpublished artifact (chunks stored, the
    /// manifest not yet visible), for callers that publish it themselves.
    public func checkpointWriter(reading path: String, progress: ((Int, Int) -> Void)? = nil) throws -> ArtifactWriter {
        let folder = try CheckpointFolder(path: path)
        var metadata = JSONObject()
        if let config = folder.config { metadata["config"] = config }
        if !folder.metadata.isEmpty { metadata["safetensors_metadata"] = .object(folder.metadata) }
        let writer = newArtifact(kind: Store.checkpointKind, metadata: .object(metadata))
        let total = folder.tensors.reduce(0) { $0 + $1.entry.dataRange.count }
        var done = 0
        for (i, location) in folder.tensors.enumerated() {
            if i + 1 < folder.tensors.count {
                let next = folder.tensors[i + 1]
                next.file.prefetch(next.entry)
            }
            // Before: a truncated file would fault; after: the read itself may have raced a
            // truncation (then it read zeros) or a rewrite. Nothing is published either way.
            try location.file.checkUnchanged()
            try writer.add(name: location.entry.name, dtype: location.entry.dtype, shape: location.entry.shape,
                           bytes: location.file.bytes(of: location.entry))
            try location.file.checkUnchanged()
            done += location.entry.dataRange.count
            progress?(done, total)
        }
        return writer
    }

    /// Writes a checkpoint artifact as `model.safetensors` (+ `config.json` when it has one)
    /// in `folder`, creating the folder, or as shards of at most `maxShardBytes` with
    /// `model.safetensors.index.json` (see `ShardedCheckpointWriter`). Without
    /// `maxShardBytes`, the artifact's `out_shard_size` metadata (a merge's parameter) or
    /// mergekit's 5·10⁹ decides. Tensors are written in
    /// name order with their stored dtype, so importing the output gives back the same
    /// artifact digest.
    public func exportCheckpoint(_ digest: Digest, to folder: String,
                                 maxShardBytes: Int? = nil) throws {
        let manifest = try self.manifest(digest)
        try CheckpointDestination.checkNoShardIndex(in: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let metadataObject = manifest.metadata.objectValue
        let fileMetadata = metadataObject?["safetensors_metadata"]?.objectValue ?? JSONObject()
        let items = manifest.tensors.map { SafetensorsWriter.Item(name: $0.name, dtype: $0.dtype, shape: $0.shape) }
        let largest = items.map { ArtifactWriter.byteCount(shape: $0.shape, dtype: $0.dtype) ?? 0 }.max() ?? 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(largest, 1), alignment: 64)
        defer { buffer.deallocate() }
        let shardBytes = maxShardBytes ?? metadataObject?["out_shard_size"]?.intValue ?? ShardedCheckpointWriter.defaultMaxShardBytes
        try ShardedCheckpointWriter.write(folder: folder, items: items, maxShardBytes: shardBytes,
                                          metadata: fileMetadata) { i, emit in
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<manifest.tensors[i].byteCount])
            try readBytes(of: manifest.tensors[i], into: slice)
            try emit(UnsafeRawBufferPointer(slice))
        }
        if let config = metadataObject?["config"] {
            let configPath = (folder as NSString).appendingPathComponent("config.json")
            try Data((config.serialized(pretty: true) + "\n").utf8).write(to: URL(fileURLWithPath: configPath), options: .atomic)
        }
    }
}
