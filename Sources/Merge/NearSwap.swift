import Numerics

extension MergeMethod {
    /// nearswap: w = clamp(t / max(|a − b|, 1e-6), 0, 1); out = w·b + (1 − w)·a, with a the base.
    static let nearswap = MergeMethod(
        name: "nearswap", base: .required, modelCount: 1...1,
        modelParameters: [], parameters: [("t", nil)], isRandom: false
    ) { input in
        let a = input.base!, b = input.models[0], t = Float(input.param("t"))
        var out = Tensor(shape: a.shape)
        for i in 0..<a.count {
            let d = max(abs(a.storage[i] - b.storage[i]), 1e-6)
            let w = min(1, max(0, t / d))
            out.storage[i] = w * b.storage[i] + (1 - w) * a.storage[i]
        }
        return out
    }
}
