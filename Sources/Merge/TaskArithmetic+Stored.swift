import CMergeKernels
import Foundation
import Numerics
import Store

/// TIES (and task arithmetic) straight from the stored bytes, as linear and SLERP merge: the
/// C loops of `TaskVectorKernels.c` run over the mapped pieces on every compute thread, with
/// no widened Float32 block and no separate finiteness or rounding pass. Normally two passes:
/// pass 1 counts each thinned model's |δ| above a window of high-bit bins bracketed from a
/// sample and collects those inside it (every thinned model in one sweep, the base read
/// once), which decides `MagnitudeSelection`'s cut (its counts above and inside the window
/// are all its first pass would use); pass 2 is `TaskArithmetic.mix`'s vector loop (8 lanes,
/// or 16 on AVX-512 CPUs), rounded into the output. A window the sample misled costs a full
/// count and a collecting pass. The same bits as the widened merge
/// (`StoredTaskVectorMergeTests`, on both instances of the loops).
///
/// Taken only where those loops apply (this CPU has AVX2 + FMA; F32 or bf16 stored and out;
/// magnitude thinning or none, no rescale; at most 16 models; the cut's bin small enough to
/// collect); anything else — a crowded bin is found after pass 1 — returns nil before any
/// output is written, and the widened merge runs.
extension MergeStream {
    func mergeTaskVectorsFromStored(_ task: MergeTask, thinning: TaskArithmetic.Thinning, consensus: Bool,
                                    _ perModel: [[String: Double]], _ shared: [String: Double],
                                    _ sources: [RangeReadableTensorSource], count n: Int,
                                    into output: UnsafeMutableRawBufferPointer) throws -> Merged? {
        let m = task.models.count, name = task.name
        guard mergeKernelsAvailable, thinning != .random, task.base != nil, task.inputs.count == m + 1,
              (1...Int(MF_MAX_TASK_MODELS)).contains(m), task.intermediateDType == nil,
              let outputCode = task.outputDType.kernelCode, n > 0, n < Int(UInt32.max) else { return nil }
        var random = SeededRandom(seed: task.recipe.seed, stream: name)
        let plan = try TaskArithmetic.blockPlan(name: name, count: n, modelParams: perModel, params: shared,
                                                random: &random, thinning: thinning)
        guard plan.rescaled.isEmpty else { return nil }
        var selections = plan.selections
        let state = StoredTaskVectorPasses(selections: selections.count, memory: taskVectorPassMemory)
        if !selections.isEmpty {
            let models = selections.map(\.model)
            // A window of high-bit bins that should hold the cut, from a sample: pass 1 then
            // only counts what lies above it and collects what lies inside (vector work, no
            // histogram), and decides the cut when the sample did not mislead.
            let windows = try sampledWindows(models: models, ks: selections.map(\.selection.k), task, sources, count: n)
            // Pass 1: every input checked finite (thinning may drop a NaN, so the output check
            // would not see it).
            let unthinned = (0..<m).filter { !models.contains($0) }
            guard try countPass(task, perModel, shared, sources, n, state, check: unthinned, of: Array(models.indices),
                                models: models, windows: windows) else { return nil }
            var recount: [Int] = [], collect: [Int] = []
            for s in selections.indices {
                let selection = selections[s].selection
                if windows[s].low <= windows[s].high {
                    // The counts the cut is chosen from: the window's entries by bin, and
                    // everything above it in the bin after (none lies above bin 32 Ki − 1).
                    var bins = state.takeBins(of: s)
                    let above = state.above(selection: s)
                    if windows[s].high < (1 << 15) - 1 { bins[Int(windows[s].high) + 1] = UInt32(above) } else { precondition(above == 0) }
                    selection.addHighCounts(bins)
                    selection.endPass()
                    if let prefix = selection.collecting?.prefix, windows[s].low <= prefix, prefix <= windows[s].high {
                        state.candidates(of: s, prefix: prefix) { lows, indices in selection.addCandidates(lows: lows, indices: indices) }
                        selection.endPass()
                        continue
                    }
                    // Missed (or its bin is too crowded to collect): start over with every count.
                    state.forget(s)
                    selections[s].selection = MagnitudeSelection(count: n, k: selection.k)
                    recount.append(s)
                } else {
                    state.foldBins(into: selection, s)
                    selection.endPass()
                    collect.append(s)
                }
            }
            if !recount.isEmpty {
                let none = [(low: UInt32, high: UInt32)](repeating: (1, 0), count: recount.count)
                guard try countPass(task, perModel, shared, sources, n, state, check: [], of: recount,
                                    models: recount.map { models[$0] }, windows: none) else { return nil }
                for s in recount {
                    state.foldBins(into: selections[s].selection, s)
                    selections[s].selection.endPass()
                }
                collect += recount
            }
            // A bin too crowded to collect: the widened merge counts its low bits instead.
            guard collect.allSatisfy({ selections[$0].selection.collecting != nil }) else { return nil }
            // Pass 2, where pass 1 did not decide: the candidates of the cut's bin, collected as
            // pass 1 collects a window (one bin wide; what it counts above is not needed).
            if !collect.isEmpty {
                let prefixes = collect.map { selections[$0].selection.collecting!.prefix }
                guard try countPass(task, perModel, shared, sources, n, state, check: [], of: collect,
                                    models: collect.map { models[$0] }, windows: prefixes.map { ($0, $0) }) else { return nil }
                for (s, prefix) in zip(collect, prefixes) {
                    let selection = selections[s].selection
                    state.candidates(of: s, prefix: prefix) { lows, indices in selection.addCandidates(lows: lows, indices: indices) }
                    selection.endPass()
                }
            }
            precondition(selections.allSatisfy { $0.selection.isDone }, "a collected selection decides its cut")
        }
        var kept = plan.kept
        for (i, selection) in selections { kept[i] = selection.result }
        let thresholds = kept.map(\.threshold), tiesBefore = kept.map { UInt64(clamping: $0.tiesBefore) }
        let weights = plan.weights, sum = weights.reduce(0, +), total: Float = abs(sum) < 1e-8 ? 1 : sum
        let normalize: Int32 = shared["normalize"]! != 0 ? 1 : 0, lambda = Float(shared["lambda"]!)
        let checkInputs = selections.isEmpty, size = task.outputDType.size
        // Pass 3: the mix, rounded into `out`, which holds elements from `origin` on (inputs
        // checked here when pass 1 did not run).
        func mix(into out: SharedPointer<UInt8>, from origin: Int) -> @Sendable ([StoredElements], Range<Int>, Int) -> Bool {
            { stored, range, _ in
                guard let dtype = stored[0].dtype.kernelCode else { state.unsupported(); return true }
                if checkInputs {
                    for input in stored where !StoredTaskVectorPasses.allFinite(input.start, range.count, dtype) { return false }
                }
                var finite: Int32 = 0
                let starts = stored.prefix(m).map { Optional($0.start) }
                _ = starts.withUnsafeBufferPointer { xs in
                    mf_task_vector_mix(xs.baseAddress, Int32(m), stored[m].start, range.count, range.lowerBound, thresholds, tiesBefore,
                                       weights, consensus ? 1 : 0, normalize, total, lambda, dtype, outputCode,
                                       out.base + (range.lowerBound - origin) * size, &finite)
                }
                return finite == 1
            }
        }
        // Pass 1 has read every input's stored bytes and found them finite, so from here
        // nothing can send the tensor back to the widened merge: a large result may go to the
        // writer slice by slice as it is mixed.
        if let sliceBuffers, !selections.isEmpty, n * size > sliceBuffers.sliceBytes {
            let feed = OutputFeed(sliceBuffers, phase: task.outputPagePhase)
            handOver(Merged(name: name, shape: task.shape, values: nil, bytes: UnsafeRawBufferPointer(start: nil, count: 0), feed: feed))
            do {
                let window = sliceBuffers.sliceBytes / size
                for start in stride(from: 0, to: n, by: window) {
                    let part = start..<min(n, start + window)
                    guard let slice = feed.nextSlice(count: part.count * size) else { throw MergeError("tensor \(name): the writer stopped") }
                    let out = SharedPointer(slice.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    guard try mergeFromStored(task, perModel, shared, sources, n, elements: part, mix(into: out, from: start)),
                          !state.isUnsupported else {
                        throw MergeError("tensor \(name): its stored bytes could not be read as in the first pass")
                    }
                    feed.publish(slice)
                }
                feed.finish()
            } catch {
                feed.finish(error)
            }
            // Handed over already: the stream does not look at what is returned.
            return Merged(name: name, shape: task.shape, values: nil, bytes: UnsafeRawBufferPointer(start: nil, count: 0))
        }
        let out = SharedPointer(output.baseAddress!.assumingMemoryBound(to: UInt8.self))
        guard try mergeFromStored(task, perModel, shared, sources, n, mix(into: out, from: 0)), !state.isUnsupported else { return nil }
        return Merged(name: name, shape: task.shape, values: nil, bytes: UnsafeRawBufferPointer(rebasing: output[0..<(n * size)]))
    }

    /// A pass over the stored pieces: `check`'s inputs (models by index) checked finite, and
    /// for each selection in `of` (its model in `models`, its window in `windows`, same order),
    /// the model and the base checked finite, and either every high bit counted per thread
    /// (no window) or those above its window counted and those inside collected — in one
    /// sweep for every selection with a window. False when the inputs cannot give their
    /// stored bytes in a dtype the C loops take.
    private func countPass(_ task: MergeTask, _ perModel: [[String: Double]], _ shared: [String: Double],
                           _ sources: [RangeReadableTensorSource], _ n: Int, _ state: StoredTaskVectorPasses,
                           check: [Int], of selections: [Int], models: [Int], windows: [(low: UInt32, high: UInt32)]) throws -> Bool {
        let m = task.models.count
        let windowed = selections.indices.filter { windows[$0].low <= windows[$0].high }
        let lows = windowed.map { windows[$0].low }, highs = windowed.map { windows[$0].high }
        let windowedSelections = windowed.map { selections[$0] }, windowedModels = windowed.map { models[$0] }
        let binned = selections.indices.filter { windows[$0].low > windows[$0].high }
        return try mergeFromStored(task, perModel, shared, sources, n, { stored, range, worker in
            guard let dtype = stored[0].dtype.kernelCode else { state.unsupported(); return true }
            for i in check where !StoredTaskVectorPasses.allFinite(stored[i].start, range.count, dtype) { return false }
            var finite = true
            if !windowed.isEmpty {
                let xs: [UnsafeRawPointer?] = windowedModels.map { stored[$0].start }
                finite = state.collect(selections: windowedSelections, range: range, worker: worker) { bits, indices, found, above in
                    var allFinite: Int32 = 0
                    guard mf_delta_windows(xs, Int32(xs.count), stored[m].start, range.count, range.lowerBound, dtype, lows, highs,
                                           above, bits, indices, range.count, found, &allFinite) == 1 else { state.unsupported(); return true }
                    return allFinite == 1
                }
            }
            for e in binned {
                var allFinite: Int32 = 0
                _ = mf_delta_bins(stored[models[e]].start, stored[m].start, range.count, dtype,
                                  state.bins(worker: worker, selection: selections[e]), &allFinite)
                finite = finite && allFinite == 1
            }
            return finite
        }) && !state.isUnsupported
    }

    /// For each of `models` (its k in `ks`), high-bit bins [low, high] that hold the k-th
    /// largest |δ| with near certainty: the bins of the sample's order statistics 4 binomial
    /// standard deviations (+ 16) either side of its rank (as `Sparsify.sampledSelect`
    /// brackets it). Empty (low > high) for small tensors, when the inputs cannot give their
    /// stored bytes, or when the window would hold more than `windowLimit` entries. The
    /// sample is 256 runs of 256 neighbours spread evenly, each run read on its own (not a
    /// third pass over the inputs) — the base's once for every model — on every compute
    /// thread: a few hundred small reads per tensor, which on one thread were a tenth of a
    /// 1.1 B-parameter TIES merge's time with the other core idle. Only the sample's bins
    /// are needed, so it is counted (per thread, then added: the same counts), not sorted.
    private func sampledWindows(models: [Int], ks: [Int], _ task: MergeTask, _ sources: [RangeReadableTensorSource],
                                count n: Int) throws -> [(low: UInt32, high: UInt32)] {
        let none: (low: UInt32, high: UInt32) = (1, 0), runs = 256, run = 256, s = runs * run, m = task.models.count
        guard Sparsify.canSample(n), n >= 4 * s else { return models.map { _ in none } }
        let binCount = 1 << 15, workers = min(ComputeThreads.count, runs), stride = n / runs
        // Per worker, each model's bins.
        let counts = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: workers * models.count * binCount)
        counts.initialize(repeating: 0)
        defer { counts.deallocate() }
        let sample = SampleReads(sources: sources, names: task.inputs.map(\.name))
        let shared = SharedPointer(counts.baseAddress!)
        Parallel.forEach(workers) { w in
            let baseBuffer = ReusableBuffer(), xBuffer = ReusableBuffer()
            for r in Swift.stride(from: w, to: runs, by: workers) {
                let range = (r * stride)..<(r * stride + run)
                guard let base = sample.read(m, range, into: baseBuffer) else { return }
                for (e, model) in models.enumerated() {
                    guard let x = sample.read(model, range, into: xBuffer), base.dtype == x.dtype else { sample.fail(); return }
                    let bins = shared.base + (w * models.count + e) * binCount
                    for j in 0..<run {
                        let d = x.dtype.load(x.start, j) - base.dtype.load(base.start, j)
                        bins[Int((d.bitPattern & 0x7FFF_FFFF) >> 16)] &+= 1
                    }
                }
            }
        }
        if let failure = sample.error { throw failure }
        if sample.unreadable { return models.map { _ in none } }
        return models.indices.map { e in
            var bins = [Int](repeating: 0, count: binCount)
            for w in 0..<workers {
                let from = counts.baseAddress! + (w * models.count + e) * binCount
                for d in 0..<binCount where from[d] != 0 { bins[d] += Int(from[d]) }
            }
            return window(bins: bins, k: ks[e], count: n, sampled: s)
        }
    }

