import Numerics

/// The ways the task-vector methods thin a delta before mixing (mergekit's `sparsify.py`).
enum Sparsify {
    /// magnitude (TIES): keep the k = max(1, ⌊density·n⌋) entries of largest |δ|.
    static func magnitude(_ delta: inout [Float], density: Double) {
        let n = delta.count
        guard density < 1, n > 0 else { return }
        let k = max(1, Int(density * Double(n)))
        // Order by magnitude, largest first; equal magnitudes keep index order (a stable rule
        // where torch's topk leaves ties unspecified).
        let order = (0..<n).sorted { abs(delta[$0]) > abs(delta[$1]) || (abs(delta[$0]) == abs(delta[$1]) && $0 < $1) }
        for i in order[k...] { delta[i] = 0 }
    }

    /// magnitude_outliers (breadcrumbs): drop the ⌊γ·n⌋ largest and the smallest, keeping
    /// ⌊density·n⌋ entries in between (by |δ| ascending: indices [n_bot, n_bot + target)).
    static func magnitudeOutliers(_ delta: inout [Float], density: Double, gamma: Double) {
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
    static func random(_ delta: inout [Float], density: Double, random: inout SeededRandom) {
        guard density < 1 else { return }
        for i in delta.indices where random.uniform() >= density { delta[i] = 0 }
    }

    /// della_magprune (DELLA): per row (a 1-D tensor is one row), rank |δ| ascending
    /// (1…n), rank_norm = (rank − 1)/(n − 1), keep with probability
    /// (density − ε) + 2ε·rank_norm.
    static func dellaMagprune(_ delta: inout [Float], columns: Int, rank: Int, density: Double, epsilon: Double,
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

    /// mergekit's rescale: multiply the kept entries by ‖δ‖₁ / ‖kept‖₁, skipped when
    /// either norm is below 1e-7 (not 1/density).
    static func rescale(_ kept: inout [Float], original: [Float]) {
        let before = original.withUnsafeBufferPointer { Kernels.sumOfMagnitudes($0) }
        let after = kept.withUnsafeBufferPointer { Kernels.sumOfMagnitudes($0) }
        guard before >= 1e-7, after >= 1e-7 else { return }
        let factor = Float(before / after)
        for i in kept.indices { kept[i] *= factor }
    }
}
