/// A Float buffer kept across uses and grown only when a larger one is asked for.
///
/// A loop over tensors of varying size that allocated a fresh buffer per tensor would make
/// the kernel zero every new page first (a third of a merge's time, measured); with one
/// buffer per role the pages are zeroed once, at the largest size the loop reaches.
public final class ReusableBuffer: @unchecked Sendable {
    private var storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    public init() {}

    /// The first `count` floats (contents unspecified: the caller writes before it reads),
    /// valid until the next call.
    public func floats(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        if count * 4 > storage.count {
            storage.deallocate()
            // Page-aligned: a merge's output is written to disk from here (`MergeTask.outputPagePhase`).
            storage = .allocate(byteCount: count * 4, alignment: 4096)
            Tensor.adviseHugePages(storage)
        }
        return UnsafeMutableBufferPointer(start: storage.baseAddress?.assumingMemoryBound(to: Float.self), count: count)
    }

    deinit { storage.deallocate() }
}
