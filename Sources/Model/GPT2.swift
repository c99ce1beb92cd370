import Numerics

/// A GPT-2 with its parameters, gradients and activation buffers: forward and backward
/// passes written by hand over flat buffers, every matrix product through BLAS.
///
/// Usage per training step: `forward(tokens:targets:…)`, `zeroGradients()`,
/// `backward(weights:)`, then an optimizer step on `parameters` with `gradients`.
public final class GPT2 {
    public let config: GPT2Config
    /// How text becomes the ids this model reads.
    public let tokenizer: Tokenizer
    public let parameters: ParameterBuffer
    /// Allocated on the first backward pass (inference needs none).
    public private(set) var gradients: ParameterBuffer?
    private var activations: Activations?
    private var tokens: [Int32] = []
    private var targets: [Int32] = []

    /// - Precondition: a BPE tokenizer has exactly `config.vocabulary` tokens (the byte
    ///   tokenizer goes with any vocabulary: imported models may have another size).
    public init(config: GPT2Config, tokenizer: Tokenizer = .bytes) {
        precondition(tokenizer.isBytes || tokenizer.vocabularySize == config.vocabulary,
                     "a tokenizer of \(tokenizer.vocabularySize) tokens for a model of vocabulary \(config.vocabulary)")
        self.config = config
        self.tokenizer = tokenizer
        parameters = ParameterBuffer(config: config)
    }

    /// Bytes held by activations for the current batch shape (for benchmarks).
    public var activationBytes: Int { activations?.byteCount ?? 0 }

    // MARK: Forward

    /// Runs the model on `tokens` (B, T) and returns the per-position negative
    /// log-likelihood of `targets` (B, T) in nats; a negative target scores 0.
    /// Logits and probabilities stay available until the next call.
    @discardableResult
    public func forward(tokens: [Int32], targets: [Int32], batch: Int, time: Int) -> UnsafeBufferPointer<Float> {
        precondition(tokens.count == batch * time && targets.count == batch * time, "forward: tokens and targets must be B·T")
        precondition(time <= config.context, "forward: sequence of \(time) exceeds the context of \(config.context)")
        precondition(tokens.allSatisfy { $0 >= 0 && Int($0) < config.vocabulary }, "forward: token id out of the vocabulary")
        precondition(targets.allSatisfy { Int($0) < config.vocabulary }, "forward: target id out of the vocabulary")
        if activations?.batch != batch || activations?.time != time {
            activations = Activations(config: config, batch: batch, time: time)
        }
        self.tokens = tokens
        self.targets = targets
        let a = activations!, p = parameters
        let n = batch * time, c = config.channels, v = config.vocabulary
        let shape = Attention.Shape(batch: batch, time: time, channels: c, heads: config.heads)

        tokens.withUnsafeBufferPointer { tok in
            Encoder.forward(out: a.encoded, tokens: tok.baseAddress!, wte: p.wte, wpe: p.wpe, batch: batch, time: time, channels: c)
        }
        for l in 0..<config.layers {
            let w = p.block(l)
            let residual = l == 0 ? a.encoded : a.residual3[l - 1]
            LayerNorm.forward(out: a.ln1[l], mean: a.ln1Mean[l], rstd: a.ln1Rstd[l], inp: residual,
                              weight: w.ln1Weight, bias: w.ln1Bias, rows: n, channels: c)
            Linear.forward(out: a.qkv[l], inp: a.ln1[l], weight: w.qkvWeight, bias: w.qkvBias, rows: n, inputs: c, outputs: 3 * c)
            Attention.forward(out: a.attnOut[l], att: a.att[l], qkv: a.qkv[l], shape: shape)
            // residual2 = residual + attnOut · attnProjWeight + attnProjBias
            Linear.forward(out: a.residual2[l], inp: a.attnOut[l], weight: w.attnProjWeight, bias: w.attnProjBias,
                           residual: residual, rows: n, inputs: c, outputs: c)
            LayerNorm.forward(out: a.ln2[l], mean: a.ln2Mean[l], rstd: a.ln2Rstd[l], inp: a.residual2[l],
                              weight: w.ln2Weight, bias: w.ln2Bias, rows: n, channels: c)
            Linear.forward(out: a.fc[l], inp: a.ln2[l], weight: w.fcWeight, bias: w.fcBias, rows: n, inputs: c, outputs: 4 * c)
            // fcGelu = gelu(fc); fc is overwritten by gelu'(fc), all the backward needs of it
            GELU.forward(out: a.fcGelu[l], slope: a.fc[l], inp: a.fc[l], count: n * 4 * c)
            // residual3 = residual2 + fcGelu · fcProjWeight + fcProjBias
            Linear.forward(out: a.residual3[l], inp: a.fcGelu[l], weight: w.fcProjWeight, bias: w.fcProjBias,
                           residual: a.residual2[l], rows: n, inputs: 4 * c, outputs: c)
        }
        let last = config.layers == 0 ? a.encoded : a.residual3[config.layers - 1]
        LayerNorm.forward(out: a.lnf, mean: a.lnfMean, rstd: a.lnfRstd, inp: last, weight: p.lnfWeight, bias: p.lnfBias,
                          rows: n, channels: c)
        // The LM head is tied to the token embedding: logits = lnf · wteᵀ.
        SplitGEMM.sgemm(.none, .transposed, cut: .rows, m: n, n: v, k: c, a: a.lnf, lda: c, b: p.wte, ldb: c, c: a.logits, ldc: v)
        targets.withUnsafeBufferPointer { tg in
            CrossEntropy.forward(probs: a.probs, losses: a.losses, logits: a.logits, targets: tg.baseAddress!, rows: n, vocabulary: v)
        }
        return UnsafeBufferPointer(start: a.losses, count: n)
    }

