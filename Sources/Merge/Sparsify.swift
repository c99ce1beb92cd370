import Numerics

/// The ways the task-vector methods thin a delta before mixing (mergekit's `sparsify.py`).
enum Sparsify {
    /// magnitude (TIES): keep the k = max(1, ⌊density·n⌋) entries of largest |δ|.
    ///
    /// The k-th largest magnitude is found by radix selection over the bit patterns (three
    /// branch-light passes, no sort, no copy); entries equal to it are kept in index order
    /// until k are kept (torch's argsort leaves the order of ties unspecified).
    static func magnitude(_ delta: UnsafeMutableBufferPointer<Float>, density: Double) {
        let n = delta.count
        guard density < 1, n > 0 else { return }
        let k = max(1, Int(density * Double(n)))
        if k >= n { return }
        let threshold = kthLargestMagnitude(UnsafeBufferPointer(delta), k)
        // Branch-free and split across cores: keep everything at or above the threshold,
        // counting per chunk …
        let chunks = chunkRanges(n)
        let counts = Counts(chunks.count)
        let d = SharedFloats(delta)
        Parallel.forEach(chunks.count) { c in
            var kept = 0
            for i in chunks[c] {
                let keep = d.base[i].bitPattern & 0x7FFF_FFFF >= threshold
                kept += keep ? 1 : 0
                d.base[i] = keep ? d.base[i] : 0
            }
            counts.set(c, kept)
        }
        // … then, if ties at the threshold overshoot k, drop the last of them.
        var surplus = counts.total - k
        var i = n - 1
        while surplus > 0 && i >= 0 {
            if delta[i].bitPattern & 0x7FFF_FFFF == threshold { delta[i] = 0; surplus -= 1 }
            i -= 1
        }
    }

    /// One contiguous range per thread (fixed by the thread budget, so results that depend
    /// on the split — none here — could not vary).
    static func chunkRanges(_ n: Int) -> [Range<Int>] {
        let parts = max(1, min(ComputeThreads.count, n / (1 << 16)))
        let size = (n + parts - 1) / parts
        return (0..<parts).map { ($0 * size)..<min(n, ($0 + 1) * size) }.filter { !$0.isEmpty }
    }

    /// The bit pattern of the k-th largest |value| (1-based). For non-negative floats the
    /// bit patterns order like the values, so the k-th largest is found digit by digit:
    /// 11 bits, then 11, then 10, each from a histogram of the candidates still in play.
    static func kthLargestMagnitude(_ values: UnsafeBufferPointer<Float>, _ k: Int) -> UInt32 {
        var prefix: UInt32 = 0, prefixMask: UInt32 = 0, remaining = k
        let chunks = chunkRanges(values.count)
        let source = SharedFloats(values)
        for (shift, width) in [(UInt32(21), 11), (UInt32(10), 11), (UInt32(0), 10)] {
            let digits = 1 << width, digitMask = UInt32(digits - 1)
            // One histogram per chunk, summed afterwards (integer counts: order-free).
            let histograms = Counts(chunks.count * digits)
            let (p, pm) = (prefix, prefixMask)
            Parallel.forEach(chunks.count) { c in
                var h = [Int](repeating: 0, count: digits)
                h.withUnsafeMutableBufferPointer { h in
                    for i in chunks[c] {
                        let bits = source.base[i].bitPattern & 0x7FFF_FFFF
                        if bits & pm == p { h[Int((bits >> shift) & digitMask)] += 1 }
                    }
                }
                for dgt in 0..<digits { histograms.set(c * digits + dgt, h[dgt]) }
            }
            var above = 0, chosen = 0
            for dgt in stride(from: digits - 1, through: 0, by: -1) {
                var count = 0
                for c in 0..<chunks.count { count += histograms.get(c * digits + dgt) }
                if above + count >= remaining { chosen = dgt; break }
                above += count
            }
            remaining -= above
            prefix |= UInt32(chosen) << shift
            prefixMask |= digitMask << shift
        }
        return prefix
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

    /// random (DARE): keep each entry with probability `density`.
    static func random(_ delta: UnsafeMutableBufferPointer<Float>, density: Double, random: inout SeededRandom) {
        guard density < 1 else { return }
        for i in delta.indices where random.uniform() >= density { delta[i] = 0 }
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
