import Numerics

/// A Conv1D layer (Hugging Face GPT-2's "linear"): `out = inp · weight + bias`.
///
/// Shapes: inp (N, IN), weight (IN, OUT) — Hugging Face's Conv1D orientation — bias (OUT),
/// out (N, OUT). N = B·T rows. Every product goes through BLAS.
enum Linear {
    ///
    /// With `residual` (N, OUT), computes `out = residual + inp · weight + bias` instead: the
    /// residual connection rides on the seeding pass rather than a pass of its own.
    static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>? = nil,
                        rows n: Int, inputs: Int, outputs: Int) {
        if let residual {
            // Seed every row with residual + bias, then accumulate the product on top (beta = 1).
            let s = Seed(out: out, residual: residual, bias: bias)
            Parallel.forEachRowRange(n, elementsPerRow: 3 * outputs) { rows in
                for r in rows {
                    let o = s.out + r * outputs, x = s.residual + r * outputs
                    if let b = s.bias {
                        for i in 0..<outputs { o[i] = x[i] + b[i] }
                    } else {
                        o.update(from: x, count: outputs)
                    }
                }
            }
        } else if let bias {
            // Seed every row with the bias, then accumulate the product on top (beta = 1).
            for r in 0..<n { (out + r * outputs).update(from: bias, count: outputs) }
        }
        BLAS.sgemm(.none, .none, m: n, n: outputs, k: inputs, a: inp, lda: inputs, b: weight, ldb: outputs,
                   beta: bias == nil && residual == nil ? 0 : 1, c: out, ldc: outputs)
    }

    private struct Seed: @unchecked Sendable {
        let out: UnsafeMutablePointer<Float>
        let residual: UnsafePointer<Float>
        let bias: UnsafePointer<Float>?
    }

    /// Given dout = ∂L/∂out:
    ///   dinp    = dout · weightᵀ      (overwritten, or accumulated when `accumulateInput`)
    ///   dweight += inpᵀ · dout
    ///   dbias   += Σ_rows dout        (an sgemv against a ones vector)
    static func backward(dinp: UnsafeMutablePointer<Float>, accumulateInput: Bool,
                         dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
                         dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                         ones: UnsafePointer<Float>, rows n: Int, inputs: Int, outputs: Int) {
        BLAS.sgemm(.none, .transposed, m: n, n: inputs, k: outputs, a: dout, lda: outputs, b: weight, ldb: outputs,
                   beta: accumulateInput ? 1 : 0, c: dinp, ldc: inputs)
        BLAS.sgemm(.transposed, .none, m: inputs, n: outputs, k: n, a: inp, lda: inputs, b: dout, ldb: outputs,
                   beta: 1, c: dweight, ldc: outputs)
        if let dbias {
            BLAS.sgemv(.transposed, m: n, n: outputs, a: dout, lda: outputs, x: ones, beta: 1, y: dbias)
        }
    }
}
