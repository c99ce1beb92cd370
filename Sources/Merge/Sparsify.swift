import Numerics

/// Which entries of a delta δ = x − base survive thinning: those whose |δ| is above a
/// threshold (magnitude thinning, decided on the fly from x and the base, nothing stored),
/// or those set in a bit mask (the random and rank-based thinnings).
struct Kept: Sendable {
    /// |δ| bit patterns above this are kept, and those equal to it at indices below
    /// `tiesBefore`. (0 and Int.max: everything.)
    var threshold: UInt32 = 0
    var tiesBefore = Int.max
    /// One bit per entry, when set: takes precedence over the threshold.
    var mask: [UInt64]? = nil

    static let all = Kept()

    /// Whether entry j, whose delta is d, is kept.
    @inline(__always)
    static func keeps(_ j: Int, _ d: Float, threshold: UInt32, tiesBefore: Int, mask: UnsafePointer<UInt64>?) -> Bool {
        if let mask { return mask[j >> 6] >> UInt64(j & 63) & 1 != 0 }
        let bits = d.bitPattern & 0x7FFF_FFFF
        return bits > threshold || (bits == threshold && j < tiesBefore)
    }

    /// A mask of the entries of a thinned delta that are still non-zero (an entry whose
    /// delta was zero contributes nothing either way).
    static func nonZero(_ thinned: [Float]) -> Kept {
        var words = [UInt64](repeating: 0, count: (thinned.count + 63) / 64)
        for (j, v) in thinned.enumerated() where v != 0 { words[j >> 6] |= 1 << UInt64(j & 63) }
        return Kept(mask: words)
    }
}

/// The ways the task-vector methods thin a delta before mixing (mergekit's `sparsify.py`).
enum Sparsify {
    /// magnitude (TIES): keep the k = max(1, ⌊density·n⌋) entries of largest |x − base|.
    ///
    /// The k-th largest magnitude is selected over the bit patterns (see
    /// `kthLargestMagnitude`; no sort, no delta stored); entries equal to it are kept in
    /// index order until k are kept (torch's argsort leaves the order of ties unspecified).
    static func magnitude(_ x: UnsafeBufferPointer<Float>, minus base: UnsafeBufferPointer<Float>, density: Double) -> Kept {
        let n = x.count
        guard density < 1, n > 0 else { return .all }
        let k = max(1, Int(density * Double(n)))
        if k >= n { return .all }
        let deltas = DeltaMagnitudes(x: SharedFloats(x), base: SharedFloats(base))
        if canSample(n), let cut = sampledSelect(deltas, k) {
            return Kept(threshold: cut.bits, tiesBefore: cut.tiesBefore)
        }
        let (threshold, greater, equal) = radixSelect(deltas, k)
        let ties = k - greater
        guard equal > ties else { return Kept(threshold: threshold) }
        // More entries tie at the threshold than are needed: keep the first `ties` of them.
        let chunks = chunkRanges(n)
        let counts = Counts(chunks.count)
        let xs = SharedFloats(x), bs = SharedFloats(base)
        Parallel.forEach(chunks.count) { c in
            var found = 0
            for j in chunks[c] where (xs.base[j] - bs.base[j]).bitPattern & 0x7FFF_FFFF == threshold { found += 1 }
            counts.set(c, found)
        }
        var remaining = ties  // still to keep, in index order
        for (c, chunk) in chunks.enumerated() {
            if counts.get(c) <= remaining { remaining -= counts.get(c); continue }  // all of this chunk's ties kept
            for j in chunk where (x[j] - base[j]).bitPattern & 0x7FFF_FFFF == threshold {
                if remaining == 0 { return Kept(threshold: threshold, tiesBefore: j) }
                remaining -= 1
            }
        }
        return Kept(threshold: threshold)
    }

