import Checkpoint
import Merge
import Numerics

/// A checkpoint file or Hugging Face folder on disk, read one tensor at a time with pread
/// (the mapping is never touched, so resident memory stays near the tensors in flight).
public final class FolderTensorSource: TensorSource {
    public let folder: CheckpointFolder
    public let label: String

    public init(path: String) throws {
        folder = try CheckpointFolder(path: path)
        label = path
    }

    public var tensorNames: [String] { folder.tensors.map(\.entry.name) }
    public func shape(of name: String) -> [Int]? { folder.tensor(named: name)?.entry.shape }

    public func load(_ name: String) throws -> Tensor {
        guard let location = folder.tensor(named: name) else { throw MergeError("tensor \(name): not in \(label)") }
        return try location.file.readTensor(location.entry)
    }
}
