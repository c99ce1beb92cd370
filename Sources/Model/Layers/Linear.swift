import Numerics

/// A Conv1D layer (Hugging Face GPT-2's "linear"): `out = inp · weight + bias`.
///
/// Shapes: inp (N, IN), weight (IN, OUT) — Hugging Face's Conv1D orientation — bias (OUT),
/// out (N, OUT). N = B·T rows. Every product goes through BLAS, cut into blocks by `SplitGEMM`.
enum Linear {
    ///
    /// With `residual` (N, OUT), computes `out = residual + inp · weight + bias` instead: the
    /// residual connection rides on the seeding pass rather than a pass of its own.
    static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>? = nil,
                        rows n: Int, inputs: Int, outputs: Int) {
        // Each block of rows is seeded (residual + bias, or bias) and then gets the product
        // accumulated on top (beta = 1) by the same worker, while the rows are in cache.
        let seed = Seed(out: out, residual: residual, bias: bias, outputs: outputs)
        let prepare: (@Sendable (Range<Int>) -> Void)? = residual == nil && bias == nil ? nil : { @Sendable rows in seed.fill(rows: rows) }
        SplitGEMM.sgemm(.none, .none, cut: .rows, m: n, n: outputs, k: inputs, a: inp, lda: inputs, b: weight, ldb: outputs,
                        beta: prepare == nil ? 0 : 1, c: out, ldc: outputs, prepare: prepare)
    }

    /// What seeds the output rows before the product is added: residual + bias, or either.
    private struct Seed: @unchecked Sendable {
        let out: UnsafeMutablePointer<Float>
        let residual: UnsafePointer<Float>?
        let bias: UnsafePointer<Float>?
        let outputs: Int

        func fill(rows: Range<Int>) {
            for r in rows {
                let o = out + r * outputs
                if let residual, let bias {
                    let x = residual + r * outputs
                    for i in 0..<outputs { o[i] = x[i] + bias[i] }
                } else if let residual {
                    o.update(from: residual + r * outputs, count: outputs)
                } else if let bias {
                    o.update(from: bias, count: outputs)
                }
            }
        }
    }

    /// Given dout = ∂L/∂out:
    ///   dinp    = dout · weightᵀ      (overwritten, or accumulated when `accumulateInput`)
    ///   dweight += inpᵀ · dout
    ///   dbias   += Σ_rows dout        (an sgemv against a ones vector)
    static func backward(dinp: UnsafeMutablePointer<Float>, accumulateInput: Bool,
                         dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
                         dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                         ones: UnsafePointer<Float>, rows n: Int, inputs: Int, outputs: Int) {
        SplitGEMM.sgemm(.none, .transposed, cut: .rows, m: n, n: inputs, k: outputs, a: dout, lda: outputs, b: weight,
                        ldb: outputs, beta: accumulateInput ? 1 : 0, c: dinp, ldc: inputs)
        SplitGEMM.sgemm(.transposed, .none, cut: .longerSide, m: inputs, n: outputs, k: n, a: inp, lda: inputs, b: dout,
                        ldb: outputs, beta: 1, c: dweight, ldc: outputs)
        if let dbias {
            BLAS.sgemv(.transposed, m: n, n: outputs, a: dout, lda: outputs, x: ones, beta: 1, y: dbias)
        }
    }
}
