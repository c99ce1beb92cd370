/// Token plus position embedding: out[b, t, :] = wte[tokens[b, t], :] + wpe[t, :].
///
/// Shapes: tokens (B, T); wte (V, C); wpe (maxT, C); out (B, T, C).
enum Encoder {
    static func forward(out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>,
                        wte: UnsafePointer<Float>, wpe: UnsafePointer<Float>, batch: Int, time: Int, channels c: Int) {
        for b in 0..<batch {
            for t in 0..<time {
                let o = out + (b * time + t) * c
                let e = wte + Int(tokens[b * time + t]) * c, p = wpe + t * c
                for i in 0..<c { o[i] = e[i] + p[i] }
            }
        }
    }

    /// dwte[token] += dout, dwpe[t] += dout. Serial: rows scatter into shared embedding rows,
    /// and a fixed order keeps the sums bit-identical from run to run.
    static func backward(dwte: UnsafeMutablePointer<Float>, dwpe: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                         tokens: UnsafePointer<Int32>, batch: Int, time: Int, channels c: Int) {
        for b in 0..<batch {
            for t in 0..<time {
                let d = dout + (b * time + t) * c
                let e = dwte + Int(tokens[b * time + t]) * c, p = dwpe + t * c
                for i in 0..<c { e[i] += d[i]; p[i] += d[i] }
            }
        }
    }
}
