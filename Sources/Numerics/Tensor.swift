import Foundation

/// A dense, row-major Float32 tensor: a shape and a contiguous buffer.
///
/// Value semantics (copy-on-write through `Array`). Hot code reaches the storage with
/// `withUnsafeBufferPointer` / `withUnsafeMutableBufferPointer` and works on raw pointers.
public struct Tensor: Equatable, Sendable {
    /// Extent of each dimension; `[]` is a scalar (one element).
    public private(set) var shape: [Int]
    /// `shape.product` elements in row-major order.
    public var storage: [Float]

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.storage = [Float](repeating: value, count: Tensor.elementCount(shape))
    }

    /// A tensor over existing values.
    /// - Precondition: `storage.count` equals the product of `shape`.
    public init(shape: [Int], storage: [Float]) {
        precondition(storage.count == Tensor.elementCount(shape),
                     "shape \(shape) needs \(Tensor.elementCount(shape)) values, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor whose values `fill` writes (every element, exactly once): no zeroing pass
    /// before the real values arrive.
    public init(shape: [Int], unsafeUninitialized fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        let count = Tensor.elementCount(shape)
        self.shape = shape
        self.storage = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            Tensor.adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
            try fill(buffer)
            initialized = count
        }
    }

    /// Asks for 2 MiB pages on the untouched interior of a large buffer: one page fault per
    /// 2 MiB instead of per 4 KiB when a multi-megabyte tensor is first written (the kernel
    /// here hands out transparent huge pages only on request).
    static func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
        let huge = 2 << 20
        guard buffer.count >= 2 * huge, let base = buffer.baseAddress else { return }
        let start = (Int(bitPattern: base) + huge - 1) / huge * huge
        let end = (Int(bitPattern: base) + buffer.count) / huge * huge
        if end > start { madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE) }
    }

    /// Number of elements.
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Element of a 2-D tensor.
    public subscript(row: Int, column: Int) -> Float {
        get { storage[row * shape[1] + column] }
        set { storage[row * shape[1] + column] = newValue }
    }

    /// Product of the dimensions (1 for a scalar).
    public static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1, *)
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer(body)
    }
}