    /// The logits of the last forward pass, (B, T, V).
    public var logits: UnsafeBufferPointer<Float> {
        let a = activations!
        return UnsafeBufferPointer(start: a.logits, count: a.batch * a.time * config.vocabulary)
    }

    /// The per-position losses of the last forward pass, (B, T).
    public var losses: UnsafeBufferPointer<Float> {
        let a = activations!
        return UnsafeBufferPointer(start: a.losses, count: a.batch * a.time)
    }

    // MARK: Backward

    public func zeroGradients() {
        if gradients == nil { gradients = ParameterBuffer(config: config) }
        gradients!.zero()
    }

    /// Accumulates into `gradients` the gradient of Σ weights[n]·loss[n] for the last
    /// forward pass. `weights` is (B, T).
    public func backward(weights: [Float]) {
        guard let a = activations else { preconditionFailure("backward before forward") }
        if gradients == nil { zeroGradients() }
        let g = gradients!, p = parameters
        let (batch, time) = (a.batch, a.time)
        let n = batch * time, c = config.channels, v = config.vocabulary
        precondition(weights.count == n, "backward: weights must be B·T")
        let shape = Attention.Shape(batch: batch, time: time, channels: c, heads: config.heads)

        weights.withUnsafeBufferPointer { w in
            targets.withUnsafeBufferPointer { tg in
                CrossEntropy.backward(dlogits: a.dlogits, probs: a.probs, targets: tg.baseAddress!, weights: w.baseAddress!,
                                      rows: n, vocabulary: v)
            }
        }
        // forward: logits = lnf · wteᵀ
        SplitGEMM.sgemm(.none, .none, cut: .rows, m: n, n: c, k: v, a: a.dlogits, lda: v, b: p.wte, ldb: c, c: a.dln, ldc: c)
        SplitGEMM.sgemm(.transposed, .none, cut: .longerSide, m: v, n: c, k: n, a: a.dlogits, lda: v, b: a.lnf, ldb: c, beta: 1,
                        c: g.wte, ldc: c)
        let last = config.layers == 0 ? a.encoded : a.residual3[config.layers - 1]
        a.dresidual.update(repeating: 0, count: n * c)
        LayerNorm.backward(dinp: a.dresidual, dweight: g.lnfWeight, dbias: g.lnfBias, dout: a.dln, inp: last,
                           weight: p.lnfWeight, mean: a.lnfMean, rstd: a.lnfRstd, partials: a.lnPartials, rows: n, channels: c)

        for l in stride(from: config.layers - 1, through: 0, by: -1) {
            let w = p.block(l), dw = g.block(l)
            let residual = l == 0 ? a.encoded : a.residual3[l - 1]
            // forward: residual3 = residual2 + fcGelu · fcProjWeight + fcProjBias
            Linear.backward(dinp: a.dfc, accumulateInput: false, dweight: dw.fcProjWeight, dbias: dw.fcProjBias,
                            dout: a.dresidual, inp: a.fcGelu[l], weight: w.fcProjWeight, ones: a.ones, rows: n, inputs: 4 * c, outputs: c)
            // forward: fcGelu = gelu(fc)
            GELU.backward(dinp: a.dfc, slope: a.fc[l], dout: a.dfc, count: n * 4 * c)
            // forward: fc = ln2 · fcWeight + fcBias
            Linear.backward(dinp: a.dln, accumulateInput: false, dweight: dw.fcWeight, dbias: dw.fcBias,
                            dout: a.dfc, inp: a.ln2[l], weight: w.fcWeight, ones: a.ones, rows: n, inputs: c, outputs: 4 * c)
            // forward: ln2 = layernorm(residual2); residual2's gradient is dresidual (skip path) + this
            LayerNorm.backward(dinp: a.dresidual, dweight: dw.ln2Weight, dbias: dw.ln2Bias, dout: a.dln, inp: a.residual2[l],
                               weight: w.ln2Weight, mean: a.ln2Mean[l], rstd: a.ln2Rstd[l], partials: a.lnPartials, rows: n, channels: c)
            // forward: residual2 = residual + attnOut · attnProjWeight + attnProjBias
            Linear.backward(dinp: a.dattnOut, accumulateInput: false, dweight: dw.attnProjWeight, dbias: dw.attnProjBias,
                            dout: a.dresidual, inp: a.attnOut[l], weight: w.attnProjWeight, ones: a.ones, rows: n, inputs: c, outputs: c)
            // forward: attnOut = attention(qkv)
            Attention.backward(dqkv: a.dqkv, datt: a.datt, dout: a.dattnOut, qkv: a.qkv[l], att: a.att[l], shape: shape)
            // forward: qkv = ln1 · qkvWeight + qkvBias
            Linear.backward(dinp: a.dln, accumulateInput: false, dweight: dw.qkvWeight, dbias: dw.qkvBias,
                            dout: a.dqkv, inp: a.ln1[l], weight: w.qkvWeight, ones: a.ones, rows: n, inputs: c, outputs: 3 * c)
            // forward: ln1 = layernorm(residual)
            LayerNorm.backward(dinp: a.dresidual, dweight: dw.ln1Weight, dbias: dw.ln1Bias, dout: a.dln, inp: residual,
                               weight: w.ln1Weight, mean: a.ln1Mean[l], rstd: a.ln1Rstd[l], partials: a.lnPartials, rows: n, channels: c)
        }
        tokens.withUnsafeBufferPointer { tok in
            Encoder.backward(dwte: g.wte, dwpe: g.wpe, dout: a.dresidual, tokens: tok.baseAddress!, batch: batch, time: time, channels: c)
        }
    }
}
