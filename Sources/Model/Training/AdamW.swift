import Foundation
import Numerics

/// AdamW with decoupled weight decay, exactly as `torch.optim.AdamW` (foreach=False):
///
///     p *= 1 − lr·wd
///     m  = β1·m + (1 − β1)·g
///     v  = β2·v + (1 − β2)·g²
///     p -= lr/(1 − β1^t) · m / (√v/√(1 − β2^t) + eps)
///
/// Decay applies to the matrices inside blocks only (`ParameterBuffer.isDecayed`).
/// The moments share the parameters' layout, so saving and restoring them is a flat copy.
public final class AdamW {
    public struct Settings: Sendable, Equatable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.95
        public var eps: Float = 1e-8
        public var weightDecay: Float = 0.1
        public init(beta1: Float = 0.9, beta2: Float = 0.95, eps: Float = 1e-8, weightDecay: Float = 0.1) {
            self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        }
    }

    public let settings: Settings
    public let m: ParameterBuffer
    public let v: ParameterBuffer
    /// Steps taken so far (the next step is `step + 1`).
    public var step: Int = 0

    public init(config: GPT2Config, settings: Settings = Settings()) {
        self.settings = settings
        m = ParameterBuffer(config: config)
        v = ParameterBuffer(config: config)
    }

    /// One update of `parameters` with `gradients` at learning rate `lr`.
    public func update(parameters: ParameterBuffer, gradients: ParameterBuffer, lr: Float) {
        step += 1
        let s = settings
        let bc1 = 1 - pow(s.beta1, Float(step))
        let bc2Root = (1 - pow(s.beta2, Float(step))).squareRoot()
        let stepSize = lr / bc1
        for i in parameters.names.indices {
            let decay: Float = parameters.isDecayed(i) ? 1 - lr * s.weightDecay : 1
            let ptr = Pointers(p: parameters.tensor(i).baseAddress!, g: gradients.tensor(i).baseAddress!,
                               m: m.tensor(i).baseAddress!, v: v.tensor(i).baseAddress!)
            Parallel.forEachRange(parameters.elementCount(i), granularity: 8) { r in
                // Eight lanes at a time (the four pointers could alias as far as the compiler
                // knows, so it does not vectorise the scalar loop); the tail is the same
                // arithmetic one element at a time, so each element's result is the same.
                var j = r.lowerBound
                while j + 8 <= r.upperBound {
                    let g = ptr.load(ptr.g, j)
                    let mj = s.beta1 * ptr.load(ptr.m, j) + (1 - s.beta1) * g
                    let vj = s.beta2 * ptr.load(ptr.v, j) + (1 - s.beta2) * g * g
                    ptr.store(mj, ptr.m, j)
                    ptr.store(vj, ptr.v, j)
                    let p = ptr.load(ptr.p, j) * decay
                    ptr.store(p - stepSize * mj / (vj.squareRoot() / bc2Root + s.eps), ptr.p, j)
                    j += 8
                }
                for j in j..<r.upperBound {
                    let g = ptr.g[j]
                    let mj = s.beta1 * ptr.m[j] + (1 - s.beta1) * g
                    let vj = s.beta2 * ptr.v[j] + (1 - s.beta2) * g * g
                    ptr.m[j] = mj
                    ptr.v[j] = vj
                    let p = ptr.p[j] * decay
                    ptr.p[j] = p - stepSize * mj / (vj.squareRoot() / bc2Root + s.eps)
                }
            }
        }
    }

    private struct Pointers: @unchecked Sendable {
        let p, g, m, v: UnsafeMutablePointer<Float>
        @inline(__always) func load(_ x: UnsafeMutablePointer<Float>, _ j: Int) -> SIMD8<Float> {
            UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)
        }
        @inline(__always) func store(_ value: SIMD8<Float>, _ x: UnsafeMutablePointer<Float>, _ j: Int) {
            UnsafeMutableRawPointer(x + j).storeBytes(of: value, as: SIMD8<Float>.self)
        }
    }
}
