import CModelKernels
import Numerics

/// Causal multi-head self-attention on the fused q|k|v projection, blocked over the causal
/// triangle and parallel over (batch, head).
///
/// Shapes: qkv (B, T, 3C) with columns q | k | v, each split into NH heads of hs = C/NH
/// consecutive columns (Hugging Face's split); att (B, NH, T, T) the softmax probabilities,
/// saved for the backward pass; out (B, T, C), heads side by side.
///
/// Each (batch, head) pair is one work item, done start to finish by one thread: its rows are
/// cut into query blocks and key tiles, and only tiles on or below the diagonal are computed
/// (the masked upper triangle is never written nor read: entries of `att` above the diagonal
/// tile hold stale values). The tile products go through BLAS and are small enough that
/// OpenBLAS runs each on the calling thread (see `keyTile`), so two workers never nest
/// parallelism, and a pair's arithmetic does not depend on how many workers there are.
/// In training on CPUs with AVX2 and FMA (`FusedKernels.active`) each pair runs the C loops
/// of `CModelKernels` instead: blocks of eight query rows, their products in register
/// tiles rather than OpenBLAS calls. `AttentionReference` is the plain-loop spec both are
/// tested against.
enum Attention {
    struct Shape {
        let batch, time, channels, heads: Int
        var headSize: Int { channels / heads }
        var scale: Float { 1 / Float(headSize).squareRoot() }
    }

    /// Rows of a query block.
    static let queryTile = 64

    /// Columns of a key tile. Inside a fixed split (training: OpenBLAS single-threaded), a
    /// query block's keys are one tile, the fewest calls. Otherwise the largest multiple of 8
    /// (at most 64) keeping every tile product at most 2¹⁷ multiply-adds, half of OpenBLAS's
    /// threshold (65536 · 4) below which an sgemm runs single-threaded on the caller, so
    /// OpenBLAS never starts threads inside our workers.
    static func keyTile(headSize: Int, time: Int) -> Int {
        if ComputeThreads.productSplit != nil { return max(1, time) }
        return max(8, min(64, (1 << 17) / (queryTile * max(1, headSize)) / 8 * 8))
    }

    static func forward(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                        qkv: UnsafePointer<Float>, shape: Shape) {
        if FusedKernels.active {
            fusedForward(out: out, att: att, qkv: qkv, shape: shape)
        } else {
            blockedForward(out: out, att: att, qkv: qkv, shape: shape)
        }
    }

    /// Query blocks and key tiles through OpenBLAS.
    static func blockedForward(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>, shape: Shape) {
        let (t, c, nh, hs) = (shape.time, shape.channels, shape.heads, shape.headSize)
        let kt = keyTile(headSize: hs, time: t), scale = shape.scale
        let o = SharedPointer(out), a = SharedPointer(att), x = SharedPointer(qkv)
        Parallel.forEach(shape.batch * nh) { bh in
            let (b, h) = (bh / nh, bh % nh)
            let q = UnsafePointer(x.base) + b * t * 3 * c + h * hs, k = q + c, v = q + 2 * c
            let p = a.base + bh * t * t
            let y = o.base + b * t * c + h * hs
            for i0 in stride(from: 0, to: t, by: queryTile) {
                let rows = min(queryTile, t - i0), keys = i0 + rows  // causal: rows see keys 0..<keys
                // preatt = q · kᵀ / √hs, tile by tile up to the diagonal
                for j0 in stride(from: 0, to: keys, by: kt) {
                    BLAS.sgemm(.none, .transposed, m: rows, n: min(kt, keys - j0), k: hs, alpha: scale,
                               a: q + i0 * 3 * c, lda: 3 * c, b: k + j0 * 3 * c, ldb: 3 * c, c: p + i0 * t + j0, ldc: t)
                }
                for r in i0..<keys { causalSoftmax(row: p + r * t, position: r, time: keys) }
                // out = att · v (entries past the diagonal are 0 within the block, and not read beyond it)
                for j0 in stride(from: 0, to: keys, by: kt) {
                    BLAS.sgemm(.none, .none, m: rows, n: hs, k: min(kt, keys - j0), a: p + i0 * t + j0, lda: t,
                               b: v + j0 * 3 * c, ldb: 3 * c, beta: j0 == 0 ? 0 : 1, c: y + i0 * c, ldc: c)
                }
            }
        }
    }