    /// One contiguous range per thread (fixed by the thread budget, so results that depend
    /// on the split — none here — could not vary).
    static func chunkRanges(_ n: Int) -> [Range<Int>] {
        let parts = max(1, min(ComputeThreads.count, n / (1 << 16)))
        let size = (n + parts - 1) / parts
        return (0..<parts).map { ($0 * size)..<min(n, ($0 + 1) * size) }.filter { !$0.isEmpty }
    }

    /// The bit pattern of the k-th largest |x − base| (1-based), how many entries are
    /// strictly larger, and how many equal it. For non-negative floats the bit patterns
    /// order like the values, so selection works on them as integers.
    ///
    /// Large tensors take one pass: a strided sample brackets the k-th largest in a narrow
    /// window, one pass counts the entries above it and collects those inside, and the
    /// answer is selected among the collected. If the window missed (a vanishingly rare
    /// sample) the two-pass radix selection over everything decides instead.
    static func kthLargestMagnitude(_ x: UnsafeBufferPointer<Float>, minus base: UnsafeBufferPointer<Float>, _ k: Int,
                                    sampling: Bool = true) -> (bits: UInt32, greater: Int, equal: Int) {
        let deltas = DeltaMagnitudes(x: SharedFloats(x), base: SharedFloats(base))
        if sampling && canSample(x.count), let found = sampledSelect(deltas, k) {
            return (found.bits, found.greater, found.equal)
        }
        return radixSelect(deltas, k)
    }

    /// Whether a tensor is large enough for a sample to pay (and small enough for the
    /// collected indices to fit UInt32).
    static func canSample(_ n: Int) -> Bool { n >= 1 << 16 && n < Int(UInt32.max) }

