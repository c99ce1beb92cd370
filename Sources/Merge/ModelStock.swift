import Numerics

extension MergeMethod {
    /// model_stock: with base w₀ and N ≥ 2 models, c = mean pairwise cosine of (wᵢ − w₀)
    /// (each clamped to [−1, 1], norms' product at least 1e-6); t = N·c / (1 + (N − 1)·c),
    /// or 0 when that denominator is below 1e-6; out = t·mean(wᵢ) + (1 − t)·w₀. With
    /// `filter_wise` each row of a matrix (a vector as one row) gets its own t.
    static let modelStock = MergeMethod(
        name: "model_stock", base: .required, modelCount: 2...Int.max,
        modelParameters: [], parameters: [("filter_wise", 0)], isRandom: false
    ) { input, out in
        let base = input.base!
        let width = input.flag("filter_wise") && input.shape.count >= 2 ? input.shape.last! : base.count
        let n = input.models.count
        guard width > 0 else { return }
        for start in stride(from: 0, to: base.count, by: width) {
            let row = start..<(start + width)
            let deltas: [[Double]] = input.models.map { x in row.map { Double(x[$0]) - Double(base[$0]) } }
            var cosines = 0.0, pairs = 0
            for i in 0..<n { for j in (i + 1)..<n {
                var dot = 0.0, a = 0.0, b = 0.0
                for k in 0..<width { dot += deltas[i][k] * deltas[j][k]; a += deltas[i][k] * deltas[i][k]; b += deltas[j][k] * deltas[j][k] }
                cosines += min(1, max(-1, dot / max(a.squareRoot() * b.squareRoot(), 1e-6)))
                pairs += 1
            } }
            let c = cosines / Double(pairs)
            let denominator = 1 + Double(n - 1) * c
            let t = abs(denominator) < 1e-6 ? 0 : Double(n) * c / denominator
            for k in row {
                var mean: Float = 0
                for x in input.models { mean += x[k] }
                mean /= Float(n)
                out[k] = Float(t) * mean + Float(1 - t) * base[k]
            }
        }
    }
}
