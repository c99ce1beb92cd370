import Foundation
import Numerics
import Store

/// Merging a tensor a block at a time, for the methods where that gives the same result:
/// `linear` and `passthrough` (element j of the output depends only on element j of each
/// input), `slerp` (a first pass over the blocks takes the dot product and both norms,
/// a second combines) and the task-vector methods that thin by magnitude, at random or not
/// at all (`TaskArithmetic.blockedVariants`: TIES finds its cut in passes over the blocks,
/// DARE draws its mask first). A 1.1 B-parameter bf16 merge then holds the output in bf16
/// and a few 4 MB blocks instead of every input widened to Float32 (2 × 4 × 262 MB for the
/// embedding of a three-model linear merge). Linear, SLERP and TIES read the stored bytes
/// themselves instead (`mergeFromStored`): one pass per piece from its stored bytes (read
/// into a per-thread buffer) to the output dtype, no widened block at all. Methods that rank
/// whole tensors or rows (breadcrumbs, DELLA) and the others are merged whole.
enum BlockedMerge {
    /// Elements per block (4 MB of Float32 per input).
    static let blockElements = 1 << 20
    /// Elements per piece a compute thread merges from stored bytes (512 KB of bf16 per
    /// input: a three-model piece and its output fit a core's 2 MB L2).
    static let pieceElements = 1 << 18
    static let elementwise: Set<String> = ["linear", "passthrough"]
    /// Whether `x` holds no NaN or infinity, from the bits: |x|'s pattern + 2²³ sets the sign
    /// bit exactly when the exponent is all ones. Integer lanes, several times faster than
    /// `Kernels.allFinite`'s Double sum, for checking input blocks.
    static func allFinite(_ x: UnsafeBufferPointer<Float>) -> Bool {
        guard let base = x.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var lanes = SIMD8<Int32>(), tail: Int32 = 0
        var j = 0
        while j + 8 <= x.count {
            lanes |= (raw.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Int32>.self) & 0x7FFF_FFFF) &+ 0x0080_0000
            j += 8
        }
        while j < x.count {
            tail |= (Int32(bitPattern: base[j].bitPattern) & 0x7FFF_FFFF) &+ 0x0080_0000
            j += 1
        }
        return lanes & Int32.min == SIMD8<Int32>() && tail >= 0
    }

    static func applies(to method: String) -> Bool {
        elementwise.contains(method) || method == "slerp" || TaskArithmetic.blockedVariants[method] != nil
    }
}

extension MergeStream {
    /// Rounds `values` to the task's output dtype (through its intermediate dtype first, if
    /// any) at `out`.
    static func round(_ values: UnsafeBufferPointer<Float>, _ task: MergeTask, into out: UnsafeMutableRawPointer) {
        guard let intermediate = task.intermediateDType, let base = values.baseAddress else {
            if let base = values.baseAddress { task.outputDType.narrow(base, count: values.count, into: out) }
            return
        }
        // Two roundings, as mergekit: a small scratch block at a time.
        var scratch = [Float](repeating: 0, count: min(values.count, 1 << 16))
        var start = 0
        while start < values.count {
            let n = min(scratch.count, values.count - start)
            for j in 0..<n { scratch[j] = intermediate.rounded(base[start + j]) }
            scratch.withUnsafeBufferPointer { task.outputDType.narrow($0.baseAddress!, count: n, into: out + start * task.outputDType.size) }
            start += n
        }
    }

