import Foundation
import Numerics

/// Runs a GPT-2 one position at a time for a batch of sequences, keeping every layer's keys
/// and values so each new token costs one pass over the weights, not over the whole prefix.
///
/// Sequences advance together but each has its own position, so prompts of different
/// lengths share one batch: a sequence still reading its prompt simply ignores its logits.
/// Linear layers are (B, C) × (C, out) products through BLAS; attention reads the cache
/// with two sgemv per head.
public final class KVCacheDecoder {
    public let model: GPT2
    public let batch: Int
    private let c: Int, v: Int, heads: Int, context: Int
    // keys, values: (L, B, context, C)
    private let keys: UnsafeMutablePointer<Float>
    private let values: UnsafeMutablePointer<Float>
    // Per-step scratch, (B, ·).
    private let x, h, qkv, attnOut, projected, fc: UnsafeMutablePointer<Float>
    private let mean, rstd, scores: UnsafeMutablePointer<Float>
    /// The logits of the last step, (B, V).
    public let logits: UnsafeMutablePointer<Float>
    /// Positions filled so far, per sequence.
    public private(set) var lengths: [Int]

    public init(model: GPT2, batch: Int) {
        self.model = model
        self.batch = batch
        let config = model.config
        c = config.channels; v = config.vocabulary; heads = config.heads; context = config.context
        let cacheCount = config.layers * batch * context * c
        keys = .allocate(capacity: max(1, cacheCount))
        values = .allocate(capacity: max(1, cacheCount))
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n))
            p.initialize(repeating: 0, count: max(1, n))
            return p
        }
        x = buffer(batch * c); h = buffer(batch * c); qkv = buffer(batch * 3 * c); attnOut = buffer(batch * c)
        projected = buffer(batch * c); fc = buffer(batch * 4 * c)
        mean = buffer(batch); rstd = buffer(batch); scores = buffer(context)
        logits = buffer(batch * v)
        lengths = [Int](repeating: 0, count: batch)
    }

    deinit {
        for p in [keys, values, x, h, qkv, attnOut, projected, fc, mean, rstd, scores, logits] { p.deallocate() }
    }

    /// Forgets every sequence.
    public func reset() { lengths = [Int](repeating: 0, count: batch) }

    /// Appends one token to every active sequence and computes its next-token logits.
    /// Inactive sequences (finished ones) keep their cache and length; their logits are junk.
    /// - Precondition: no active sequence is full (`lengths[b] < context`).
    public func step(_ tokens: [Int32], active: [Bool]? = nil) {
        let active = active ?? [Bool](repeating: true, count: batch)
        precondition(tokens.count == batch && active.count == batch, "step: one token per sequence")
        precondition(lengths.indices.allSatisfy { !active[$0] || lengths[$0] < context },
                     "step: a sequence has reached the context of \(context)")
        let p = model.parameters
        let hs = c / heads, scale = 1 / Float(hs).squareRoot()
        for b in 0..<batch {
            let e = p.wte + Int(tokens[b]) * c, pos = p.wpe + min(lengths[b], context - 1) * c
            for i in 0..<c { x[b * c + i] = e[i] + pos[i] }
        }
        for l in 0..<model.config.layers {
            let w = p.block(l)
            LayerNorm.forward(out: h, mean: mean, rstd: rstd, inp: x, weight: w.ln1Weight, bias: w.ln1Bias, rows: batch, channels: c)
            Linear.forward(out: qkv, inp: h, weight: w.qkvWeight, bias: w.qkvBias, rows: batch, inputs: c, outputs: 3 * c)
            for b in 0..<batch where active[b] {
                let cacheK = keys + ((l * batch + b) * context) * c, cacheV = values + ((l * batch + b) * context) * c
                let t = lengths[b]
                (cacheK + t * c).update(from: qkv + b * 3 * c + c, count: c)
                (cacheV + t * c).update(from: qkv + b * 3 * c + 2 * c, count: c)
                for head in 0..<heads {
                    // scores[j] = q · k_j / √hs for j ≤ t
                    BLAS.sgemv(.none, m: t + 1, n: hs, alpha: scale, a: cacheK + head * hs, lda: c,
                               x: qkv + b * 3 * c + head * hs, y: scores)
                    Attention.causalSoftmax(row: scores, position: t, time: t + 1)
                    // out = Σ_j scores[j] · v_j
                    BLAS.sgemv(.transposed, m: t + 1, n: hs, a: cacheV + head * hs, lda: c, x: scores,
                               y: attnOut + b * c + head * hs)
                }
            }
            finishBlock(w, x: x, attended: attnOut, h: h, fc: fc, projected: projected, mean: mean, rstd: rstd, rows: batch)
        }
        LayerNorm.forward(out: h, mean: mean, rstd: rstd, inp: x, weight: p.lnfWeight, bias: p.lnfBias, rows: batch, channels: c)
        BLAS.sgemm(.none, .transposed, m: batch, n: v, k: c, a: h, lda: c, b: p.wte, ldb: c, c: logits, ldc: v)
        for b in 0..<batch where active[b] { lengths[b] += 1 }
    }

    /// Reads a whole prompt into the empty sequence `b` at once and computes the logits of
    /// its last position (in row `b` of ``logits``; the other rows are untouched).
    ///
    /// The same layers as ``step(_:active:)``, but over the prompt's n positions as rows of
    /// one matrix: every linear layer is one sgemm of n rows instead of n products of one row,
    /// and attention is the training forward's (three BLAS products per head), so a prompt of
    /// 300 bytes costs one pass instead of 300. The keys and values of every position go to
    /// the cache, as 300 steps would have put them there; only the summation order differs
    /// (sgemm against sgemv), so logits agree to rounding, not bit for bit.
    /// - Precondition: sequence `b` is empty; 1 ≤ prompt.count ≤ context.
    public func prefill(_ b: Int, prompt: [Int32]) {
        let n = prompt.count
        precondition(lengths[b] == 0, "prefill: sequence \(b) is not empty")
        precondition(n >= 1 && n <= context, "prefill: a prompt of \(n) tokens for a context of \(context)")
        let p = model.parameters
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: n * (c * 4 + 3 * c + 4 * c + heads * n) + 2 * n)
        defer { scratch.deallocate() }
        // x, h, out, projected (n, C); qkv (n, 3C); fc (n, 4C); att (NH, n, n); mean, rstd (n)
        let x = scratch, h = x + n * c, out = h + n * c, proj = out + n * c, qkv = proj + n * c
        let fc = qkv + n * 3 * c, att = fc + n * 4 * c, mean = att + heads * n * n, rstd = mean + n
        for t in 0..<n {
            let e = p.wte + Int(prompt[t]) * c, pos = p.wpe + t * c
            for i in 0..<c { x[t * c + i] = e[i] + pos[i] }
        }
        let shape = Attention.Shape(batch: 1, time: n, channels: c, heads: heads)
        for l in 0..<model.config.layers {
            let w = p.block(l)
            LayerNorm.forward(out: h, mean: mean, rstd: rstd, inp: x, weight: w.ln1Weight, bias: w.ln1Bias, rows: n, channels: c)
            Linear.forward(out: qkv, inp: h, weight: w.qkvWeight, bias: w.qkvBias, rows: n, inputs: c, outputs: 3 * c)
            let cacheK = keys + ((l * batch + b) * context) * c, cacheV = values + ((l * batch + b) * context) * c
            for t in 0..<n {
                (cacheK + t * c).update(from: qkv + t * 3 * c + c, count: c)
                (cacheV + t * c).update(from: qkv + t * 3 * c + 2 * c, count: c)
            }
            Attention.forward(out: out, att: att, qkv: qkv, shape: shape)
            finishBlock(w, x: x, attended: out, h: h, fc: fc, projected: proj, mean: mean, rstd: rstd, rows: n)
        }
        let last = x + (n - 1) * c
        LayerNorm.forward(out: h, mean: mean, rstd: rstd, inp: last, weight: p.lnfWeight, bias: p.lnfBias, rows: 1, channels: c)
        BLAS.sgemm(.none, .transposed, m: 1, n: v, k: c, a: h, lda: c, b: p.wte, ldb: c, c: logits + b * v, ldc: v)
        lengths[b] = n
    }

    /// The rest of block `w` once attention has written `attended` (rows, C), for `rows` rows
    /// of the residual stream `x`: x += proj(attended); x += MLP(LN₂(x)). Shared by `step`
    /// (a row per sequence) and `prefill` (a row per prompt position).
    private func finishBlock(_ w: ParameterBuffer.Block, x: UnsafeMutablePointer<Float>, attended: UnsafeMutablePointer<Float>,
                             h: UnsafeMutablePointer<Float>, fc: UnsafeMutablePointer<Float>, projected: UnsafeMutablePointer<Float>,
                             mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, rows: Int) {
        Linear.forward(out: projected, inp: attended, weight: w.attnProjWeight, bias: w.attnProjBias, rows: rows, inputs: c, outputs: c)
        for i in 0..<(rows * c) { x[i] += projected[i] }
        LayerNorm.forward(out: h, mean: mean, rstd: rstd, inp: x, weight: w.ln2Weight, bias: w.ln2Bias, rows: rows, channels: c)
        Linear.forward(out: fc, inp: h, weight: w.fcWeight, bias: w.fcBias, rows: rows, inputs: c, outputs: 4 * c)
        GELU.forward(out: fc, inp: fc, count: rows * 4 * c)
        Linear.forward(out: projected, inp: fc, weight: w.fcProjWeight, bias: w.fcProjBias, rows: rows, inputs: 4 * c, outputs: c)
        for i in 0..<(rows * c) { x[i] += projected[i] }
    }

    /// The logits of sequence `b` after the last step.
    public func logits(of b: Int) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: logits + b * v, count: v) }
}
