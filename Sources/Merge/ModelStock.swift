import Numerics

extension MergeMethod {
    /// model_stock: with base w₀ and N ≥ 2 models, c = mean pairwise cosine of (wᵢ − w₀);
    /// t = N·c / (1 + (N − 1)·c); out = t·mean(wᵢ) + (1 − t)·w₀ (the base when the
    /// denominator is ≈ 0).
    static let modelStock = MergeMethod(
        name: "model_stock", base: .required, modelCount: 2...Int.max,
        modelParameters: [], parameters: [], isRandom: false
    ) { input in
        let base = input.base!
        let n = input.models.count
        let deltas: [[Float]] = input.models.map { x in (0..<base.count).map { x.storage[$0] - base.storage[$0] } }
        var cosines: [Double] = []
        for i in 0..<n { for j in (i + 1)..<n {
            let (d, a, b) = deltas[i].withUnsafeBufferPointer { p in deltas[j].withUnsafeBufferPointer { q in
                (Kernels.dot(p, q), Kernels.norm(p), Kernels.norm(q)) } }
            cosines.append(a * b < 1e-12 ? 0 : d / (a * b))
        } }
        let c = cosines.reduce(0, +) / Double(cosines.count)
        let denominator = 1 + Double(n - 1) * c
        if abs(denominator) < 1e-8 { return base }
        let t = Double(n) * c / denominator
        var out = Tensor(shape: base.shape)
        for k in 0..<base.count {
            var mean: Float = 0
            for x in input.models { mean += x.storage[k] }
            mean /= Float(n)
            out.storage[k] = Float(t) * mean + Float(1 - t) * base.storage[k]
        }
        return out
    }
}
