import Foundation
import Numerics

/// GPT-2's tanh GELU (`gelu_new`): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
enum GELU {
    static let scale = Float((2.0 / Double.pi).squareRoot())
    static let cubic: Float = 0.044715

    /// out[i] = gelu(inp[i]) for `count` elements.
    static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let s = Shared(a: out, b: inp, c: inp)
        Parallel.forEachRange(count) { r in
            for i in r {
                let x = s.b[i]
                let u = scale * (x + cubic * x * x * x)
                s.a[i] = 0.5 * x * (1 + tanhf(u))
            }
        }
    }

    /// dinp[i] = gelu'(inp[i]) · dout[i] (overwrites dinp; may alias dout).
    static func backward(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, dout: UnsafePointer<Float>, count: Int) {
        let s = Shared(a: dinp, b: inp, c: dout)
        Parallel.forEachRange(count) { r in
            for i in r {
                let x = s.b[i]
                let u = scale * (x + cubic * x * x * x)
                let th = tanhf(u)
                let sech2 = 1 - th * th
                // d/dx of 0.5·x·(1 + tanh u) = 0.5·(1 + tanh u) + 0.5·x·sech²u · du/dx
                let grad = 0.5 * (1 + th) + 0.5 * x * sech2 * scale * (1 + 3 * cubic * x * x)
                s.a[i] = grad * s.c[i]
            }
        }
    }

    private struct Shared: @unchecked Sendable {
        let a: UnsafeMutablePointer<Float>
        let b, c: UnsafePointer<Float>
    }
}