    /// Softmax over row[0...position] with the maximum subtracted first; row[position+1..<time] = 0.
    /// Eight lanes at a time with `VectorMath.exp`; the tail goes through the same arithmetic.
    @inline(__always)
    static func causalSoftmax(row: UnsafeMutablePointer<Float>, position: Int, time: Int) {
        let n = position + 1, whole = n / 8 * 8
        var m8 = SIMD8<Float>(repeating: -.infinity)
        for j in stride(from: 0, to: whole, by: 8) { m8 = pointwiseMax(m8, load(row + j)) }
        var m = m8.max()
        for j in whole..<n { m = max(m, row[j]) }
        var s8 = SIMD8<Float>()
        for j in stride(from: 0, to: whole, by: 8) {
            let e = VectorMath.exp(load(row + j) - m)
            store(e, row + j)
            s8 += e
        }
        var sum = s8.sum()
        for j in whole..<n { let e = VectorMath.exp(row[j] - m); row[j] = e; sum += e }
        let inv = 1 / sum
        for j in stride(from: 0, to: whole, by: 8) { store(load(row + j) * inv, row + j) }
        for j in whole..<n { row[j] *= inv }
        if n < time { (row + n).update(repeating: 0, count: time - n) }
    }

    /// Writes dqkv (every element: no accumulation) from dout; `datt` is (B, NH, T, T) scratch,
    /// written on and below the diagonal tiles only, like `att`.
    static func backward(dqkv: UnsafeMutablePointer<Float>, datt: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                         qkv: UnsafePointer<Float>, att: UnsafePointer<Float>, shape: Shape) {
        if FusedKernels.active {
            fusedBackward(dqkv: dqkv, datt: datt, dout: dout, qkv: qkv, att: att, shape: shape)
        } else {
            blockedBackward(dqkv: dqkv, datt: datt, dout: dout, qkv: qkv, att: att, shape: shape)
        }
    }

    /// Query blocks and key tiles through OpenBLAS.
    static func blockedBackward(dqkv: UnsafeMutablePointer<Float>, datt: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                qkv: UnsafePointer<Float>, att: UnsafePointer<Float>, shape: Shape) {
        let (t, c, nh, hs) = (shape.time, shape.channels, shape.heads, shape.headSize)
        let kt = keyTile(headSize: hs, time: t), scale = shape.scale
        let dx = SharedPointer(dqkv), d = SharedPointer(datt), dy = SharedPointer(dout), x = SharedPointer(qkv), a = SharedPointer(att)
        Parallel.forEach(shape.batch * nh) { bh in
            let (b, h) = (bh / nh, bh % nh)
            let q = UnsafePointer(x.base) + b * t * 3 * c + h * hs, k = q + c, v = q + 2 * c
            let dq = dx.base + b * t * 3 * c + h * hs, dk = dq + c, dv = dq + 2 * c
            let g = UnsafePointer(dy.base) + b * t * c + h * hs
            let p = UnsafePointer(a.base) + bh * t * t, dp = d.base + bh * t * t
            // dk and dv gather contributions from every query block at or after theirs.
            for r in 0..<t {
                (dk + r * 3 * c).update(repeating: 0, count: hs)
                (dv + r * 3 * c).update(repeating: 0, count: hs)
            }
            for i0 in stride(from: 0, to: t, by: queryTile) {
                let rows = min(queryTile, t - i0), keys = i0 + rows
                for j0 in stride(from: 0, to: keys, by: kt) {
                    let cols = min(kt, keys - j0)
                    // forward: out = att · v
                    BLAS.sgemm(.none, .transposed, m: rows, n: cols, k: hs, a: g + i0 * c, lda: c, b: v + j0 * 3 * c, ldb: 3 * c,
                               c: dp + i0 * t + j0, ldc: t)
                    BLAS.sgemm(.transposed, .none, m: cols, n: hs, k: rows, a: p + i0 * t + j0, lda: t, b: g + i0 * c, ldb: c,
                               beta: 1, c: dv + j0 * 3 * c, ldc: 3 * c)
                }
                // forward: att = softmax(preatt); dpreatt = att ⊙ (datt − Σ_j att·datt), times the 1/√hs
                // of preatt = q·kᵀ/√hs so the next two products need no alpha.
                for r in i0..<keys { softmaxBackward(grad: dp + r * t, probs: p + r * t, position: r, time: keys, scale: scale) }
                for j0 in stride(from: 0, to: keys, by: kt) {
                    let cols = min(kt, keys - j0)
                    // forward: preatt = q · kᵀ (scale already applied to dpreatt)
                    BLAS.sgemm(.none, .none, m: rows, n: hs, k: cols, a: dp + i0 * t + j0, lda: t, b: k + j0 * 3 * c, ldb: 3 * c,
                               beta: j0 == 0 ? 0 : 1, c: dq + i0 * 3 * c, ldc: 3 * c)
                    BLAS.sgemm(.transposed, .none, m: cols, n: hs, k: rows, a: dp + i0 * t + j0, lda: t, b: q + i0 * 3 * c, ldb: 3 * c,
                               beta: 1, c: dk + j0 * 3 * c, ldc: 3 * c)
                }
            }
        }
    }