    /// The sample-bracketed pass of `kthLargestMagnitude`; nil when the window missed. It
    /// also gives the cut for ties: keeping the entries equal to the k-th largest only at
    /// indices below `tiesBefore` keeps exactly k (the collected entries carry their indices,
    /// so no further pass is needed). Indices fit UInt32: callers check `canSample`.
    static func sampledSelect(_ source: DeltaMagnitudes, _ k: Int) -> (bits: UInt32, greater: Int, equal: Int, tiesBefore: Int)? {
        let n = source.count, s = 1 << 14, step = n / s
        var sample = (0..<s).map { source.bits($0 * step) }
        // Ascending position of the k-th largest, and a margin of 4 binomial standard
        // deviations (+16) around it.
        let p = Double(k) / Double(n)
        let center = Double(n - k) / Double(n) * Double(s)
        let margin = 4 * (Double(s) * p * (1 - p)).squareRoot() + 16
        let low = Int(center - margin), high = Int((center + margin).rounded(.up))
        let (lo, hi): (UInt32, UInt32) = sample.withUnsafeMutableBufferPointer { b in
            let stored = StoredBits(base: UnsafePointer(b.baseAddress!), count: s)
            return (low <= 0 ? 0 : radixSelect(stored, s - low).bits, high >= s - 1 ? .max : radixSelect(stored, s - high).bits)
        }
        sample = []
        // One pass: count above the window, collect inside it (branch-free appends).
        let chunks = chunkRanges(n)
        let fraction = Double(max(high, 0) - max(low, 0) + 1) / Double(s)
        let capacity = Int(Double(chunks.map(\.count).max()!) * min(1, 2 * fraction)) + 1024
        let collected = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: chunks.count * (capacity + 1))
        let indices = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: chunks.count * (capacity + 1))
        defer { collected.deallocate(); indices.deallocate() }
        let store = SharedPointer(collected.baseAddress!), indexStore = SharedPointer(indices.baseAddress!)
        let counts = Counts(2 * chunks.count)
        // Magnitudes and the window as Int32 (sign bit clear), so lane masks are shifts.
        let (lo32, hi32) = (Int32(lo), Int32(min(hi, 0x7FFF_FFFF)))
        Parallel.forEach(chunks.count) { c in
            let out = store.base + c * (capacity + 1), at = indexStore.base + c * (capacity + 1)
            var found = 0
            var above = SIMD8<Int32>()  // −1 per entry above the window
            let chunk = chunks[c]
            var j = chunk.lowerBound
            while j + 8 <= chunk.upperBound {
                let bits = source.bits8(j)
                above &+= (hi32 &- bits) &>> 31
                let inside = ~(((bits &- lo32) | (hi32 &- bits)) &>> 31)
                if inside != SIMD8<Int32>() {
                    for lane in 0..<8 where inside[lane] != 0 {
                        out[min(found, capacity)] = UInt32(bitPattern: bits[lane])
                        at[min(found, capacity)] = UInt32(truncatingIfNeeded: j + lane)
                        found += 1
                    }
                }
                j += 8
            }
            var greater = -Int(above.wrappedSum())
            while j < chunk.upperBound {
                let bits = source.bits(j)
                greater += bits > hi ? 1 : 0
                if bits >= lo && bits <= hi {
                    out[min(found, capacity)] = bits
                    at[min(found, capacity)] = UInt32(truncatingIfNeeded: j)
                    found += 1
                }
                j += 1
            }
            counts.set(2 * c, greater)
            counts.set(2 * c + 1, found)
        }
        var greater = 0, found = 0
        for c in chunks.indices {
            guard counts.get(2 * c + 1) <= capacity else { return nil }
            greater += counts.get(2 * c)
            // Pack the chunks' candidates together.
            if found != c * (capacity + 1) {
                (collected.baseAddress! + found).update(from: collected.baseAddress! + c * (capacity + 1), count: counts.get(2 * c + 1))
                (indices.baseAddress! + found).update(from: indices.baseAddress! + c * (capacity + 1), count: counts.get(2 * c + 1))
            }
            found += counts.get(2 * c + 1)
        }
        guard greater < k, k <= greater + found else { return nil }
        let inside = radixSelect(StoredBits(base: UnsafePointer(collected.baseAddress!), count: found), k - greater)
        // Collected entries are in index order; the first tie beyond those needed is the cut.
        var tiesBefore = Int.max, ties = k - greater - inside.greater
        if inside.equal > ties {
            for c in 0..<found where collected[c] == inside.bits {
                if ties == 0 { tiesBefore = Int(indices[c]); break }
                ties -= 1
            }
        }
        return (inside.bits, greater + inside.greater, inside.equal, tiesBefore)
    }

    /// Radix selection of the k-th largest bit pattern (magnitudes: the sign bit is clear).
    /// Large inputs go digit by digit over 15 then 16 bits, each digit from per-thread
    /// histograms; small ones (a sample, the collected window) over 11, 10 and 10 bits on
    /// one thread, so their histograms stay a few kilobytes instead of megabytes that the
    /// kernel would zero on every call.
    static func radixSelect<Source: MagnitudeBits>(_ source: Source, _ k: Int) -> (bits: UInt32, greater: Int, equal: Int) {
        let small = source.count < 1 << 20
        let chunks = small ? [0..<source.count] : chunkRanges(source.count)
        let passes: [(shift: UInt32, width: Int)] = small ? [(20, 11), (10, 10), (0, 10)] : [(16, 15), (0, 16)]
        var prefix: UInt32 = 0, prefixMask: UInt32 = 0, remaining = k, greater = 0, equal = 0
        for (shift, width) in passes {
            let digits = 1 << width, digitMask = UInt32(digits - 1)
            let (p, pm) = (prefix, prefixMask)
            // One histogram per chunk, summed afterwards (integer counts: order-free).
            let histograms = Counts(chunks.count * digits)
            let count: @Sendable (Int) -> Void = { c in
                var h = [UInt32](repeating: 0, count: digits)
                h.withUnsafeMutableBufferPointer { h in
                    for j in chunks[c] {
                        let bits = source.bits(j)
                        if bits & pm == p { h[Int((bits >> shift) & digitMask)] &+= 1 }
                    }
                }
                for dgt in 0..<digits where h[dgt] != 0 { histograms.set(c * digits + dgt, Int(h[dgt])) }
            }
            if small { count(0) } else { Parallel.forEach(chunks.count, count) }
            var summed = [Int](repeating: 0, count: digits)
            for c in 0..<chunks.count {
                for dgt in 0..<digits { summed[dgt] += histograms.get(c * digits + dgt) }
            }
            let (chosen, above, equalInDigit) = digit(holding: remaining, of: summed)
            equal = equalInDigit
            remaining -= above
            greater += above
            prefix |= UInt32(chosen) << shift
            prefixMask |= digitMask << shift
        }
        return (prefix, greater, equal)
    }

    /// The digit holding the r-th largest (1-based) of a histogram, how many lie above it and
    /// how many share it (shared by the whole-tensor and the blocked selection).
    static func digit(holding r: Int, of histogram: [Int]) -> (digit: Int, above: Int, equal: Int) {
        var above = 0
        for d in stride(from: histogram.count - 1, through: 0, by: -1) {
            if above + histogram[d] >= r { return (d, above, histogram[d]) }
            above += histogram[d]
        }
        return (0, above, 0)
    }

    /// random (DARE): keep each entry with probability `density` (one draw per entry, in
    /// index order).
    static func random(count n: Int, density: Double, random: inout SeededRandom) -> Kept {
        guard density < 1 else { return .all }
        var words = [UInt64](repeating: 0, count: (n + 63) / 64)
        for j in 0..<n where random.uniform() < density { words[j >> 6] |= 1 << UInt64(j & 63) }
        return Kept(mask: words)
    }

    /// (Σ |δ|, Σ over kept entries |δ|), δ = x − base, each summed in Double over fixed
    /// blocks (the same bits on any thread count).
    static func magnitudeSums(_ x: UnsafeBufferPointer<Float>, minus base: UnsafeBufferPointer<Float>, _ kept: Kept) -> (all: Double, kept: Double) {
        var sums = (all: 0.0, kept: 0.0)
        (kept.mask ?? []).withUnsafeBufferPointer { w in
            addMagnitudeSums(x, minus: base, offset: 0, kept, mask: kept.mask == nil ? nil : w.baseAddress, into: &sums)
        }
        return sums
    }

    /// Adds the sums of `magnitudeSums` over elements `offset ..< offset + x.count` of a tensor
    /// (x and base point at those; `kept` and `mask`, its words, describe the whole tensor).
    /// Called on consecutive blocks in index order, with `offset` a multiple of the reduction
    /// block, the totals are those of one call over the whole tensor, bit for bit.
    static func addMagnitudeSums(_ x: UnsafeBufferPointer<Float>, minus base: UnsafeBufferPointer<Float>, offset: Int, _ kept: Kept,
                                 mask: UnsafePointer<UInt64>?, into totals: inout (all: Double, kept: Double)) {
        let n = x.count, block = Kernels.reductionBlock
        precondition(offset % block == 0 && (mask == nil) == (kept.mask == nil))
        let blocks = max(1, (n + block - 1) / block)
        let sums = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2 * blocks)
        defer { sums.deallocate() }
        let xs = SharedFloats(x), bs = SharedFloats(base), out = SharedPointer(sums.baseAddress!)
        let words = mask.map { SharedPointer($0) }
        let (threshold, tiesBefore) = (kept.threshold, kept.tiesBefore)
        Parallel.forEach(blocks) { b in
            var all = 0.0, keptSum = 0.0
            for j in (b * block)..<min(n, (b + 1) * block) {
                let d = xs.base[j] - bs.base[j]
                all += Double(abs(d))
                if Kept.keeps(offset + j, d, threshold: threshold, tiesBefore: tiesBefore, mask: words.map { UnsafePointer($0.base) }) {
                    keptSum += Double(abs(d))
                }
            }
            out.base[2 * b] = all
            out.base[2 * b + 1] = keptSum
        }
        for b in 0..<blocks { totals.all += sums[2 * b]; totals.kept += sums[2 * b + 1] }
    }

    /// magnitude_outliers (breadcrumbs): drop the ⌊γ·n⌋ largest and the smallest, keeping
    /// ⌊density·n⌋ entries in between (by |δ| ascending: indices [n_bot, n_bot + target)).
    static func magnitudeOutliers(_ delta: UnsafeMutableBufferPointer<Float>, density: Double, gamma: Double) {
        let n = delta.count
        guard n > 0 else { return }
        let top = Int(gamma * Double(n)), target = Int(density * Double(n))
        let bottom = max(0, n - target - top)
        let ascending = (0..<n).sorted { abs(delta[$0]) < abs(delta[$1]) || (abs(delta[$0]) == abs(delta[$1]) && $0 < $1) }
        var keep = [Bool](repeating: false, count: n)
        for i in ascending[bottom..<min(n, bottom + target)] { keep[i] = true }
        for i in 0..<n where !keep[i] { delta[i] = 0 }
    }

    /// della_magprune (DELLA): per row (a 1-D tensor is one row), rank |δ| ascending
    /// (1…n), rank_norm = (rank − 1)/(n − 1), keep with probability
    /// (density − ε) + 2ε·rank_norm.
    static func dellaMagprune(_ delta: UnsafeMutableBufferPointer<Float>, columns: Int, rank: Int, density: Double, epsilon: Double,
                              random: inout SeededRandom) {
        let width = rank >= 2 ? columns : delta.count
        guard width > 0 else { return }
        for start in stride(from: 0, to: delta.count, by: width) {
            let row = start..<min(delta.count, start + width)
            let order = row.sorted { abs(delta[$0]) < abs(delta[$1]) || (abs(delta[$0]) == abs(delta[$1]) && $0 < $1) }
            let n = order.count
            for (r, i) in order.enumerated() {
                let rankNorm = n > 1 ? Double(r) / Double(n - 1) : 0
                let p = (density - epsilon) + rankNorm * 2 * epsilon
                if random.uniform() >= p { delta[i] = 0 }
            }
        }
    }

}

