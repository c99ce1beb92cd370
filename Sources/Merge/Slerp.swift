import Foundation
import Numerics

extension MergeMethod {
    /// slerp: spherical interpolation from the base (t = 0) to the one other model (t = 1),
    /// over the whole tensor as one vector; near-colinear tensors (|cos| > 0.9995) fall
    /// back to linear interpolation.
    static let slerp = MergeMethod(
        name: "slerp", base: .required, modelCount: 1...1,
        modelParameters: [], parameters: [("t", nil)], isRandom: false
    ) { input, out in
        Slerp.interpolate(input.base!, input.models[0], t: input.param("t"), into: out)
    }
}

enum Slerp {
    static let dotThreshold = 0.9995
    static let epsilon = 1e-8

    /// Two passes over the inputs: one for the dot product and both norms, one to combine.
    static func interpolate(_ v0: UnsafeBufferPointer<Float>, _ v1: UnsafeBufferPointer<Float>, t: Double,
                            into out: UnsafeMutableBufferPointer<Float>) {
        let (dot, s00, s11) = Kernels.dotAndSquares(v0, v1)
        let n0 = s00.squareRoot(), n1 = s11.squareRoot()
        // Cosine of the normalised vectors (each normalised only when its norm exceeds ε).
        let cosine = dot / ((n0 > epsilon ? n0 : 1) * (n1 > epsilon ? n1 : 1))
        if abs(cosine) > dotThreshold {
            Kernels.lerp(v0, v1, t: Float(t), into: out)
            return
        }
        let theta = acos(min(1, max(-1, cosine)))
        let s0 = sin((1 - t) * theta) / sin(theta), s1 = sin(t * theta) / sin(theta)
        Kernels.weightedSum([v0, v1], weights: [Float(s0), Float(s1)], into: out)
    }
}
