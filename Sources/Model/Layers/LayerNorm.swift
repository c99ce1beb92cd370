import Numerics

/// LayerNorm over the channel axis, with GPT-2's eps 1e-5 inside the square root and the
/// biased variance: out = (x − mean) / √(var + 1e-5) · weight + bias.
///
/// Shapes: inp, out (N, C); weight, bias (C); mean, rstd (N) saved for the backward pass.
enum LayerNorm {
    static let eps: Float = 1e-5

    static func forward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                        inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                        rows n: Int, channels c: Int) {
        let s = Shared(out: out, mean: mean, rstd: rstd, inp: inp, weight: weight, bias: bias)
        Parallel.forEachRowRange(n, elementsPerRow: 4 * c) { rows in
            // Eight lanes at a time (the compiler keeps a Float sum's order, so it does not
            // vectorise the scalar loops); channels past the last multiple of 8 run scalar.
            let whole = c / 8 * 8
            for r in rows {
                let x = s.inp + r * c
                var m8 = SIMD8<Float>()
                for i in stride(from: 0, to: whole, by: 8) { m8 += load(x + i) }
                var m = m8.sum()
                for i in whole..<c { m += x[i] }
                m /= Float(c)
                var v8 = SIMD8<Float>()
                for i in stride(from: 0, to: whole, by: 8) { let d = load(x + i) - m; v8 += d * d }
                var v = v8.sum()
                for i in whole..<c { let d = x[i] - m; v += d * d }
                v /= Float(c)
                let rs = 1 / (v + eps).squareRoot()
                let o = s.out + r * c
                for i in stride(from: 0, to: whole, by: 8) {
                    store((load(x + i) - m) * rs * load(s.weight + i) + load(s.bias + i), o + i)
                }
                for i in whole..<c { o[i] = (x[i] - m) * rs * s.weight[i] + s.bias[i] }
                s.mean[r] = m
                s.rstd[r] = rs
            }
        }
    }

    /// Accumulates: dinp += …, dweight += Σ norm·dout, dbias += Σ dout.
    ///
    /// The parameter sums run over fixed blocks of rows into `partials` (at least
    /// `partialCount(rows:channels:)` floats) and are then added in block order, so the
    /// result does not depend on the number of threads.
    static func backward(dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>,
                         dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                         mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                         partials: UnsafeMutablePointer<Float>, rows n: Int, channels c: Int) {
        let blocks = (n + blockRows - 1) / blockRows
        partials.update(repeating: 0, count: blocks * 2 * c)
        let s = BackwardShared(dinp: dinp, dout: dout, inp: inp, weight: weight, mean: mean, rstd: rstd, partials: partials)
        Parallel.forEachRowRange(blocks, elementsPerRow: blockRows * 8 * c) { blockRange in
            let whole = c / 8 * 8
            for b in blockRange {
                let dw = s.partials + b * 2 * c, db = dw + c
                for r in (b * blockRows)..<min(n, (b + 1) * blockRows) {
                    let x = s.inp + r * c, dy = s.dout + r * c, dx = s.dinp + r * c
                    let m = s.mean[r], rs = s.rstd[r]
                    // norm = (x − mean)·rstd; dnorm = weight·dout
                    var a8 = SIMD8<Float>(), b8 = SIMD8<Float>()
                    for i in stride(from: 0, to: whole, by: 8) {
                        let norm = (load(x + i) - m) * rs
                        let dnorm = load(s.weight + i) * load(dy + i)
                        a8 += dnorm
                        b8 += dnorm * norm
                    }
                    var dnormMean = a8.sum(), dnormNormMean = b8.sum()
                    for i in whole..<c {
                        let norm = (x[i] - m) * rs
                        let dnorm = s.weight[i] * dy[i]
                        dnormMean += dnorm
                        dnormNormMean += dnorm * norm
                    }
                    dnormMean /= Float(c)
                    dnormNormMean /= Float(c)
                    for i in stride(from: 0, to: whole, by: 8) {
                        let norm = (load(x + i) - m) * rs
                        let g = load(dy + i)
                        let dnorm = load(s.weight + i) * g
                        store(load(db + i) + g, db + i)
                        store(load(dw + i) + norm * g, dw + i)
                        store(load(dx + i) + (dnorm - dnormMean - norm * dnormNormMean) * rs, dx + i)
                    }
                    for i in whole..<c {
                        let norm = (x[i] - m) * rs
                        let dnorm = s.weight[i] * dy[i]
                        db[i] += dy[i]
                        dw[i] += norm * dy[i]
                        // dx = rstd·(dnorm − mean(dnorm) − norm·mean(dnorm·norm))
                        dx[i] += (dnorm - dnormMean - norm * dnormNormMean) * rs
                    }
                }
            }
        }
        for b in 0..<blocks {
            let dw = partials + b * 2 * c, db = dw + c
            for i in 0..<c { dweight[i] += dw[i]; dbias[i] += db[i] }
        }
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> { load(UnsafePointer(p)) }
    @inline(__always) static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    static let blockRows = 64
    static func partialCount(rows: Int, channels: Int) -> Int { (rows + blockRows - 1) / blockRows * 2 * channels }

    private struct Shared: @unchecked Sendable {
        let out, mean, rstd: UnsafeMutablePointer<Float>
        let inp, weight, bias: UnsafePointer<Float>
    }
    private struct BackwardShared: @unchecked Sendable {
        let dinp: UnsafeMutablePointer<Float>
        let dout, inp, weight, mean, rstd: UnsafePointer<Float>
        let partials: UnsafeMutablePointer<Float>
    }
}
