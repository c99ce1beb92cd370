@testable import Model
import Numerics
import XCTest

/// The blocked, (batch, head)-parallel `Attention` against `AttentionReference` (full T×T
/// loops in Double), on shapes that cut into several query blocks and key tiles with ragged
/// ends, and bit-for-bit the same for any number of worker threads.
final class AttentionTests: XCTestCase {
    override func tearDown() { ComputeThreads.set(ComputeThreads.available) }

    // (batch, time, channels, heads): head sizes 32 (key tile 64), 64 (key tile 32), 4 and 20.
    let shapes = [(2, 150, 64, 2), (1, 97, 128, 2), (3, 7, 12, 3), (1, 200, 40, 2)]

    func inputs(_ s: Attention.Shape, seed: UInt64) -> (qkv: [Float], dout: [Float]) {
        var rng = SeededRandom(seed: seed)
        // Large enough that the softmax is far from uniform.
        let qkv = (0..<(s.batch * s.time * 3 * s.channels)).map { _ in Float(rng.uniform() * 4 - 2) }
        let dout = (0..<(s.batch * s.time * s.channels)).map { _ in Float(rng.uniform() * 2 - 1) }
        return (qkv, dout)
    }

    func run(_ s: Attention.Shape, _ qkv: [Float], _ dout: [Float]) -> (out: [Float], att: [Float], dqkv: [Float]) {
        var out = [Float](repeating: .nan, count: s.batch * s.time * s.channels)
        var att = [Float](repeating: .nan, count: s.batch * s.heads * s.time * s.time)
        var datt = att
        var dqkv = [Float](repeating: .nan, count: qkv.count)
        qkv.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                att.withUnsafeMutableBufferPointer { a in
                    Attention.forward(out: o.baseAddress!, att: a.baseAddress!, qkv: x.baseAddress!, shape: s)
                    dout.withUnsafeBufferPointer { dy in
                        datt.withUnsafeMutableBufferPointer { d in
                            dqkv.withUnsafeMutableBufferPointer { dx in
                                Attention.backward(dqkv: dx.baseAddress!, datt: d.baseAddress!, dout: dy.baseAddress!,
                                                   qkv: x.baseAddress!, att: UnsafePointer(a.baseAddress!), shape: s)
                            }
                        }
                    }
                }
            }
        }
        return (out, att, dqkv)
    }

    /// max |got − want| / max |want|
    func relativeError(_ got: [Float], _ want: [Double]) -> Double {
        var worst = 0.0, scale = 0.0
        for i in want.indices {
            worst = max(worst, abs(Double(got[i]) - want[i]))
            scale = max(scale, abs(want[i]))
        }
        return worst.isNaN || got.contains(where: { $0.isNaN }) ? .infinity : worst / scale
    }

    func testBlockedAttentionMatchesFullMatrixLoops() {
        for (i, (b, t, c, nh)) in shapes.enumerated() {
            let s = Attention.Shape(batch: b, time: t, channels: c, heads: nh)
            let (qkv, dout) = inputs(s, seed: UInt64(30 + i))
            let got = run(s, qkv, dout)
            let want = AttentionReference.forward(qkv: qkv, shape: s)
            XCTAssertLessThan(relativeError(got.out, want.out), 2e-6, "out, shape \(b)×\(t)×\(c)/\(nh)")
            // The saved probabilities, on and below the diagonal (what backward reads).
            var worst = 0.0
            for bh in 0..<(b * nh) { for r in 0..<t { for j in 0...r {
                worst = max(worst, abs(Double(got.att[(bh * t + r) * t + j]) - want.att[(bh * t + r) * t + j]))
            } } }
            XCTAssertLessThan(worst, 1e-6, "att, shape \(b)×\(t)×\(c)/\(nh)")
            let dqkv = AttentionReference.backward(dout: dout, qkv: qkv, shape: s)
            XCTAssertLessThan(relativeError(got.dqkv, dqkv), 1e-5, "dqkv, shape \(b)×\(t)×\(c)/\(nh)")
        }
    }

    func testWorkerCountDoesNotChangeABit() {
        let s = Attention.Shape(batch: 3, time: 150, channels: 64, heads: 2)
        let (qkv, dout) = inputs(s, seed: 40)
        ComputeThreads.withPinnedBLAS(1) {
            ComputeThreads.set(1)
            let one = run(s, qkv, dout)
            for threads in [2, 3] {
                ComputeThreads.set(threads)
                let other = run(s, qkv, dout)
                XCTAssertEqual(one.out, other.out, "out, 1 vs \(threads) threads")
                XCTAssertEqual(one.dqkv, other.dqkv, "dqkv, 1 vs \(threads) threads")
            }
        }
    }
}