    /// The window of `sampledWindows` for one model, from its sample's bins.
    private func window(bins: [Int], k: Int, count n: Int, sampled s: Int) -> (low: UInt32, high: UInt32) {
        let none: (low: UInt32, high: UInt32) = (1, 0)
        // Ascending ranks of the window's ends; the bins holding them, found from the bottom.
        let p = Double(k) / Double(n), center = Double(n - k) / Double(n) * Double(s)
        let margin = 4 * (Double(s) * p * (1 - p)).squareRoot() + 16
        let lowRank = max(0, Int(center - margin)), highRank = min(s - 1, Int((center + margin).rounded(.up)))
        var below = 0, low = -1, high = -1
        for d in bins.indices where bins[d] > 0 {
            if low < 0 && below + bins[d] > lowRank { low = d }
            if below + bins[d] > highRank { high = d; break }
            below += bins[d]
        }
        guard low >= 0, high >= low else { return none }
        let inside = bins[low...high].reduce(0, +)
        return Double(inside) / Double(s) * Double(n) > Double(StoredTaskVectorPasses.windowLimit) ? none : (UInt32(low), UInt32(high))
    }
}

/// The sample's reads from every compute thread: the first error, or whether some input
/// could not give its stored bytes (then no window).
private final class SampleReads: @unchecked Sendable {
    let sources: [RangeReadableTensorSource]
    let names: [String]
    private let lock = NSLock()
    private(set) var error: Error?
    private(set) var unreadable = false