    /// Tensor i merged block by block into set i % 2, or nil when its method or inputs do
    /// not allow it.
    func mergeInBlocks(_ i: Int) throws -> Merged? {
        let task = tasks[i], name = task.name, buffers = sets[i % 2]
        let method = task.recipe.method.name
        guard BlockedMerge.applies(to: method) else { return nil }
        let sources = task.inputs.compactMap { $0.source as? RangeReadableTensorSource }
        guard sources.count == task.inputs.count else { return nil }
        let n = Tensor.elementCount(task.shape)
        let (perModel, shared) = try task.recipe.resolve(tensor: name, layer: task.layer, layers: task.layers)
        let inputs = task.inputs
        let size = task.outputDType.size
        let output = MergeStream.outputBytes(n * size, phase: task.outputPagePhase, in: buffers.last!)
        let blockOut = buffers[buffers.count - 2].floats(min(n, BlockedMerge.blockElements))

        /// Reads block `range` of every input, calls `body` with the views, releases them.
        func withBlock<T>(_ range: Range<Int>, _ body: ([UnsafeBufferPointer<Float>]) throws -> T) throws -> T {
            var views: [UnsafeBufferPointer<Float>] = []
            defer { for (k, input) in inputs.prefix(views.count).enumerated() { sources[k].release(input.name, elements: range) } }
            for (k, input) in inputs.enumerated() { views.append(try sources[k].read(input.name, elements: range, into: buffers[k])) }
            return try body(views)
        }
        let blocks = stride(from: 0, to: n, by: BlockedMerge.blockElements).map { $0..<min(n, $0 + BlockedMerge.blockElements) }
        // Linear in one pass from the stored bytes (`Linear.fusedWeightedSum(stored:…)`).
        if method == "linear", task.intermediateDType == nil {
            let (weights, divisor) = try Linear.coefficients(tensor: name, modelParams: Array(perModel.prefix(inputs.count)),
                                                             params: shared)
            let outputDType = task.outputDType, out = SharedPointer(output.baseAddress!.assumingMemoryBound(to: UInt8.self))
            if weights.count == inputs.count, try mergeFromStored(task, perModel, shared, sources, n, { stored, range in
                Linear.fusedWeightedSum(stored: stored, count: range.count, weights: weights,
                                        divisor: divisor, output: outputDType, into: out.base + range.lowerBound * size)
            }) {
                return Merged(name: name, shape: task.shape, values: nil,
                              bytes: UnsafeRawBufferPointer(rebasing: output[0..<(n * size)]))
            }
        }
        if let variant = TaskArithmetic.blockedVariants[method] {
            // From the stored bytes where the C loops apply (`TaskArithmetic+Stored`).
            if let merged = try mergeTaskVectorsFromStored(task, thinning: variant.thinning, consensus: variant.consensus,
                                                           perModel, shared, sources, count: n, into: output) {
                return merged
            }
            // Thinning can drop a NaN or infinity, so the output check does not cover the
            // inputs: every block is checked on the first sweep (a pass over cached memory).
            var checked = false
            func sweep(_ body: (Range<Int>, [UnsafeBufferPointer<Float>]) throws -> Bool) throws {
                for range in blocks {
                    let more = try withBlock(range) { views in
                        if !checked {
                            for (k, view) in views.enumerated() where !BlockedMerge.allFinite(view) {
                                try sources[k].checkFinite(inputs[k].name)
                                try FiniteChecks.checkInputs([view], labels: [inputs[k].source.label], tensor: name)
                            }
                        }
                        return try body(range, views)
                    }
                    if !more { return }
                }
                checked = true
            }
            var random = SeededRandom(seed: task.recipe.seed, stream: name)
            try TaskArithmetic.mergeInBlocks(
                name: name, count: n, modelParams: perModel, params: shared, random: &random, thinning: variant.thinning,
                consensus: variant.consensus, sweep: sweep, scratch: blockOut
            ) { range, out in
                if !Kernels.allFinite(UnsafeBufferPointer(out)) {
                    throw MergeError(FiniteChecks.outputProblem(tensor: name, modelParams: perModel, params: shared))
                }
                MergeStream.round(UnsafeBufferPointer(out), task, into: output.baseAddress! + range.lowerBound * size)
            }
            return Merged(name: name, shape: task.shape, values: nil,
                          bytes: UnsafeRawBufferPointer(rebasing: output[0..<(n * size)]))
        }
        var slerp: (lerp: Bool, s0: Double, s1: Double)?
        if method == "slerp" {
            // Pass 1: the dot product and both squared norms over the whole tensor, summed
            // per block of `blockElements` as `Kernels.dotAndSquares` sums (base is last).
            var dot = 0.0, s00 = 0.0, s11 = 0.0
            let reduction = Kernels.reductionBlock, perBlock = BlockedMerge.blockElements / reduction
            var partials = [Double](repeating: 0, count: 3 * ((n + reduction - 1) / reduction))
            let summed = try task.intermediateDType == nil && partials.withUnsafeMutableBufferPointer { p in
                let ps = SharedPointer(p.baseAddress!)
                return try mergeFromStored(task, perModel, shared, sources, n) { stored, range in
                    Slerp.partialDotAndSquares(stored: stored[1], stored[0], range: range, into: ps.base)
                    return true
                }
            }
            if summed {
                for (k, range) in blocks.enumerated() {
                    var xy = 0.0, xx = 0.0, yy = 0.0
                    for b in (k * perBlock)..<(k * perBlock + (range.count + reduction - 1) / reduction) {
                        xy += partials[3 * b]; xx += partials[3 * b + 1]; yy += partials[3 * b + 2]
                    }
                    dot += xy; s00 += xx; s11 += yy
                }
            } else {
                for range in blocks {
                    try withBlock(range) { views in
                        let (xy, xx, yy) = Kernels.dotAndSquares(views[1], views[0])
                        dot += xy; s00 += xx; s11 += yy
                    }
                }
            }
            let c = Slerp.coefficients(dot: dot, s00: s00, s11: s11, t: shared["t"]!)
            slerp = c
            // Pass 2 from the stored bytes (`Slerp.combine(stored:…)`): base first.
            let t = shared["t"]!, outputDType = task.outputDType, out = SharedPointer(output.baseAddress!.assumingMemoryBound(to: UInt8.self))
            if summed, try mergeFromStored(task, perModel, shared, sources, n, { stored, range in
                Slerp.combine(stored: stored[1], stored[0], c, t: t, count: range.count, output: outputDType, into: out.base + range.lowerBound * size)
            }) {
                return Merged(name: name, shape: task.shape, values: nil,
                              bytes: UnsafeRawBufferPointer(rebasing: output[0..<(n * size)]))
            }
        }
        for range in blocks {
            try withBlock(range) { views in
                let out = UnsafeMutableBufferPointer(rebasing: blockOut[0..<range.count])
                if let c = slerp {
                    Slerp.combine(views[1], views[0], c, t: shared["t"]!, into: out)
                } else {
                    var input = TensorMergeInput(
                        name: name, shape: [range.count], models: Array(views.prefix(task.models.count)),
                        base: task.base == nil ? nil : views.last, modelParams: perModel, params: shared,
                        random: SeededRandom(seed: task.recipe.seed, stream: name))
                    try task.recipe.method.merge(&input, out)
                }
                // A NaN or infinity in an input always reaches the output of these methods
                // (every input enters every output element with a factor), so the output
                // check covers the inputs; only then is the culprit looked for.
                if !Kernels.allFinite(UnsafeBufferPointer(out)) {
                    for (k, input) in inputs.enumerated() { try sources[k].checkFinite(input.name) }
                    throw MergeError(FiniteChecks.outputProblem(tensor: name, modelParams: perModel, params: shared))
                }
                MergeStream.round(UnsafeBufferPointer(out), task, into: output.baseAddress! + range.lowerBound * size)
            }
        }
        return Merged(name: name, shape: task.shape, values: nil,
                      bytes: UnsafeRawBufferPointer(rebasing: output[0..<(n * size)]))
    }