    /// One (batch, head) pair per call into `mf_attention_forward`, each with its own scratch.
    /// - Precondition: `FusedKernels.available`.
    static func fusedForward(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                             qkv: UnsafePointer<Float>, shape: Shape) {
        let (t, c, nh, hs) = (shape.time, shape.channels, shape.heads, shape.headSize)
        let scale = shape.scale
        let o = SharedPointer(out), a = SharedPointer(att), x = SharedPointer(qkv)
        Parallel.forEach(shape.batch * nh) { bh in
            let (b, h) = (bh / nh, bh % nh)
            let q = UnsafePointer(x.base) + b * t * 3 * c + h * hs
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: mf_attention_scratch(Int32(t), Int32(hs)))
            defer { scratch.deallocate() }
            let ran = mf_attention_forward(q, q + c, q + 2 * c, 3 * c, o.base + b * t * c + h * hs, c, a.base + bh * t * t,
                                           Int32(t), Int32(hs), scale, scratch)
            precondition(ran == 1, "the fused attention loops need AVX2 and FMA")
        }
    }

    /// One (batch, head) pair per call into `mf_attention_backward`.
    /// - Precondition: `FusedKernels.available`.
    static func fusedBackward(dqkv: UnsafeMutablePointer<Float>, datt: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                              qkv: UnsafePointer<Float>, att: UnsafePointer<Float>, shape: Shape) {
        let (t, c, nh, hs) = (shape.time, shape.channels, shape.heads, shape.headSize)
        let scale = shape.scale
        let dx = SharedPointer(dqkv), d = SharedPointer(datt), dy = SharedPointer(dout), x = SharedPointer(qkv), a = SharedPointer(att)
        Parallel.forEach(shape.batch * nh) { bh in
            let (b, h) = (bh / nh, bh % nh)
            let q = UnsafePointer(x.base) + b * t * 3 * c + h * hs
            let dq = dx.base + b * t * 3 * c + h * hs
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: mf_attention_scratch(Int32(t), Int32(hs)))
            defer { scratch.deallocate() }
            let ran = mf_attention_backward(q, q + c, q + 2 * c, 3 * c, UnsafePointer(dy.base) + b * t * c + h * hs, c,
                                            UnsafePointer(a.base) + bh * t * t, d.base + bh * t * t, dq, dq + c, dq + 2 * c,
                                            Int32(t), Int32(hs), scale, scratch)
            precondition(ran == 1, "the fused attention loops need AVX2 and FMA")
        }
    }

    /// grad[j] = scale · probs[j] · (grad[j] − Σ_i probs[i]·grad[i]) for j ≤ position, 0 after it
    /// up to `time`.
    @inline(__always)
    static func softmaxBackward(grad: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>, position: Int, time: Int,
                                scale: Float) {
        let n = position + 1, whole = n / 8 * 8
        var d8 = SIMD8<Float>()
        for j in stride(from: 0, to: whole, by: 8) { d8 += load(probs + j) * load(grad + j) }
        var dot = d8.sum()
        for j in whole..<n { dot += probs[j] * grad[j] }
        for j in stride(from: 0, to: whole, by: 8) { store(scale * load(probs + j) * (load(grad + j) - dot), grad + j) }
        for j in whole..<n { grad[j] = scale * probs[j] * (grad[j] - dot) }
        if n < time { (grad + n).update(repeating: 0, count: time - n) }
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> { load(UnsafePointer(p)) }
    @inline(__always) static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}
