import Engine
import Checkpoint
import Merge
import Numerics
import Store

/// A checkpoint file or Hugging Face folder on disk. F32 tensors are read in place from
/// the memory-mapped file (no copy); others are widened into the caller's buffer. A tensor's
/// pages leave resident memory once the merge has used it.
public final class FolderTensorSource: RangeReadableTensorSource {
    public let folder: CheckpointFolder
    public let label: String
    /// mergekit's `dtype`: values are rounded to it as they are read (mergekit casts every
    /// input to it before merging); nil or F32 reads them as stored.
    public let computeDType: DType?

    public init(path: String, computeDType: DType? = nil) throws {
        folder = try CheckpointFolder(path: path)
        label = path
        self.computeDType = computeDType == .f32 ? nil : computeDType
    }

    public var tensorNames: [String] { folder.tensors.map(\.entry.name) }
    public func shape(of name: String) -> [Int]? { folder.tensor(named: name)?.entry.shape }

    public func read(_ name: String, into buffer: ReusableBuffer) throws -> UnsafeBufferPointer<Float> {
        guard let location = folder.tensor(named: name) else { throw MergeError("tensor \(name): not in \(label)") }
        return try read(location, elements: 0..<location.entry.elementCount, into: buffer)
    }

    public func read(_ name: String, elements range: Range<Int>, into buffer: ReusableBuffer) throws -> UnsafeBufferPointer<Float> {
        guard let location = folder.tensor(named: name) else { throw MergeError("tensor \(name): not in \(label)") }
        return try read(location, elements: range, into: buffer, checkFinite: false)
    }

    public func stored(_ name: String, elements range: Range<Int>, into buffer: ReusableBuffer) throws -> StoredElements? {
        guard let location = folder.tensor(named: name) else { throw MergeError("tensor \(name): not in \(label)") }
        try location.file.checkUnchanged()
        // Values rounded to the compute dtype are not the stored ones: `read` widens those.
        if let computeDType, computeDType != location.entry.dtype { return nil }
        guard location.entry.dtype.isFloatingPoint, range.count > 0 else { return nil }
        let destination = UnsafeMutableRawPointer(buffer.floats((range.count * location.entry.dtype.size + 3) / 4).baseAddress!)
        try location.file.copyStored(location.entry, elements: range, into: destination)
        return StoredElements(start: destination, dtype: location.entry.dtype)
    }

    public func checkFinite(_ name: String) throws {
        guard let location = folder.tensor(named: name) else { throw MergeError("tensor \(name): not in \(label)") }
        let buffer = ReusableBuffer(), n = location.entry.elementCount
        for start in stride(from: 0, to: n, by: 1 << 20) {
            let view = try read(location, elements: start..<min(n, start + (1 << 20)), into: buffer, checkFinite: false)
            if !Kernels.allFinite(view) {
                throw CheckpointError(file: location.file.path, tensor: name, "\(location.entry.dtype.rawValue) tensor holds NaN or infinity")
            }
        }
    }

    private func read(_ location: CheckpointFolder.Location, elements range: Range<Int>, into buffer: ReusableBuffer,
                      checkFinite: Bool = true) throws -> UnsafeBufferPointer<Float> {
        let name = location.entry.name
        try location.file.checkUnchanged()
        let rounding = computeDType.flatMap { $0 == location.entry.dtype ? nil : $0 }
        if rounding == nil, let view = location.file.floatView(location.entry, elements: range) { return view }
        let out = buffer.floats(range.count)
        location.file.widen(location.entry, elements: range, into: out)
        // A NaN or infinity in a checkpoint is damage, not a weight: refused with the file
        // and tensor named (mergekit would merge it into the output silently). Checked here
        // on the widened copy, where it costs a pass over cached memory.
        if checkFinite, !Kernels.allFinite(UnsafeBufferPointer(out)) {
            throw CheckpointError(file: location.file.path, tensor: name, "\(location.entry.dtype.rawValue) tensor holds NaN or infinity")
        }
        if let rounding {
            for i in out.indices { out[i] = rounding.rounded(out[i]) }
        }
        return UnsafeBufferPointer(out)
    }

    /// Throws if any file of the checkpoint changed or was truncated since it was opened,
    /// including during a read already done (see `MappedFile.checkUnchanged`).
    public func checkUnchanged() throws {
        for file in folder.files { try file.checkUnchanged() }
    }

    public func release(_ name: String, elements range: Range<Int>) {
        if let location = folder.tensor(named: name) { location.file.evict(location.entry, elements: range) }
    }

    public func release(_ name: String) {
        if let location = folder.tensor(named: name) { location.file.evict(location.entry) }
    }
}