/// Integer slots written by parallel workers, each to its own indices. Raw memory, not
/// an array property: concurrent mutating access to a class's array would break Swift's
/// exclusivity rule even on disjoint indices.
final class Counts: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Int>
    init(_ count: Int) {
        slots = .allocate(capacity: max(1, count))
        slots.initialize(repeating: 0)
    }
    deinit { slots.deallocate() }
    func set(_ i: Int, _ v: Int) { slots[i] = v }
    func get(_ i: Int) -> Int { slots[i] }
    var total: Int { slots.reduce(0, +) }
}

/// Where selection reads magnitude bit patterns (sign bit clear) from.
protocol MagnitudeBits: Sendable {
    var count: Int { get }
    func bits(_ j: Int) -> UInt32
}

/// |x − base|, computed on the fly.
struct DeltaMagnitudes: MagnitudeBits {
    let x: SharedFloats
    let base: SharedFloats
    var count: Int { x.count }
    @inline(__always) func bits(_ j: Int) -> UInt32 { (x.base[j] - base.base[j]).bitPattern & 0x7FFF_FFFF }
    /// Entries j…j+7 as Int32 (all non-negative).
    @inline(__always) func bits8(_ j: Int) -> SIMD8<Int32> {
        let d = UnsafeRawPointer(x.base).loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
            - UnsafeRawPointer(base.base).loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
        return unsafeBitCast(d, to: SIMD8<Int32>.self) & 0x7FFF_FFFF
    }
}

/// Bit patterns already collected.
struct StoredBits: MagnitudeBits, @unchecked Sendable {
    let base: UnsafePointer<UInt32>
    let count: Int
    @inline(__always) func bits(_ j: Int) -> UInt32 { base[j] }
}

