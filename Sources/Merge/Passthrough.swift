import Numerics

extension MergeMethod {
    /// passthrough: one model, optionally multiplied by its `scale`.
    static let passthrough = MergeMethod(
        name: "passthrough", base: .none, modelCount: 1...1,
        modelParameters: [("scale", 1)], parameters: [], isRandom: false
    ) { input in
        let s = input.model(0, "scale")
        if s == 1 { return input.models[0] }
        var out = input.models[0]
        out.withUnsafeMutableBufferPointer { po in Kernels.scale(UnsafeBufferPointer(po), by: Float(s), into: po) }
        return out
    }
}