    init(sources: [RangeReadableTensorSource], names: [String]) {
        self.sources = sources
        self.names = names
    }

    /// Input `input`'s stored elements `range`, or nil (the sample then fails).
    func read(_ input: Int, _ range: Range<Int>, into buffer: ReusableBuffer) -> StoredElements? {
        do {
            if let stored = try sources[input].stored(names[input], elements: range, into: buffer) { return stored }
            fail()
        } catch {
            lock.lock(); self.error = self.error ?? error; lock.unlock()
        }
        return nil
    }

    func fail() { lock.lock(); unreadable = true; lock.unlock() }
}

private extension DType {
    /// Element j of this dtype's little-endian elements at p, as Float32 (F32 or BF16).
    func load(_ p: UnsafeRawPointer, _ j: Int) -> Float {
        self == .bf16 ? BF16Lanes.load1(p, j) : F32Lanes.load1(p, j)
    }
}

/// What the passes of `mergeTaskVectorsFromStored` share across compute threads: per-thread
/// counters (each thread writes only its own), the candidates found per piece (behind a
/// lock), and whether a piece came in a dtype the C loops do not take.
private final class StoredTaskVectorPasses: @unchecked Sendable {
    private let selections: Int
    private let counters: UnsafeMutableBufferPointer<UInt32>
    private let lock = NSLock()
    /// Entries collected per selection, by the first index of their piece.
    private var collected: [[Int: (bits: [UInt32], indices: [UInt32])]]
    /// Per thread and selection, room for one piece's collected bits and indices (pages are
    /// touched only as far as entries are found).
    private let scratchBuffers: UnsafeMutableBufferPointer<UInt32>
    /// The most entries a window may be expected to hold (8 bytes each).
    static let windowLimit = 1 << 23
    private var unsupportedSeen = false

