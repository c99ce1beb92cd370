import Foundation
import Numerics

/// A tensor's merged bytes handed from the merging thread to the writer in slices, through
/// two page-aligned buffers: the merge fills one while the writer writes the other.
///
/// Why: a stream that holds every result whole keeps two buffers the size of the largest
/// tensor (the embedding and the LM head: 131 MB each in bf16 at 1.1 B parameters, 2 GB each
/// at a 128 K vocabulary and 8 K channels), and on a machine whose host takes idle memory
/// back, touching them for the first time was a seventh of a TIES merge's CPU. A sliced
/// tensor needs two slices of memory, whatever its size.
///
/// Each slice sits at `phase` bytes into its buffer's first page (the phase of its offset in
/// the output file, `MergeTask.outputPagePhase`), so a writer around the page cache sends it
/// to the disk without copying it.
public final class OutputFeed: @unchecked Sendable {
    /// The two buffers slices are made in, kept by the stream for all its feeds (fresh memory
    /// for every tensor would cost what slicing saves): the k-th slice of the stream goes to
    /// buffer k % 2, and slices are written in the order they are made, so the buffer the
    /// writer frees is always the one needed next.
    final class Buffers: @unchecked Sendable {
        let sliceBytes: Int
        fileprivate let memory = [ReusableBuffer(), ReusableBuffer()]
        fileprivate let free = DispatchSemaphore(value: 2)
        fileprivate var made = 0  // only the merging thread of the feed being filled
        init(sliceBytes: Int) {
            precondition(sliceBytes % MergeTask.pageBytes == 0)
            self.sliceBytes = sliceBytes
        }
    }

    /// Bytes of one slice (a multiple of the page, so every slice keeps the tensor's phase).
    var sliceBytes: Int { buffers.sliceBytes }
    let phase: Int
    private let buffers: Buffers
    private var free: DispatchSemaphore { buffers.free }
    private let filled = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    // Guarded by `lock`: slices published and not yet taken (nil: the end), the producer's
    // failure, whether the writer gave up, whether the end was published, and whether the
    // writer holds a slice it has not given back.
    private var queue: [UnsafeRawBufferPointer?] = []
    private var failure: Error?
    private var cancelled = false
    private var ended = false
    private var holding = false

    /// Signalled by the merging thread when it is done with the feed (and has started the
    /// stream's next tensor, when `startedNext`).
    let producerFinished = DispatchSemaphore(value: 0)
    /// Written by the merging thread before `producerFinished` is signalled.
    var startedNext = false

    /// Every slice was published, and the writer did not give up.
    var completed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return ended && failure == nil && !cancelled
    }

    init(_ buffers: Buffers, phase: Int) {
        precondition((0..<MergeTask.pageBytes).contains(phase))
        self.buffers = buffers
        self.phase = phase
    }

    // MARK: The merging thread

    /// Memory for the next slice of `count` bytes (at most `sliceBytes`), once the writer has
    /// written the slice that used it before; nil when the writer gave up.
    func nextSlice(count: Int) -> UnsafeMutableRawBufferPointer? {
        precondition(count <= sliceBytes)
        free.wait()
        lock.lock()
        let stop = cancelled
        lock.unlock()
        if stop { free.signal(); return nil }
        let index = buffers.made % 2
        buffers.made += 1
        return MergeStream.outputBytes(count, phase: phase, in: buffers.memory[index])
    }

    /// The slice from the last `nextSlice` is complete.
    func publish(_ slice: UnsafeMutableRawBufferPointer) {
        lock.lock()
        queue.append(UnsafeRawBufferPointer(slice))
        lock.unlock()
        filled.signal()
    }

    /// No more slices: the tensor is complete, or `error` stopped it.
    func finish(_ error: Error? = nil) {
        lock.lock()
        failure = error
        ended = true
        queue.append(nil)
        lock.unlock()
        filled.signal()
    }

    // MARK: The writer

    /// The next slice, valid until the next call; nil after the last. Throws what stopped the
    /// merge.
    public func next() throws -> UnsafeRawBufferPointer? {
        lock.lock()
        if holding { free.signal() }  // the previous slice is written: its buffer is free
        holding = false
        lock.unlock()
        filled.wait()
        lock.lock()
        defer { lock.unlock() }
        let slice = queue.removeFirst()
        guard let slice else {
            filled.signal()  // the end stays visible to further calls
            queue.insert(nil, at: 0)
            if let failure { throw failure }
            return nil
        }
        holding = true
        return slice
    }

    /// The writer stops taking slices (its write failed): the merging thread is released.
    public func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
        free.signal()
        free.signal()
    }
}
