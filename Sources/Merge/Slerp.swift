import Foundation
import Numerics

extension MergeMethod {
    /// slerp: spherical interpolation from the base (t = 0) to the one other model (t = 1),
    /// over the whole tensor as one vector; near-colinear tensors (|cos| > 0.9995) fall
    /// back to linear interpolation.
    static let slerp = MergeMethod(
        name: "slerp", base: .required, modelCount: 1...1,
        modelParameters: [], parameters: [("t", nil)], isRandom: false
    ) { input in
        Slerp.interpolate(input.base!, input.models[0], t: input.param("t"))
    }
}

enum Slerp {
    static let dotThreshold = 0.9995
    static let epsilon = 1e-8

    static func interpolate(_ v0: Tensor, _ v1: Tensor, t: Double) -> Tensor {
        let (dot, n0, n1) = v0.withUnsafeBufferPointer { a in
            v1.withUnsafeBufferPointer { b in (Kernels.dot(a, b), Kernels.norm(a), Kernels.norm(b)) }
        }
        // Cosine of the normalised vectors (each normalised only when its norm exceeds ε).
        let cosine = dot / ((n0 > epsilon ? n0 : 1) * (n1 > epsilon ? n1 : 1))
        var out = Tensor(shape: v0.shape)
        if abs(cosine) > dotThreshold {
            v0.withUnsafeBufferPointer { a in v1.withUnsafeBufferPointer { b in out.withUnsafeMutableBufferPointer { o in
                Kernels.lerp(a, b, t: Float(t), into: o) } } }
            return out
        }
        let theta = acos(min(1, max(-1, cosine)))
        let s0 = sin((1 - t) * theta) / sin(theta), s1 = sin(t * theta) / sin(theta)
        for i in 0..<v0.count { out.storage[i] = Float(s0) * v0.storage[i] + Float(s1) * v1.storage[i] }
        return out
    }
}