    /// Carves the per-thread arrays out of `memory` (the stream's, reused from tensor to
    /// tensor: their pages are mapped and zeroed by the kernel once, not once per tensor).
    init(selections: Int, memory: ReusableBuffer) {
        self.selections = selections
        let slots = max(1, ComputeThreads.count * selections)
        func rounded(_ bytes: Int) -> Int { (bytes + 63) / 64 * 64 }
        let counterBytes = rounded(slots << 17), aboveBytes = rounded(slots * 8)
        let floats = memory.floats((counterBytes + aboveBytes + slots * 2 * BlockedMerge.pieceElements * 4) / 4)
        let base = UnsafeMutableRawPointer(floats.baseAddress!)
        counters = UnsafeMutableBufferPointer(start: base.bindMemory(to: UInt32.self, capacity: slots << 15), count: slots << 15)
        counters.update(repeating: 0)
        aboveCounts = UnsafeMutableBufferPointer(start: (base + counterBytes).bindMemory(to: UInt64.self, capacity: slots), count: slots)
        aboveCounts.update(repeating: 0)
        collected = Array(repeating: [:], count: selections)
        let scratch = slots * 2 * BlockedMerge.pieceElements
        scratchBuffers = UnsafeMutableBufferPointer(start: (base + counterBytes + aboveBytes).bindMemory(to: UInt32.self, capacity: scratch),
                                                    count: scratch)
    }

