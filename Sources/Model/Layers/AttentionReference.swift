import Foundation

/// The spec `Attention` is tested against: causal attention as textbook loops over the full
/// T×T matrix, in Double, one (batch, head) at a time. Same shapes as `Attention`.
enum AttentionReference {
    /// out (B, T, C) and the probabilities (B, NH, T, T), zero above the diagonal.
    static func forward(qkv: [Float], shape: Attention.Shape) -> (out: [Double], att: [Double]) {
        let (bs, t, c, nh, hs) = (shape.batch, shape.time, shape.channels, shape.heads, shape.headSize)
        let scale = 1 / Double(hs).squareRoot()
        var out = [Double](repeating: 0, count: bs * t * c), att = [Double](repeating: 0, count: bs * nh * t * t)
        for b in 0..<bs {
            for h in 0..<nh {
                func q(_ i: Int, _ e: Int) -> Double { Double(qkv[(b * t + i) * 3 * c + h * hs + e]) }
                func k(_ i: Int, _ e: Int) -> Double { Double(qkv[(b * t + i) * 3 * c + c + h * hs + e]) }
                func v(_ i: Int, _ e: Int) -> Double { Double(qkv[(b * t + i) * 3 * c + 2 * c + h * hs + e]) }
                for i in 0..<t {
                    let row = ((b * nh + h) * t + i) * t
                    var scores = (0...i).map { j in scale * (0..<hs).reduce(0.0) { $0 + q(i, $1) * k(j, $1) } }
                    let m = scores.max()!
                    scores = scores.map { Foundation.exp($0 - m) }
                    let sum = scores.reduce(0, +)
                    for j in 0...i { att[row + j] = scores[j] / sum }
                    for e in 0..<hs {
                        out[(b * t + i) * c + h * hs + e] = (0...i).reduce(0.0) { $0 + att[row + $1] * v($1, e) }
                    }
                }
            }
        }
        return (out, att)
    }

    /// dqkv (B, T, 3C) for the upstream gradient dout (B, T, C).
    static func backward(dout: [Float], qkv: [Float], shape: Attention.Shape) -> [Double] {
        let (bs, t, c, nh, hs) = (shape.batch, shape.time, shape.channels, shape.heads, shape.headSize)
        let scale = 1 / Double(hs).squareRoot()
        let att = forward(qkv: qkv, shape: shape).att
        var dqkv = [Double](repeating: 0, count: bs * t * 3 * c)
        for b in 0..<bs {
            for h in 0..<nh {
                func x(_ i: Int, _ part: Int, _ e: Int) -> Double { Double(qkv[(b * t + i) * 3 * c + part * c + h * hs + e]) }
                func dy(_ i: Int, _ e: Int) -> Double { Double(dout[(b * t + i) * c + h * hs + e]) }
                func dx(_ i: Int, _ part: Int, _ e: Int) -> Int { (b * t + i) * 3 * c + part * c + h * hs + e }
                for i in 0..<t {
                    let row = ((b * nh + h) * t + i) * t
                    // out[i] = Σ_j p[i][j]·v[j]
                    let dp = (0...i).map { j in (0..<hs).reduce(0.0) { $0 + dy(i, $1) * x(j, 2, $1) } }
                    for j in 0...i { for e in 0..<hs { dqkv[dx(j, 2, e)] += att[row + j] * dy(i, e) } }
                    // p = softmax(s): ds[j] = p[j]·(dp[j] − Σ p·dp); s[i][j] = scale·q[i]·k[j]
                    let dot = (0...i).reduce(0.0) { $0 + att[row + $1] * dp[$1] }
                    for j in 0...i {
                        let ds = att[row + j] * (dp[j] - dot) * scale
                        for e in 0..<hs {
                            dqkv[dx(i, 0, e)] += ds * x(j, 1, e)
                            dqkv[dx(j, 1, e)] += ds * x(i, 0, e)
                        }
                    }
                }
            }
        }
        return dqkv
    }
}