    /// A pass over the inputs' stored bytes, a piece at a time on every compute thread: each
    /// thread maps its piece of every input in, runs `kernel` (the pieces in input order and
    /// their range of elements; false when a result is not finite) and lets the
    /// piece go, taking the next piece when done, so a
    /// thread slowed by the writer or another process does not hold the others at a barrier.
    /// False, with nothing to keep, when an input cannot give its stored bytes (values
    /// rounded to a compute dtype) or the dtypes differ: the caller then merges from
    /// widened blocks.
    func mergeFromStored(_ task: MergeTask, _ perModel: [[String: Double]], _ shared: [String: Double],
                         _ sources: [RangeReadableTensorSource], _ n: Int,
                         _ kernel: @escaping @Sendable ([StoredElements], Range<Int>) -> Bool) throws -> Bool {
        try mergeFromStored(task, perModel, shared, sources, n) { stored, range, _ in kernel(stored, range) }
    }

    /// `mergeFromStored` whose kernel is also told which compute thread runs it (0 ..<
    /// `ComputeThreads.count`), for per-thread accumulators.
    /// `elements`, when given, limits the pass to that part of the tensor (whole pieces from
    /// its start).
    func mergeFromStored(_ task: MergeTask, _ perModel: [[String: Double]], _ shared: [String: Double],
                         _ sources: [RangeReadableTensorSource], _ n: Int, elements part: Range<Int>? = nil,
                         _ kernel: @escaping @Sendable ([StoredElements], Range<Int>, _ worker: Int) -> Bool) throws -> Bool {
        let inputs = task.inputs
        let part = part ?? 0..<n
        guard n > 0, !part.isEmpty else { return false }
        let pieces = (part.count + BlockedMerge.pieceElements - 1) / BlockedMerge.pieceElements
        let work = StoredPieces(sources: sources, names: inputs.map(\.name), pieces: pieces)
        let buffers = (0..<min(ComputeThreads.count, pieces)).map { storedPieceBuffers.buffers(worker: $0, inputs: inputs.count) }
        Parallel.forEach(buffers.count) { worker in
            while let p = work.claim() {
                let start = part.lowerBound + p * BlockedMerge.pieceElements
                let range = start..<min(part.upperBound, start + BlockedMerge.pieceElements)
                guard let stored = work.read(range, into: buffers[worker]) else { return }
                if !kernel(stored, range, worker) {
                    work.stop(nonFinite: true)
                }
            }
        }
        if let error = work.error { throw error }
        if work.unavailable { return false }
        // As the widened path: a NaN or infinity in an input always reaches the output of
        // linear and SLERP, so only a non-finite output sends us looking for the culprit.
        if work.nonFinite {
            for (k, input) in inputs.enumerated() { try sources[k].checkFinite(input.name) }
            throw MergeError(FiniteChecks.outputProblem(tensor: task.name, modelParams: perModel, params: shared))
        }
        return true
    }
}

