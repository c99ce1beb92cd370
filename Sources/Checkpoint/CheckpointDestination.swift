import Foundation

/// Checks on a folder a checkpoint is about to be written into.
public enum CheckpointDestination {
    /// Throws if `folder` holds a sharded checkpoint (`model.safetensors.index.json`).
    ///
    /// A reader prefers the index to `model.safetensors`, so writing a single file beside
    /// an old index would leave a folder that still reads as the old checkpoint (and
    /// re-imports to another digest). The shards may be the user's only copy of a model,
    /// so they are not deleted: the write is refused before anything is written.
    public static func checkNoShardIndex(in folder: String) throws(CheckpointError) {
        let index = (folder as NSString).appendingPathComponent("model.safetensors.index.json")
        var info = stat()
        if lstat(index, &info) == 0 {
            throw CheckpointError(file: folder, "holds a sharded checkpoint (model.safetensors.index.json); "
                                  + "writing model.safetensors beside it would leave the old index in charge. "
                                  + "Write into an empty folder, or remove the index and its shards first")
        }
    }
}
