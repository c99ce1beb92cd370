import Numerics

/// The cut of magnitude thinning (TIES) for a tensor read a block at a time in index order:
/// the same `Kept` as `Sparsify.magnitude` on the whole tensor (the k-th largest |x − base|
/// as threshold, ties at it kept in index order), in memory that does not grow with the
/// tensor beyond a capped candidate list.
///
/// Radix selection over the bit patterns of |δ| (non-negative floats order like their bits):
/// - pass 1 counts the high 15 bits of every |δ| (the sign bit is clear) into 32 Ki bins and
///   picks the bin that holds the k-th largest;
/// - pass 2, when that bin holds at most `collectLimit` entries (it covers 1/128 of an octave,
///   so it normally holds a small share of the tensor), collects its entries' low 16 bits and
///   indices in index order, which decides both the threshold and the tie cut; otherwise it
///   counts their low 16 bits into 64 Ki bins, which decides the threshold,
/// - and then, only if more entries tie at the threshold than are kept, pass 3 walks the
///   blocks in order to the first tie not kept, and stops there.
///
/// Usage: `feed` every block of the tensor in index order, then `endPass()`; repeat until
/// `isDone`. `feed` may stop being called once `isDone` turns true during a pass.
/// - Complexity: 2 passes over the tensor (3 when the selected bin is too crowded to collect
///   and ties must be cut); memory: per thread 32 Ki + 64 Ki counters, plus up to
///   `collectLimit` × 6 bytes.
final class MagnitudeSelection {
    /// Candidates above this many are counted instead of collected (12 MB at most).
    static let defaultCollectLimit = 1 << 21

    let count: Int
    let k: Int
    let collectLimit: Int
    /// The cut, once `isDone`.
    private(set) var result = Kept.all
    var isDone: Bool { stage == .done }

    private enum Stage { case high, collect, low, ties, done }
    private var stage = Stage.high
    /// Chunks of a block (one per thread) and their per-block counters, zeroed after use.
    private let parts: Int
    private let chunkCounts: UnsafeMutableBufferPointer<UInt32>
    /// This pass's counts over the tensor so far.
    private var counts: [Int]
    /// The high 15 bits shared by the candidates (bits >> 16), once pass 1 is over.
    private var prefix: UInt32 = 0
    /// Of the k entries to keep, how many are still to be found among the candidates.
    private var remaining = 0
    /// Pass 2, collecting: the candidates' low 16 bits and indices, in index order.
    private var lowBits = UnsafeMutableBufferPointer<UInt16>(start: nil, count: 0)
    private var indices = UnsafeMutableBufferPointer<UInt32>(start: nil, count: 0)
    private var collected = 0
    /// Pass 3: the threshold, and how many of the ties to it are still to be kept.
    private var threshold: UInt32 = 0
    private var tiesLeft = 0

    /// - Parameters:
    ///   - count: elements in the tensor.
    ///   - k: how many to keep, 1 ≤ k < count.
    init(count: Int, k: Int, collectLimit: Int = MagnitudeSelection.defaultCollectLimit) {
        precondition(k >= 1 && k < count)
        self.count = count
        self.k = k
        self.collectLimit = count < Int(UInt32.max) ? collectLimit : -1  // indices must fit UInt32
        parts = max(1, ComputeThreads.count)
        chunkCounts = .allocate(capacity: parts << 16)
        chunkCounts.initialize(repeating: 0)
        counts = [Int](repeating: 0, count: 1 << 15)
    }

    deinit {
        chunkCounts.deallocate()
        lowBits.deallocate()
        indices.deallocate()
    }

    /// Splits a block of `n` elements into one contiguous chunk per thread (one chunk below
    /// 64 Ki elements, where dispatch costs more than it saves).
    private func chunks(_ n: Int) -> [Range<Int>] {
        let p = max(1, min(parts, n / (1 << 16)))
        let size = (n + p - 1) / p
        return (0..<p).map { ($0 * size)..<min(n, ($0 + 1) * size) }.filter { !$0.isEmpty }
    }

