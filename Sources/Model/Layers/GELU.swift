import CModelKernels
import Numerics

/// GPT-2's tanh GELU (`gelu_new`): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
///
/// Computed as x·σ(2u) with u = √(2/π)·(x + 0.044715·x³), since 0.5·(1 + tanh u) = σ(2u):
/// one vectorised exp instead of a scalar tanh.
enum GELU {
    static let scale = Float((2.0 / Double.pi).squareRoot())
    static let cubic: Float = 0.044715

    /// σ(2u) for 8 inputs x.
    @inline(__always)
    static func gate(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let u = scale * (x + cubic * x * x * x)
        return 1 / (1 + VectorMath.exp(-2 * u))
    }

    /// out[i] = gelu(inp[i]) for `count` elements (out may alias inp).
    static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let s = Shared(a: out, b: inp, c: inp)
        Parallel.forEachRange(count, granularity: 8) { r in
            forEachBlock(r) { i, load, store in
                let x = load(s.b, i)
                store(s.a, i, x * gate(x))
            }
        }
    }

    /// out[i] = gelu(inp[i]) and slope[i] = gelu'(inp[i]) (the backward pass's factor), so the
    /// backward is one multiply and needs no second exp. `slope` may alias `inp`: each block
    /// of eight is read before it is written.
    static func forward(out: UnsafeMutablePointer<Float>, slope: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let s = SlopeShared(out: out, slope: slope, inp: inp)
        let fused = FusedKernels.active
        Parallel.forEachRange(count, granularity: 8) { r in
            // In training on AVX2 + FMA: the same formulas, eight lanes with fused multiply-adds.
            if fused, mf_gelu_forward(s.inp + r.lowerBound, s.out + r.lowerBound, s.slope + r.lowerBound, r.count) == 1 { return }
            forEachBlock(r) { i, load, store in
                let x = load(s.inp, i)
                let g = gate(x)
                store(s.out, i, x * g)
                store(s.slope, i, derivative(x, gate: g))
            }
        }
    }

    /// d/dx of x·σ(2u) = σ(2u) + x·2σ(2u)(1 − σ(2u))·du/dx, given g = σ(2u).
    @inline(__always)
    static func derivative(_ x: SIMD8<Float>, gate g: SIMD8<Float>) -> SIMD8<Float> {
        let slope: SIMD8<Float> = scale * (1 + 3 * cubic * x * x)
        let dgate: SIMD8<Float> = 2 * g * (1 - g)
        return g + x * dgate * slope
    }

    /// dinp[i] = slope[i] · dout[i] with the slope saved by `forward(out:slope:inp:count:)`
    /// (overwrites dinp; may alias dout).
    static func backward(dinp: UnsafeMutablePointer<Float>, slope: UnsafePointer<Float>, dout: UnsafePointer<Float>, count: Int) {
        Kernels.multiply(UnsafeBufferPointer(start: slope, count: count), UnsafeBufferPointer(start: dout, count: count),
                         into: UnsafeMutableBufferPointer(start: dinp, count: count))
    }

    typealias Load = (UnsafePointer<Float>, Int) -> SIMD8<Float>
    typealias Store = (UnsafeMutablePointer<Float>, Int, SIMD8<Float>) -> Void

    /// Visits `r` eight elements at a time; the tail goes through the same SIMD code on a
    /// padded copy, so every element gets identical arithmetic.
    @inline(__always)
    static func forEachBlock(_ r: Range<Int>, _ body: (Int, Load, Store) -> Void) {
        var i = r.lowerBound
        while i + 8 <= r.upperBound {
            body(i, { p, j in UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self) },
                 { p, j, v in UnsafeMutableRawPointer(p + j).storeBytes(of: v, as: SIMD8<Float>.self) })
            i += 8
        }
        let tail = r.upperBound - i
        if tail > 0 {
            let start = i
            body(start, { p, j in
                var v = SIMD8<Float>()
                for k in 0..<tail { v[k] = p[j + k] }
                return v
            }, { p, j, v in
                for k in 0..<tail { p[j + k] = v[k] }
            })
        }
    }

    private struct SlopeShared: @unchecked Sendable {
        let out, slope: UnsafeMutablePointer<Float>
        let inp: UnsafePointer<Float>
    }
    private struct Shared: @unchecked Sendable {
        let a: UnsafeMutablePointer<Float>
        let b, c: UnsafePointer<Float>
    }
}
