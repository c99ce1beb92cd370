import Foundation
import Numerics

/// Causal multi-head self-attention on the fused q|k|v projection.
///
/// Shapes: qkv (B, T, 3C) with columns q | k | v, each split into NH heads of hs = C/NH
/// consecutive columns (Hugging Face's split); att (B, NH, T, T) the softmax probabilities,
/// saved for the backward pass; out (B, T, C), heads side by side. Each (batch, head) pair is
/// three BLAS products; the softmax runs row-parallel between them.
enum Attention {
    struct Shape {
        let batch, time, channels, heads: Int
        var headSize: Int { channels / heads }
        var scale: Float { 1 / Float(headSize).squareRoot() }
    }

    static func forward(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                        qkv: UnsafePointer<Float>, shape: Shape) {
        let (bs, t, c, nh, hs) = (shape.batch, shape.time, shape.channels, shape.heads, shape.headSize)
        for b in 0..<bs {
            for h in 0..<nh {
                let q = qkv + b * t * 3 * c + h * hs, k = q + c
                // preatt = q · kᵀ / √hs
                BLAS.sgemm(.none, .transposed, m: t, n: t, k: hs, alpha: shape.scale, a: q, lda: 3 * c, b: k, ldb: 3 * c,
                           c: att + (b * nh + h) * t * t, ldc: t)
            }
        }
        let a = SharedFloats(UnsafeMutableBufferPointer(start: att, count: bs * nh * t * t))
        Parallel.forEachRowRange(bs * nh * t, elementsPerRow: 4 * t) { rows in
            for r in rows { causalSoftmax(row: a.base + r * t, position: r % t, time: t) }
        }
        for b in 0..<bs {
            for h in 0..<nh {
                let v = qkv + b * t * 3 * c + 2 * c + h * hs
                // out_h = att · v  (entries above the diagonal are 0)
                BLAS.sgemm(.none, .none, m: t, n: hs, k: t, a: att + (b * nh + h) * t * t, lda: t, b: v, ldb: 3 * c,
                           c: out + b * t * c + h * hs, ldc: c)
            }
        }
    }

    /// Softmax over row[0...position] with the maximum subtracted first; row[position+1..<time] = 0.
    @inline(__always)
    static func causalSoftmax(row: UnsafeMutablePointer<Float>, position: Int, time: Int) {
        var m = -Float.infinity
        for j in 0...position { m = max(m, row[j]) }
        var sum: Float = 0
        for j in 0...position { let e = expf(row[j] - m); row[j] = e; sum += e }
        let inv = 1 / sum
        for j in 0...position { row[j] *= inv }
        for j in (position + 1)..<time { row[j] = 0 }
    }

    /// Writes dqkv (every element: no accumulation) from dout; `datt` is (B, NH, T, T) scratch.
    static func backward(dqkv: UnsafeMutablePointer<Float>, datt: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                         qkv: UnsafePointer<Float>, att: UnsafePointer<Float>, shape: Shape) {
        let (bs, t, c, nh, hs) = (shape.batch, shape.time, shape.channels, shape.heads, shape.headSize)
        for b in 0..<bs {
            for h in 0..<nh {
                let v = qkv + b * t * 3 * c + 2 * c + h * hs
                let dy = dout + b * t * c + h * hs
                let bh = (b * nh + h) * t * t
                // forward: out_h = att · v
                BLAS.sgemm(.none, .transposed, m: t, n: t, k: hs, a: dy, lda: c, b: v, ldb: 3 * c, c: datt + bh, ldc: t)
                BLAS.sgemm(.transposed, .none, m: t, n: hs, k: t, a: att + bh, lda: t, b: dy, ldb: c,
                           c: dqkv + b * t * 3 * c + 2 * c + h * hs, ldc: 3 * c)
            }
        }
        // forward: att = softmax(preatt); dpreatt = att ⊙ (datt − Σ_j att·datt), times the 1/√hs
        // of preatt = q·kᵀ/√hs so the next two products need no alpha.
        let d = SharedFloats(UnsafeMutableBufferPointer(start: datt, count: bs * nh * t * t))
        let a = SharedFloats(UnsafeBufferPointer(start: att, count: bs * nh * t * t))
        let scale = shape.scale
        Parallel.forEachRowRange(bs * nh * t, elementsPerRow: 4 * t) { rows in
            for r in rows {
                let position = r % t
                let p = a.base + r * t, g = d.base + r * t
                var dot: Float = 0
                for j in 0...position { dot += p[j] * g[j] }
                for j in 0...position { g[j] = scale * p[j] * (g[j] - dot) }
                for j in (position + 1)..<t { g[j] = 0 }
            }
        }
        for b in 0..<bs {
            for h in 0..<nh {
                let q = qkv + b * t * 3 * c + h * hs, k = q + c
                let dq = dqkv + b * t * 3 * c + h * hs, dk = dq + c
                let bh = (b * nh + h) * t * t
                // forward: preatt = q · kᵀ (scale already applied to dpreatt)
                BLAS.sgemm(.none, .none, m: t, n: hs, k: t, a: datt + bh, lda: t, b: k, ldb: 3 * c, c: dq, ldc: 3 * c)
                BLAS.sgemm(.transposed, .none, m: t, n: hs, k: t, a: datt + bh, lda: t, b: q, ldb: 3 * c, c: dk, ldc: 3 * c)
            }
        }
    }
}
