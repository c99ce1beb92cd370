import Numerics

extension MergeMethod {
    /// passthrough: one model, optionally multiplied by its `scale`.
    static let passthrough = MergeMethod(
        name: "passthrough", base: .none, modelCount: 1...1,
        modelParameters: [("scale", 1)], parameters: [], isRandom: false
    ) { input, out in
        let s = input.model(0, "scale")
        Kernels.scale(input.models[0], by: Float(s), into: out)
    }
}