    /// Takes in elements `offset ..< offset + x.count` of the tensor: x and base as Float32.
    func feed(x: UnsafeBufferPointer<Float>, base: UnsafeBufferPointer<Float>, offset: Int) {
        precondition(x.count == base.count && offset + x.count <= count)
        guard x.count > 0 else { return }
        let deltas = DeltaMagnitudes(x: SharedFloats(x), base: SharedFloats(base))
        let ranges = chunks(x.count)
        let slots = SharedPointer(chunkCounts.baseAddress!)
        switch stage {
        case .high:
            // Histogram of bits >> 16 per chunk, added to the tensor's counts.
            Parallel.forEach(ranges.count) { c in
                let h = slots.base + (c << 16)
                for j in ranges[c] { h[Int(deltas.bits(j) >> 16)] &+= 1 }
            }
            fold(ranges.count, bins: 1 << 15)
        case .low:
            let p = prefix
            Parallel.forEach(ranges.count) { c in
                let h = slots.base + (c << 16)
                for j in ranges[c] {
                    let bits = deltas.bits(j)
                    if bits >> 16 == p { h[Int(bits & 0xFFFF)] &+= 1 }
                }
            }
            fold(ranges.count, bins: 1 << 16)
        case .collect:
            collect(deltas, ranges, offset: offset)
        case .ties:
            cutTies(deltas, ranges, offset: offset)
        case .done:
            break
        }
    }

    // Feeding from elsewhere (`TaskArithmetic+Stored`, whose C loops read the stored bytes):
    // pass 1's counts and pass 2's candidates computed outside, then `endPass()` as usual.

    /// Whether pass 1 (the high bits' counts) is what comes next.
    var wantsHighCounts: Bool { stage == .high }

    /// In pass 2, collecting: the high bits the candidates share and how many there are.
    var collecting: (prefix: UInt32, count: Int)? { stage == .collect ? (prefix, lowBits.count - 1) : nil }

    /// Pass 1: adds 32 Ki counts of bits >> 16 over part of the tensor.
    func addHighCounts(_ bins: UnsafePointer<UInt32>) {
        precondition(stage == .high)
        for d in 0..<(1 << 15) where bins[d] != 0 { counts[d] += Int(bins[d]) }
    }

    /// Pass 2, collecting: appends candidates (low 16 bits, index) found in the next part of
    /// the tensor in index order.
    func addCandidates(lows: UnsafeBufferPointer<UInt16>, indices: UnsafeBufferPointer<UInt32>) {
        precondition(stage == .collect && lows.count == indices.count && collected + lows.count < lowBits.count,
                     "more candidates than pass 1 counted")
        guard !lows.isEmpty else { return }
        (lowBits.baseAddress! + collected).update(from: lows.baseAddress!, count: lows.count)
        (self.indices.baseAddress! + collected).update(from: indices.baseAddress!, count: indices.count)
        collected += lows.count
    }

    /// Adds the chunks' per-block counters to `counts` and zeroes them.
    private func fold(_ chunks: Int, bins: Int) {
        for c in 0..<chunks {
            let h = chunkCounts.baseAddress! + (c << 16)
            for d in 0..<bins where h[d] != 0 { counts[d] += Int(h[d]) }
            h.update(repeating: 0, count: bins)
        }
    }

