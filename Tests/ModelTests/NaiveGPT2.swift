import Foundation
import Model

/// A plain-loop Float64 GPT-2: the spec the fast Float32 kernels are checked against, and the
/// function whose finite differences check the hand-written backward pass. Written from the
/// formulas (not from the fast code): no BLAS, no buffers shared between layers.
struct NaiveGPT2 {
    let config: GPT2Config
    /// Parameters by Hugging Face name, flattened row-major.
    var tensors: [String: [Double]]

    init(config: GPT2Config, parameters: ParameterBuffer) {
        self.config = config
        var tensors: [String: [Double]] = [:]
        for (i, name) in parameters.names.enumerated() { tensors[name] = parameters.tensor(i).map(Double.init) }
        self.tensors = tensors
    }

    private func t(_ name: String) -> [Double] { tensors[name]! }

    /// Logits (B·T·V) for `tokens` (B·T).
    func logits(tokens: [Int32], batch: Int, time: Int) -> [Double] {
        let c = config.channels, v = config.vocabulary, nh = config.heads, hs = c / nh
        var out: [Double] = []
        for b in 0..<batch {
            // x[t] is the residual stream at position t.
            var x: [[Double]] = (0..<time).map { pos in
                let tok = Int(tokens[b * time + pos])
                return (0..<c).map { t("transformer.wte.weight")[tok * c + $0] + t("transformer.wpe.weight")[pos * c + $0] }
            }
            for l in 0..<config.layers {
                let p = "transformer.h.\(l)."
                let h1 = x.map { layerNorm($0, t(p + "ln_1.weight"), t(p + "ln_1.bias")) }
                let qkv = h1.map { conv1D($0, t(p + "attn.c_attn.weight"), t(p + "attn.c_attn.bias"), outputs: 3 * c) }
                var y = [[Double]](repeating: [Double](repeating: 0, count: c), count: time)
                for h in 0..<nh {
                    for i in 0..<time {
                        var scores: [Double] = []
                        for j in 0...i {
                            var s = 0.0
                            for d in 0..<hs { s += qkv[i][h * hs + d] * qkv[j][c + h * hs + d] }
                            scores.append(s / Double(hs).squareRoot())
                        }
                        let m = scores.max()!
                        let e = scores.map { exp($0 - m) }
                        let z = e.reduce(0, +)
                        for j in 0...i {
                            for d in 0..<hs { y[i][h * hs + d] += e[j] / z * qkv[j][2 * c + h * hs + d] }
                        }
                    }
                }
                for i in 0..<time {
                    let proj = conv1D(y[i], t(p + "attn.c_proj.weight"), t(p + "attn.c_proj.bias"), outputs: c)
                    for k in 0..<c { x[i][k] += proj[k] }
                    let h2 = layerNorm(x[i], t(p + "ln_2.weight"), t(p + "ln_2.bias"))
                    let fc = conv1D(h2, t(p + "mlp.c_fc.weight"), t(p + "mlp.c_fc.bias"), outputs: 4 * c).map(gelu)
                    let mlp = conv1D(fc, t(p + "mlp.c_proj.weight"), t(p + "mlp.c_proj.bias"), outputs: c)
                    for k in 0..<c { x[i][k] += mlp[k] }
                }
            }
            let wte = t("transformer.wte.weight")
            for i in 0..<time {
                let h = layerNorm(x[i], t("transformer.ln_f.weight"), t("transformer.ln_f.bias"))
                for token in 0..<v {
                    var s = 0.0
                    for k in 0..<c { s += h[k] * wte[token * c + k] }
                    out.append(s)
                }
            }
        }
        return out
    }

    /// Σ weights[n] · (−log softmax(logits[n])[targets[n]]).
    func loss(tokens: [Int32], targets: [Int32], weights: [Double], batch: Int, time: Int) -> Double {
        let v = config.vocabulary
        let z = logits(tokens: tokens, batch: batch, time: time)
        var total = 0.0
        for n in 0..<(batch * time) where targets[n] >= 0 {
            let row = z[(n * v)..<((n + 1) * v)]
            let m = row.max()!
            let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
            total += weights[n] * (lse - row[n * v + Int(targets[n])])
        }
        return total
    }

    private func layerNorm(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
        let mean = x.reduce(0, +) / Double(x.count)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
        return x.indices.map { (x[$0] - mean) / (variance + 1e-5).squareRoot() * w[$0] + b[$0] }
    }

    private func conv1D(_ x: [Double], _ w: [Double], _ b: [Double], outputs: Int) -> [Double] {
        (0..<outputs).map { o in
            var s = b[o]
            for i in x.indices { s += x[i] * w[i * outputs + o] }
            return s
        }
    }

    private func gelu(_ x: Double) -> Double {
        0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }
}