    /// Per thread and selection: entries above the window.
    private let aboveCounts: UnsafeMutableBufferPointer<UInt64>

    func addAbove(_ n: UInt64, worker: Int, selection s: Int) { aboveCounts[worker * selections + s] += n }

    /// Selection `s`'s entries above its window, over every thread.
    func above(selection s: Int) -> UInt64 {
        (0..<ComputeThreads.count).reduce(0) { $0 + aboveCounts[$1 * selections + s] }
    }

    /// Adds every thread's counters of selection `s` to it, and zeroes them.
    func foldBins(into selection: MagnitudeSelection, _ s: Int) {
        for worker in 0..<ComputeThreads.count {
            let bins = self.bins(worker: worker, selection: s)
            selection.addHighCounts(bins)
            bins.update(repeating: 0, count: 1 << 15)
        }
    }

    /// Every thread's counters of selection `s`, summed; the counters zeroed.
    func takeBins(of s: Int) -> [UInt32] {
        var sum = [UInt32](repeating: 0, count: 1 << 15)
        for worker in 0..<ComputeThreads.count {
            let bins = self.bins(worker: worker, selection: s)
            for d in 0..<(1 << 15) { sum[d] += bins[d] }
            bins.update(repeating: 0, count: 1 << 15)
        }
        return sum
    }

    /// Thread `worker`'s 32 Ki counters for selection `s`: the high bits of every |δ| in a
    /// pass without a window; of the entries collected inside a window otherwise (counted
    /// by `collect`, on the thread that found them).
    func bins(worker: Int, selection s: Int) -> UnsafeMutablePointer<UInt32> {
        counters.baseAddress! + ((worker * selections + s) << 15)
    }

    func unsupported() {
        lock.lock(); defer { lock.unlock() }
        unsupportedSeen = true
    }

    var isUnsupported: Bool {
        lock.lock(); defer { lock.unlock() }
        return unsupportedSeen
    }