/// The pieces of one tensor handed out to compute threads, in order, with what stopped
/// them. `@unchecked Sendable`: every mutable field is behind `lock`; the sources are read
/// concurrently only through calls that are safe to make from several threads (`pread`,
/// `fstat` and lookups in an immutable table).
private final class StoredPieces: @unchecked Sendable {
    let sources: [RangeReadableTensorSource]
    let names: [String]
    let pieces: Int
    private let lock = NSLock()
    private var next = 0
    private var stopped = false
    private(set) var error: Error?
    private(set) var unavailable = false
    private(set) var nonFinite = false

    init(sources: [RangeReadableTensorSource], names: [String], pieces: Int) {
        self.sources = sources
        self.names = names
        self.pieces = pieces
    }

    /// The next piece to merge, or nil when all are taken or the merge stopped.
    func claim() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped, next < pieces else { return nil }
        next += 1
        return next - 1
    }

    func stop(nonFinite: Bool = false, unavailable: Bool = false, error: Error? = nil) {
        lock.lock()
        defer { lock.unlock() }
        stopped = true
        self.nonFinite = self.nonFinite || nonFinite
        self.unavailable = self.unavailable || unavailable
        if self.error == nil { self.error = error }
    }

    /// Every input's elements `range` as stored, read into `buffers` (one per input), or nil
    /// (having stopped the merge) when one cannot give them or their dtypes differ.
    func read(_ range: Range<Int>, into buffers: [ReusableBuffer]) -> [StoredElements]? {
        var stored: [StoredElements] = []
        do {
            for (k, name) in names.enumerated() {
                guard let block = try sources[k].stored(name, elements: range, into: buffers[k]) else { break }
                stored.append(block)
            }
        } catch {
            stop(error: error)
            return nil
        }
        // Inputs of different dtypes (possible outside `merge --direct`) go the widened way.
        if stored.count == names.count, stored.allSatisfy({ $0.dtype == stored[0].dtype }) { return stored }
        stop(unavailable: true)
        return nil
    }
}

/// Per compute thread, one buffer per input for the stored bytes of the piece it merges:
/// reused from piece to piece and tensor to tensor, so they stay resident (and in cache)
/// instead of being mapped and zeroed again.
final class StoredPieceBuffers: @unchecked Sendable {
    private let lock = NSLock()
    private var perWorker: [[ReusableBuffer]] = []

    func buffers(worker: Int, inputs: Int) -> [ReusableBuffer] {
        lock.lock(); defer { lock.unlock() }
        while perWorker.count <= worker { perWorker.append([]) }
        while perWorker[worker].count < inputs { perWorker[worker].append(ReusableBuffer()) }
        return Array(perWorker[worker].prefix(inputs))
    }
}
