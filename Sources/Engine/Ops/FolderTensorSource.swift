import Checkpoint
import Merge
import Numerics

/// A checkpoint file or Hugging Face folder on disk. F32 tensors are read in place from
/// the memory-mapped file (no copy); others are widened into the caller's buffer. A tensor's
/// pages leave resident memory once the merge has used it.
public final class FolderTensorSource: TensorSource {
    public let folder: CheckpointFolder
    public let label: String

    public init(path: String) throws {
        folder = try CheckpointFolder(path: path)
        label = path
    }

    public var tensorNames: [String] { folder.tensors.map(\.entry.name) }
    public func shape(of name: String) -> [Int]? { folder.tensor(named: name)?.entry.shape }

    public func read(_ name: String, into buffer: ReusableBuffer) throws -> UnsafeBufferPointer<Float> {
        guard let location = folder.tensor(named: name) else { throw MergeError("tensor \(name): not in \(label)") }
        try location.file.checkUnchanged()
        if let view = location.file.floatView(location.entry) { return view }
        let out = buffer.floats(location.entry.elementCount)
        location.file.widen(location.entry, into: out)
        return UnsafeBufferPointer(out)
    }

    /// Throws if any file of the checkpoint changed or was truncated since it was opened,
    /// including during a read already done (see `MappedFile.checkUnchanged`).
    public func checkUnchanged() throws {
        for file in folder.files { try file.checkUnchanged() }
    }

    public func release(_ name: String) {
        if let location = folder.tensor(named: name) { location.file.evict(location.entry) }
    }
}