    /// Pass 2, collecting: appends the block's candidates (high bits == prefix) in index order.
    /// One chunk writes straight into the list; several write to regions of their own, each
    /// sized by what can still arrive, then packed in chunk order. Candidates are rare (a bin
    /// of 1/128 of an octave), so 8 entries are tested at a time and only hits are stored.
    private func collect(_ deltas: DeltaMagnitudes, _ ranges: [Range<Int>], offset: Int) {
        let p = prefix, room = lowBits.count - 1 - collected  // candidates still to come
        let direct = ranges.count == 1
        let capacity = direct ? room : min(ranges.map(\.count).max()!, room)
        let lowScratch = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: direct ? 1 : max(1, ranges.count * capacity))
        let indexScratch = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: direct ? 1 : max(1, ranges.count * capacity))
        defer { lowScratch.deallocate(); indexScratch.deallocate() }
        let lows = SharedPointer(direct ? lowBits.baseAddress! + collected : lowScratch.baseAddress!)
        let at = SharedPointer(direct ? indices.baseAddress! + collected : indexScratch.baseAddress!)
        let found = Counts(ranges.count)
        Parallel.forEach(ranges.count) { c in
            let lo = lows.base + c * capacity, ix = at.base + c * capacity
            var n = 0
            @inline(__always) func take(_ bits: UInt32, _ j: Int) {
                if n < capacity {
                    lo[n] = UInt16(truncatingIfNeeded: bits)
                    ix[n] = UInt32(truncatingIfNeeded: offset + j)
                }
                n += 1
            }
            let range = ranges[c], p32 = Int32(p)
            var j = range.lowerBound
            while j + 8 <= range.upperBound {
                let bits = deltas.bits8(j)
                let hit = TaskArithmetic.Lanes.isZero((bits &>> 16) ^ p32)
                if hit != SIMD8<Int32>() {
                    for lane in 0..<8 where hit[lane] != 0 { take(UInt32(bitPattern: bits[lane]), j + lane) }
                }
                j += 8
            }
            while j < range.upperBound {
                let bits = deltas.bits(j)
                if bits >> 16 == p { take(bits, j) }
                j += 1
            }
            found.set(c, n)
        }
        for c in 0..<ranges.count {
            let n = found.get(c)
            precondition(n <= capacity && collected + n < lowBits.count, "more candidates than pass 1 counted")
            if !direct {
                (lowBits.baseAddress! + collected).update(from: lowScratch.baseAddress! + c * capacity, count: n)
                (indices.baseAddress! + collected).update(from: indexScratch.baseAddress! + c * capacity, count: n)
            }
            collected += n
        }
    }

    /// Pass 3: counts the ties per chunk, then finds the first one not kept, if in this block.
    private func cutTies(_ deltas: DeltaMagnitudes, _ ranges: [Range<Int>], offset: Int) {
        let t = threshold
        let found = Counts(ranges.count)
        Parallel.forEach(ranges.count) { c in
            var n = 0
            for j in ranges[c] { n += deltas.bits(j) == t ? 1 : 0 }
            found.set(c, n)
        }
        for (c, range) in ranges.enumerated() {
            if found.get(c) <= tiesLeft { tiesLeft -= found.get(c); continue }
            for j in range where deltas.bits(j) == t {
                if tiesLeft == 0 {
                    finish(Kept(threshold: t, tiesBefore: offset + j))
                    return
                }
                tiesLeft -= 1
            }
        }
    }

    private func finish(_ kept: Kept) {
        result = kept
        stage = .done
        counts = []
        lowBits.deallocate(); lowBits = .init(start: nil, count: 0)
        indices.deallocate(); indices = .init(start: nil, count: 0)
    }

    /// Ends a pass over every block: decides what the next pass does, or the result.
    func endPass() {
        switch stage {
        case .high:
            // The bin of the k-th largest, from the top.
            var above = 0, chosen = 0
            for d in stride(from: (1 << 15) - 1, through: 0, by: -1) {
                if above + counts[d] >= k { chosen = d; break }
                above += counts[d]
            }
            prefix = UInt32(chosen)
            remaining = k - above
            let candidates = counts[chosen]
            if candidates <= collectLimit {
                lowBits = .allocate(capacity: candidates + 1)
                indices = .allocate(capacity: candidates + 1)
                collected = 0
                stage = .collect
            } else {
                stage = .low
            }
            counts = [Int](repeating: 0, count: 1 << 16)
        case .collect:
            // Select among the candidates, whose low bits finish the pattern.
            var h = [Int](repeating: 0, count: 1 << 16)
            for e in 0..<collected { h[Int(lowBits[e])] += 1 }
            let (low, above, equal) = Sparsify.digit(holding: remaining, of: h)
            let ties = remaining - above  // entries equal to the threshold that are kept
            var kept = Kept(threshold: prefix << 16 | UInt32(low))
            if equal > ties {
                var left = ties
                for e in 0..<collected where lowBits[e] == UInt16(low) {
                    if left == 0 { kept.tiesBefore = Int(indices[e]); break }
                    left -= 1
                }
            }
            finish(kept)
        case .low:
            let (low, above, equal) = Sparsify.digit(holding: remaining, of: counts)
            threshold = prefix << 16 | UInt32(low)
            tiesLeft = remaining - above
            if equal > tiesLeft {
                stage = .ties
            } else {
                finish(Kept(threshold: threshold))
            }
        case .ties:
            // Fewer ties than counted in pass 2 (cannot happen): keep them all.
            finish(Kept(threshold: threshold))
        case .done:
            break
        }
    }
}
