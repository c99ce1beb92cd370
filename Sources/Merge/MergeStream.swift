import Foundation
import Numerics
import Store

/// The merged tensors of a recipe, one at a time in name order.
///
/// Tensor i + 1 is merged on a worker thread while the caller writes tensor i, so merging
/// and writing overlap. Two sets of buffers alternate between the two tensors in flight and
/// are reused for the whole model: the kernel zeroes fresh pages only when a set first
/// reaches a new largest tensor, not once per tensor.
public final class MergeStream: @unchecked Sendable {
    public struct Merged {
        public let name: String
        public let shape: [Int]
        /// The Float32 result, valid until the next call to `next()`; nil from a blocked
        /// merge (see `init(tasks:blocked:)`), which never holds it whole.
        public let values: UnsafeBufferPointer<Float>?
        /// The result in the task's output dtype, little-endian, valid as `values`; empty when
        /// it comes in slices through `feed`.
        public let bytes: UnsafeRawBufferPointer
        /// The result's bytes in slices, for the largest tensors of a stream that slices them
        /// (`init(tasks:blocked:sliced:)`): take them all (or `cancel`) before the next call
        /// to `next()`.
        public let feed: OutputFeed?

        init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>?, bytes: UnsafeRawBufferPointer, feed: OutputFeed? = nil) {
            self.name = name
            self.shape = shape
            self.values = values
            self.bytes = bytes
            self.feed = feed
        }
    }

    /// Every tensor name, in the order `next()` gives them.
    public let names: [String]
    let tasks: [MergeTask]
    /// Per set: one input buffer per model (and the base, last), then the output buffer.
    let sets: [[ReusableBuffer]]
    /// The per-thread counters and scratch of TIES's passes from the stored bytes
    /// (`mergeTaskVectorsFromStored`), reused from tensor to tensor: one merge at a time
    /// uses them (the stream's worker).
    let taskVectorPassMemory = ReusableBuffer()
    /// The per-thread buffers `mergeFromStored` reads pieces into; the same.
    let storedPieceBuffers = StoredPieceBuffers()
    private var position = 0
    private let finished = DispatchSemaphore(value: 0)
    private var pending: Result<Merged, Error>?
    private var working = false
    private var failure: Error?
    /// Results larger than a slice come in slices of `OutputFeed`, when asked for.
    let sliceBuffers: OutputFeed.Buffers?
    /// The slice size `merge --direct` uses: two slices' memory instead of two whole results.
    public static let defaultSliceBytes = 16 << 20
    /// Set by the worker thread when it handed its result over before it was complete (a
    /// feed); read by the same thread. Reset before each worker starts.
    private var handedOver: OutputFeed?
    /// The feed of the result handed out last, while its worker may still fill it: that
    /// worker starts the next one when it has published its last slice, so two tensors
    /// never fill slices at once and the next tensor's merge overlaps the last writes.
    private var feeding: OutputFeed?

    /// - Throws: `MergeError` when the models' tensor names or shapes differ.
    public convenience init(_ recipe: MergeRecipe, models: [TensorSource], base: TensorSource?, layers: Int) throws {
        self.init(tasks: try MergeTask.wholeModels(recipe, models: models, base: base, layers: layers))
    }

    /// Merges `tasks` in the order given (a slice plan's, see `SlicePlanner`).
    /// - Parameter blocked: merge methods that allow it (`BlockedMerge`) a block of each
    ///   input at a time when every input can read ranges: memory then holds the output in
    ///   its dtype and a few blocks, instead of every input widened to Float32.
    /// - Parameter sliceBytes: results larger than this (a multiple of the page) of the merges
    ///   that can hand them over in parts (TIES and its relatives from the stored bytes) come
    ///   through `Merged.feed` in slices of this size instead of whole; nil: all whole.
    public init(tasks: [MergeTask], blocked: Bool = false, sliceBytes: Int? = nil) {
        self.tasks = tasks
        self.blocked = blocked
        sliceBuffers = sliceBytes.map { OutputFeed.Buffers(sliceBytes: $0) }
        names = tasks.map(\.name)
        let inputs = tasks.map(\.inputs.count).max() ?? 0
        // Per set: the inputs, the Float32 output, the output in its dtype.
        sets = (0..<2).map { _ in (0...(inputs + 1)).map { _ in ReusableBuffer() } }
        if !names.isEmpty { startWorker(0) }
    }

    let blocked: Bool

    /// The next merged tensor, or nil after the last. After a failure every call throws
    /// the same error (no further tensor is merged).
    public func next() throws -> Merged? {
        if let failure { throw failure }
        guard position < names.count else { return nil }
        if let previous = feeding {
            // Its slices are all taken by now; its worker has started this tensor's (unless
            // the merge failed, which the feed has reported).
            previous.producerFinished.wait()
            feeding = nil
            guard previous.startedNext else {
                let error = MergeError("tensor \(names[position - 1]): its merge stopped before it was complete")
                failure = error
                working = false
                throw error
            }
        }
        finished.wait()
        working = false
        let result = pending!
        pending = nil
        position += 1
        switch result {
        case .success(let merged):
            if let feed = merged.feed {
                feeding = feed
                working = position < names.count  // its worker starts the next
            } else if position < names.count {
                startWorker(position)
            }
            return merged
        case .failure(let error):
            failure = error
            throw error
        }
    }

    /// Starts tensor i's worker: from `next()`, or from the worker of a sliced tensor i − 1
    /// once its last slice is published (then `working` is already set by `next()`).
    private func startWorker(_ i: Int) {
        working = true
        startThread(i)
    }

    private func startThread(_ i: Int) {
        handedOver = nil
        let thread = Thread { [self] in
            let result = Result { try merge(i) }
            guard let feed = handedOver else {
                pending = result
                finished.signal()
                return
            }
            if feed.completed, i + 1 < names.count {
                startThread(i + 1)
                feed.startedNext = true
            }
            feed.producerFinished.signal()
        }
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// From the worker thread: `merged` (whose bytes come through its feed) is the result of
    /// the tensor in progress, handed to `next()` now; the worker goes on filling the feed.
    func handOver(_ merged: Merged) {
        handedOver = merged.feed
        pending = .success(merged)
        finished.signal()
    }

    /// Merges tensor i into set i % 2: reads every input, resolves the parameters for this
    /// tensor, runs the method with a random stream private to the tensor, checks the result.
    private func merge(_ i: Int) throws -> Merged {
        if blocked, let merged = try mergeInBlocks(i) { return merged }
        let task = tasks[i], name = task.name, shape = task.shape, buffers = sets[i % 2]
        let (perModel, shared) = try task.recipe.resolve(tensor: name, layer: task.layer, layers: task.layers)
        let inputs = task.inputs
        var views: [UnsafeBufferPointer<Float>] = []
        defer { for input in inputs.prefix(views.count) { input.source.release(input.name) } }
        for (k, input) in inputs.enumerated() {
            let view = try input.source.read(input.name, into: buffers[k])
            guard view.count == Tensor.elementCount(shape) else {
                throw MergeError("tensor \(input.name) in \(input.source.label): \(view.count) elements, expected \(Tensor.elementCount(shape)) for \(name)")
            }
            views.append(view)
        }
        try FiniteChecks.checkInputs(views, labels: inputs.map(\.source.label), tensor: name)
        let out = buffers[buffers.count - 2].floats(Tensor.elementCount(shape))
        var input = TensorMergeInput(
            name: name, shape: shape, models: Array(views.prefix(task.models.count)), base: task.base == nil ? nil : views.last,
            modelParams: perModel, params: shared, random: SeededRandom(seed: task.recipe.seed, stream: name))
        try task.recipe.method.merge(&input, out)
        // NaN/inf out of (checked) finite inputs is a merge error (e.g. weights summing to zero).
        if !Kernels.allFinite(UnsafeBufferPointer(out)) {
            throw MergeError(FiniteChecks.outputProblem(tensor: name, modelParams: perModel, params: shared))
        }
        var bytes = UnsafeRawBufferPointer(out)
        if task.outputDType != .f32 || task.intermediateDType != nil {
            let raw = MergeStream.outputBytes(out.count * task.outputDType.size, phase: task.outputPagePhase, in: buffers.last!)
            MergeStream.round(UnsafeBufferPointer(out), task, into: raw.baseAddress!)
            bytes = UnsafeRawBufferPointer(rebasing: raw[0..<(out.count * task.outputDType.size)])
        }
        return Merged(name: name, shape: shape, values: UnsafeBufferPointer(out), bytes: bytes)
    }

    /// `count` bytes of `buffer` starting `phase` bytes into its first page (its storage is
    /// page-aligned), for a result whose file offset has that phase.
    static func outputBytes(_ count: Int, phase: Int, in buffer: ReusableBuffer) -> UnsafeMutableRawBufferPointer {
        precondition((0..<MergeTask.pageBytes).contains(phase))
        let raw = UnsafeMutableRawBufferPointer(buffer.floats((phase + count + 3) / 4))
        return UnsafeMutableRawBufferPointer(rebasing: raw[phase..<(phase + count)])
    }

    deinit {
        // A caller that stops early (its write failed) must not free buffers the worker uses.
        // A feed still being filled is cancelled and its worker waited for; if that worker had
        // started the next tensor's, that one is waited for too (and so on, feed by feed).
        var feed = feeding
        var running = feeding == nil && working
        while true {
            if let current = feed {
                current.cancel()
                current.producerFinished.wait()
                running = current.startedNext
            }
            guard running else { break }
            finished.wait()
            feed = (try? pending?.get())?.feed
            running = false
            if feed == nil { break }
        }
    }
}
