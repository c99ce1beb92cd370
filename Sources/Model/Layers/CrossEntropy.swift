import Foundation
import Numerics

/// Softmax cross-entropy of the logits against next-token targets, with a weight per
/// position: loss = Σ_n weight[n] · (−log softmax(logits[n])[target[n]]).
///
/// SFT passes weight = mask / Σmask (a mean over answer tokens, not over rows); DPO passes
/// ±β·σ(·) per sequence. Shapes: logits, probs (N, V); targets, weights, losses (N).
/// A negative target is padding: its loss and gradient are 0.
enum CrossEntropy {
    /// Fills `probs` and the per-position negative log-likelihoods `losses` (nats).
    static func forward(probs: UnsafeMutablePointer<Float>, losses: UnsafeMutablePointer<Float>,
                        logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, rows n: Int, vocabulary v: Int) {
        let s = Shared(probs: probs, losses: losses, logits: logits, targets: targets)
        Parallel.forEachRowRange(n, elementsPerRow: 4 * v) { rows in
            for r in rows {
                let x = s.logits + r * v, p = s.probs + r * v
                // Eight lanes at a time with VectorMath.exp (glibc's scalar expf cost more than
                // the LM head's product at small widths); the tail runs the same arithmetic.
                let whole = v / 8 * 8
                var m8 = SIMD8<Float>(repeating: -.infinity)
                for i in stride(from: 0, to: whole, by: 8) { m8 = pointwiseMax(m8, load(x + i)) }
                var m = m8.max()
                for i in whole..<v { m = max(m, x[i]) }
                var s8 = SIMD8<Float>()
                for i in stride(from: 0, to: whole, by: 8) {
                    let e = VectorMath.exp(load(x + i) - m)
                    store(e, p + i)
                    s8 += e
                }
                var sum = s8.sum()
                for i in whole..<v { let e = VectorMath.exp(x[i] - m); p[i] = e; sum += e }
                let inv = 1 / sum
                for i in stride(from: 0, to: whole, by: 8) { store(load(p + i) * inv, p + i) }
                for i in whole..<v { p[i] *= inv }
                let target = Int(s.targets[r])
                // −log p[target] = log Σ exp(x − m) + m − x[target], without rounding p first.
                s.losses[r] = target < 0 ? 0 : logf(sum) + m - x[target]
            }
        }
    }

    /// dlogits[n] = weight[n] · (probs[n] − onehot(target[n])), overwriting dlogits.
    static func backward(dlogits: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
                         weights: UnsafePointer<Float>, rows n: Int, vocabulary v: Int) {
        let s = BackwardShared(dlogits: dlogits, probs: probs, targets: targets, weights: weights)
        Parallel.forEachRowRange(n, elementsPerRow: 2 * v) { rows in
            for r in rows {
                let d = s.dlogits + r * v, p = s.probs + r * v
                let target = Int(s.targets[r]), w = s.weights[r]
                if target < 0 || w == 0 {
                    d.update(repeating: 0, count: v)
                    continue
                }
                for i in 0..<v { d[i] = w * p[i] }
                d[target] -= w
            }
        }
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> { load(UnsafePointer(p)) }
    @inline(__always) static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    private struct Shared: @unchecked Sendable {
        let probs, losses: UnsafeMutablePointer<Float>
        let logits: UnsafePointer<Float>
        let targets: UnsafePointer<Int32>
    }
    private struct BackwardShared: @unchecked Sendable {
        let dlogits: UnsafeMutablePointer<Float>
        let probs: UnsafePointer<Float>
        let targets: UnsafePointer<Int32>
        let weights: UnsafePointer<Float>
    }
}
