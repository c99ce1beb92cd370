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
        combine(v0, v1, coefficients(dot: dot, s00: s00, s11: s11, t: t), t: t, into: out)
    }

    /// From Σ v0·v1, Σ v0², Σ v1²: whether to fall back to lerp, else the weights of v0, v1.
    static func coefficients(dot: Double, s00: Double, s11: Double, t: Double) -> (lerp: Bool, s0: Double, s1: Double) {
        let n0 = s00.squareRoot(), n1 = s11.squareRoot()
        // Cosine of the normalised vectors (each normalised only when its norm exceeds ε).
        let cosine = dot / ((n0 > epsilon ? n0 : 1) * (n1 > epsilon ? n1 : 1))
        if abs(cosine) > dotThreshold { return (true, 1 - t, t) }
        let theta = acos(min(1, max(-1, cosine)))
        return (false, sin((1 - t) * theta) / sin(theta), sin(t * theta) / sin(theta))
    }

    /// out = lerp(v0, v1, t), or s0·v0 + s1·v1: elementwise, so any block of the tensor.
    static func combine(_ v0: UnsafeBufferPointer<Float>, _ v1: UnsafeBufferPointer<Float>, _ c: (lerp: Bool, s0: Double, s1: Double),
                        t: Double, into out: UnsafeMutableBufferPointer<Float>) {
        if c.lerp {
            Kernels.lerp(v0, v1, t: Float(t), into: out)
        } else {
            Kernels.weightedSum([v0, v1], weights: [Float(c.s0), Float(c.s1)], into: out)
        }
    }
}
