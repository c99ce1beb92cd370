@testable import Model
import CModelKernels
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

    /// Which loops: as `Attention.forward` dispatches, or one path forced.
    enum Path { case dispatched, blocked, fused }

    func run(_ s: Attention.Shape, _ qkv: [Float], _ dout: [Float], path: Path = .dispatched) -> (out: [Float], att: [Float], dqkv: [Float]) {
        var out = [Float](repeating: .nan, count: s.batch * s.time * s.channels)
        var att = [Float](repeating: .nan, count: s.batch * s.heads * s.time * s.time)
        var datt = att
        var dqkv = [Float](repeating: .nan, count: qkv.count)
        qkv.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                att.withUnsafeMutableBufferPointer { a in
                    switch path {
                    case .dispatched: Attention.forward(out: o.baseAddress!, att: a.baseAddress!, qkv: x.baseAddress!, shape: s)
                    case .blocked: Attention.blockedForward(out: o.baseAddress!, att: a.baseAddress!, qkv: x.baseAddress!, shape: s)
                    case .fused: Attention.fusedForward(out: o.baseAddress!, att: a.baseAddress!, qkv: x.baseAddress!, shape: s)
                    }
                    dout.withUnsafeBufferPointer { dy in
                        datt.withUnsafeMutableBufferPointer { d in
                            dqkv.withUnsafeMutableBufferPointer { dx in
                                let (dq, dt, g, x, p) = (dx.baseAddress!, d.baseAddress!, dy.baseAddress!, x.baseAddress!, UnsafePointer(a.baseAddress!))
                                switch path {
                                case .dispatched: Attention.backward(dqkv: dq, datt: dt, dout: g, qkv: x, att: p, shape: s)
                                case .blocked: Attention.blockedBackward(dqkv: dq, datt: dt, dout: g, qkv: x, att: p, shape: s)
                                case .fused: Attention.fusedBackward(dqkv: dq, datt: dt, dout: g, qkv: x, att: p, shape: s)
                                }
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
        checkAgainstReference(.blocked)
    }

    /// Inside a split OpenBLAS is single-threaded and each query block takes its keys whole.
    func testWholeKeyRangesMatchFullMatrixLoops() {
        ComputeThreads.withFixedSplit(2) { checkAgainstReference(.blocked) }
    }

    /// The C loops training runs on CPUs with AVX2 and FMA.
    func testFusedLoopsMatchFullMatrixLoops() throws {
        try XCTSkipUnless(FusedKernels.available, "this CPU has no AVX2 + FMA: training runs the blocked loops")
        checkAgainstReference(.fused)
        XCTAssertEqual(ComputeThreads.withFixedSplit(2) { FusedKernels.active }, true, "training dispatches to the fused loops")
        XCTAssertFalse(FusedKernels.active, "inference keeps the blocked loops")
    }

    /// Each product element is the same chain of fused multiply-adds with 8 or 16 lanes.
    func testAVX2AndAVX512TilesGiveTheSameBits() throws {
        try XCTSkipUnless(mf_model_kernels_lanes() == 16, "this CPU has no AVX-512")
        defer { mf_model_kernels_set_lanes(16) }
        for (i, (b, t, c, nh)) in shapes.enumerated() {
            let s = Attention.Shape(batch: b, time: t, channels: c, heads: nh)
            let (qkv, dout) = inputs(s, seed: UInt64(50 + i))
            mf_model_kernels_set_lanes(8)
            let avx2 = run(s, qkv, dout, path: .fused)
            mf_model_kernels_set_lanes(16)
            let avx512 = run(s, qkv, dout, path: .fused)
            XCTAssertEqual(avx2.out, avx512.out, "out, shape \(b)×\(t)×\(c)/\(nh)")
            XCTAssertEqual(avx2.dqkv, avx512.dqkv, "dqkv, shape \(b)×\(t)×\(c)/\(nh)")
        }
    }

    func checkAgainstReference(_ path: Path) {
        for (i, (b, t, c, nh)) in shapes.enumerated() {
            let s = Attention.Shape(batch: b, time: t, channels: c, heads: nh)
            let (qkv, dout) = inputs(s, seed: UInt64(30 + i))
            let got = run(s, qkv, dout, path: path)
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
        // Key tiles (OpenBLAS's count moves with the workers; tile products stay under its
        // threading threshold), then whole key ranges inside a split.
        for split in [false, true] {
            let compare = {
                ComputeThreads.set(1)
                let one = self.run(s, qkv, dout)
                for threads in [2, 3] {
                    ComputeThreads.set(threads)
                    let other = self.run(s, qkv, dout)
                    XCTAssertEqual(one.out, other.out, "out, 1 vs \(threads) threads, split \(split)")
                    XCTAssertEqual(one.dqkv, other.dqkv, "dqkv, 1 vs \(threads) threads, split \(split)")
                }
            }
            if split { ComputeThreads.withFixedSplit(2, compare) } else { compare() }
        }
    }
}
