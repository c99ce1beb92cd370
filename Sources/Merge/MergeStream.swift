import Foundation
import Numerics

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
        /// Valid until the next call to `next()`.
        public let values: UnsafeBufferPointer<Float>
    }

    /// Every tensor name, in the order `next()` gives them.
    public let names: [String]
    private let recipe: MergeRecipe
    private let models: [TensorSource]
    private let base: TensorSource?
    private let layers: Int
    private let shapes: [[Int]]
    /// Per set: one input buffer per model (and the base, last), then the output buffer.
    private let sets: [[ReusableBuffer]]
    private var position = 0
    private let finished = DispatchSemaphore(value: 0)
    private var pending: Result<Merged, Error>?
    private var working = false
    private var failure: Error?

    /// - Throws: `MergeError` when the models' tensor names or shapes differ.
    public init(_ recipe: MergeRecipe, models: [TensorSource], base: TensorSource?, layers: Int) throws {
        names = try Merger.check(models: models, base: base)
        let reference = base ?? models[0]
        shapes = names.map { reference.shape(of: $0)! }
        self.recipe = recipe
        self.models = models
        self.base = base
        self.layers = layers
        sets = (0..<2).map { _ in (0...(models.count + 1)).map { _ in ReusableBuffer() } }
        if !names.isEmpty { startWorker(0) }
    }

    /// The next merged tensor, or nil after the last. After a failure every call throws
    /// the same error (no further tensor is merged).
    public func next() throws -> Merged? {
        if let failure { throw failure }
        guard position < names.count else { return nil }
        finished.wait()
        working = false
        let result = pending!
        pending = nil
        position += 1
        switch result {
        case .success(let merged):
            if position < names.count { startWorker(position) }
            return merged
        case .failure(let error):
            failure = error
            throw error
        }
    }

    private func startWorker(_ i: Int) {
        working = true
        let thread = Thread { [self] in
            pending = Result { try merge(i) }
            finished.signal()
        }
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Merges tensor i into set i % 2: reads every input, resolves the parameters for this
    /// tensor, runs the method with a random stream private to the tensor, checks the result.
    private func merge(_ i: Int) throws -> Merged {
        let name = names[i], shape = shapes[i], buffers = sets[i % 2]
        let (perModel, shared) = try recipe.resolve(tensor: name, layer: Merger.layerIndex(name), layers: layers)
        let sources = models + (base.map { [$0] } ?? [])
        var views: [UnsafeBufferPointer<Float>] = []
        defer { for source in sources.prefix(views.count) { source.release(name) } }
        for (k, source) in sources.enumerated() { views.append(try source.read(name, into: buffers[k])) }
        try FiniteChecks.checkInputs(views, labels: sources.map(\.label), tensor: name)
        let out = buffers.last!.floats(Tensor.elementCount(shape))
        var input = TensorMergeInput(
            name: name, shape: shape, models: Array(views.prefix(models.count)), base: base == nil ? nil : views.last,
            modelParams: perModel, params: shared, random: SeededRandom(seed: recipe.seed, stream: name))
        try recipe.method.merge(&input, out)
        // NaN/inf out of (checked) finite inputs is a merge error (e.g. weights summing to zero).
        if !Kernels.allFinite(UnsafeBufferPointer(out)) {
            throw MergeError(FiniteChecks.outputProblem(tensor: name, modelParams: perModel, params: shared))
        }
        return Merged(name: name, shape: shape, values: UnsafeBufferPointer(out))
    }

    deinit {
        // A caller that stops early (its write failed) must not free buffers the worker uses.
        if working { finished.wait() }
    }
}
