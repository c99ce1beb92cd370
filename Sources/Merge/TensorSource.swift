import Numerics
import Store

/// A model whose tensors a merge reads one at a time: a checkpoint in the cache or a
/// safetensors folder on disk.
public protocol TensorSource: AnyObject {
    /// How messages name this model.
    var label: String { get }
    /// Tensor names, sorted.
    var tensorNames: [String] { get }
    func shape(of name: String) -> [Int]?
    /// One tensor as Float32, valid until `release(name)`: a view of the source's own memory
    /// where it can give one (an F32 tensor in a mapped file, no copy), else `buffer` filled
    /// with it. The merge never writes through the view.
    func read(_ name: String, into buffer: ReusableBuffer) throws -> UnsafeBufferPointer<Float>
    /// The view `read` gave is no longer used (a mapped file lets its pages go, so resident
    /// memory holds only the tensors in flight).
    func release(_ name: String)
}

/// A source that can read part of a tensor, so a merge that is elementwise (or takes its
/// statistics in a first pass) holds one block of each input at a time, not whole tensors.
public protocol RangeReadableTensorSource: TensorSource {
    /// Elements `range` of the flattened tensor as Float32, valid until the next read into
    /// `buffer` or `release(name, elements:)`. Unlike `read(_:into:)` it need not check that
    /// the values are finite: a blocked merge checks its output and, only when that holds a
    /// NaN or infinity, asks `checkFinite` which input is at fault.
    func read(_ name: String, elements range: Range<Int>, into buffer: ReusableBuffer) throws -> UnsafeBufferPointer<Float>
    /// Throws (naming the file and tensor) if the tensor holds a NaN or infinity.
    func checkFinite(_ name: String) throws
    /// The block is no longer used.
    func release(_ name: String, elements range: Range<Int>)
    /// Elements `range` as stored (no widening), copied into `buffer` (`pread`: the bytes
    /// land in the reading core's cache, and no page is mapped and let go), valid until the
    /// next read into `buffer`; nil when the merge must read other values than the stored
    /// ones (rounded to a compute dtype) or the source cannot give them. For the merges that
    /// read each stored dtype themselves (`Linear.fusedWeightedSum(stored:…)`).
    func stored(_ name: String, elements range: Range<Int>, into buffer: ReusableBuffer) throws -> StoredElements?
}

extension RangeReadableTensorSource {
    public func stored(_ name: String, elements range: Range<Int>, into buffer: ReusableBuffer) throws -> StoredElements? { nil }
}

/// A run of a tensor's elements as stored: little-endian `dtype` from `start`.
///
/// `@unchecked Sendable` so compute threads can read it: the bytes are in a buffer that
/// outlives the merge of the block and is not written while it is read.
public struct StoredElements: @unchecked Sendable {
    public let start: UnsafeRawPointer
    public let dtype: DType
    public init(start: UnsafeRawPointer, dtype: DType) {
        self.start = start
        self.dtype = dtype
    }
}
