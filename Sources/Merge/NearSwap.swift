import Numerics

extension MergeMethod {
    /// nearswap: w = clamp(t / max(|a − b|, 1e-6), 0, 1); out = w·b + (1 − w)·a, with a the base.
    static let nearswap = MergeMethod(
        name: "nearswap", base: .required, modelCount: 1...1,
        modelParameters: [], parameters: [("t", nil)], isRandom: false
    ) { input, out in
        let a = input.base!, b = input.models[0], t = Float(input.param("t"))
        for i in 0..<a.count {
            let d = max(abs(a[i] - b[i]), 1e-6)
            let w = min(1, max(0, t / d))
            out[i] = w * b[i] + (1 - w) * a[i]
        }
    }
}