    /// Runs `body` on thread `worker`'s scratch buffers for `selections` (bits and indices,
    /// room for a piece each; how many it found, and how many above the window, per
    /// selection) and keeps what it found as those selections' entries of piece `range`.
    /// Returns what `body` returns (whether the piece's inputs were finite).
    func collect(selections chosen: [Int], range: Range<Int>, worker: Int,
                 _ body: ([UnsafeMutablePointer<UInt32>?], [UnsafeMutablePointer<UInt32>?], UnsafeMutablePointer<Int>, UnsafeMutablePointer<UInt64>) -> Bool) -> Bool {
        precondition(range.count <= BlockedMerge.pieceElements)
        let bits = chosen.map { Optional(scratch(worker: worker, selection: $0)) }
        let indices = chosen.map { Optional(scratch(worker: worker, selection: $0) + BlockedMerge.pieceElements) }
        var found = [Int](repeating: 0, count: chosen.count), above = [UInt64](repeating: 0, count: chosen.count)
        let finite = body(bits, indices, &found, &above)
        var kept: [(s: Int, bits: [UInt32], indices: [UInt32])] = []
        for (e, s) in chosen.enumerated() {
            addAbove(above[e], worker: worker, selection: s)
            precondition(found[e] <= range.count)
            guard found[e] > 0 else { continue }
            let counts = self.bins(worker: worker, selection: s)
            for b in UnsafeBufferPointer(start: bits[e], count: found[e]) { counts[Int(b >> 16)] += 1 }
            kept.append((s, Array(UnsafeBufferPointer(start: bits[e], count: found[e])),
                            Array(UnsafeBufferPointer(start: indices[e], count: found[e]))))
        }
        lock.lock(); defer { lock.unlock() }
        for entry in kept { collected[entry.s][range.lowerBound] = (entry.bits, entry.indices) }
        return finite
    }

    /// Thread `worker`'s scratch for selection `s`: a piece's bits, then a piece's indices.
    private func scratch(worker: Int, selection s: Int) -> UnsafeMutablePointer<UInt32> {
        scratchBuffers.baseAddress! + (worker * selections + s) * 2 * BlockedMerge.pieceElements
    }

    /// Selection `s`'s entries whose high bits are `prefix`, piece by piece in index order, as
    /// (low 16 bits, index); then forgets them. The pieces are filtered on every compute
    /// thread (this runs between the passes, with nothing else to do), then handed over in
    /// order.
    func candidates(of s: Int, prefix: UInt32, _ body: (UnsafeBufferPointer<UInt16>, UnsafeBufferPointer<UInt32>) -> Void) {
        let pieces = collected[s].sorted { $0.key < $1.key }.map(\.value)
        let filtered = UnsafeMutableBufferPointer<(lows: [UInt16], at: [UInt32])>.allocate(capacity: max(1, pieces.count))
        filtered.initialize(repeating: ([], []))
        defer { filtered.deinitialize(); filtered.deallocate() }
        let out = SharedPointer(filtered.baseAddress!), threads = ComputeThreads.count
        Parallel.forEach(min(threads, pieces.count)) { worker in
            for p in stride(from: worker, to: pieces.count, by: threads) {
                let (bits, indices) = pieces[p]
                var lows = [UInt16](repeating: 0, count: bits.count), at = [UInt32](repeating: 0, count: bits.count)
                var n = 0
                bits.withUnsafeBufferPointer { bits in
                    indices.withUnsafeBufferPointer { indices in
                        lows.withUnsafeMutableBufferPointer { lows in
                            at.withUnsafeMutableBufferPointer { at in
                                // Every entry written, kept by advancing past it: which entries
                                // hold the prefix is data a branch would mispredict.
                                for e in 0..<bits.count {
                                    lows[n] = UInt16(truncatingIfNeeded: bits[e]); at[n] = indices[e]
                                    n &+= bits[e] >> 16 == prefix ? 1 : 0
                                }
                            }
                        }
                    }
                }
                lows.removeLast(bits.count - n); at.removeLast(bits.count - n)
                out.base[p] = (lows, at)
            }
        }
        forget(s)
        for (lows, at) in filtered {
            lows.withUnsafeBufferPointer { lows in at.withUnsafeBufferPointer { at in body(lows, at) } }
        }
    }

    func forget(_ s: Int) { collected[s] = [:] }

    static func allFinite(_ p: UnsafeRawPointer, _ count: Int, _ dtype: Int32) -> Bool {
        var finite: Int32 = 0
        return mf_stored_all_finite(p, count, dtype, &finite) == 1 && finite == 1
    }
}
