@testable import Merge
import Numerics
import Store
import XCTest

/// The C loops for CPUs with AVX2 and FMA (`CMergeKernels`) against the portable Swift loops
/// and against a scalar reference written from the definition (torch's addcmul chain: one
/// fused multiply-add per input, `Float.addingProduct`), on values spread over the whole
/// float range: subnormals, ±0, products that underflow, sums that overflow, weights of
/// both signs, divisors that are and are not powers of two, counts with ragged tails.
final class StoredKernelPathTests: XCTestCase {
    /// Random floats with exponents from 2⁻¹⁴⁰ to 2⁹⁰ (subnormals included), and ±0, as
    /// stored in `dtype` (bf16: the high half, so the value is exactly representable).
    private func values(_ count: Int, _ dtype: DType, _ random: inout SeededRandom) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count * dtype.size)
        for i in 0..<count {
            let r = random.next()
            var x: Float
            switch r % 16 {
            case 0: x = 0
            case 1: x = -0.0
            default:
                let exponent = Int(r >> 8 % 231) - 140
                x = Float(sign: r & 1 == 0 ? .plus : .minus, exponent: exponent, significand: 1 + Float(r >> 40 & 0xFFFF) / 65_536)
            }
            if dtype == .bf16 {
                let h = UInt16(truncatingIfNeeded: x.bitPattern >> 16)
                bytes[2 * i] = UInt8(h & 0xFF); bytes[2 * i + 1] = UInt8(h >> 8)
            } else {
                withUnsafeBytes(of: x.bitPattern.littleEndian) { for b in 0..<4 { bytes[4 * i + b] = $0[b] } }
            }
        }
        return bytes
    }

    private func load(_ bytes: [UInt8], _ i: Int, _ dtype: DType) -> Float {
        dtype == .bf16 ? Float(bitPattern: UInt32(bytes[2 * i]) << 16 | UInt32(bytes[2 * i + 1]) << 24)
            : Float(bitPattern: UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24)
    }

    private func stored(_ x: Float, _ dtype: DType) -> [UInt8] {
        if dtype == .bf16 { let h = DType.bfloat16Bits(x); return [UInt8(h & 0xFF), UInt8(h >> 8)] }
        return withUnsafeBytes(of: x.bitPattern.littleEndian) { Array($0) }
    }

    /// The number of differing bytes (-1 for different lengths): a count, not two arrays, in a failure.
    private func differing(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.count == b.count ? zip(a, b).filter { $0 != $1 }.count : -1
    }

    func testLinearFastPathIsTheFusedChainAndEqualsThePortableLoop() throws {
        try XCTSkipUnless(mergeKernelsAvailable, "this CPU has no AVX2 + FMA: only the Swift loops run")
        var random = SeededRandom(seed: 11)
        let weightSets: [([Float], Float?)] = [([0.5, 0.3, 0.2], 1), ([0.6, 0.3, 0.25], 1.15), ([0.7, -0.4, 0.2], nil),
                                               ([2, 1, 1], 4), ([1e-30, 3e20, -7.5], 3e20), ([0.125], 0.125), ([0.1, 0.2, 0.3, 0.4], 1)]
        var mismatches = 0, compared = 0
        for input in [DType.bf16, .f32] {
            for output in [DType.bf16, .f32] {
                for (weights, divisor) in weightSets {
                    for count in [0, 1, 7, 8, 9, 37, 4_099] {
                        let xs = weights.map { _ in values(count, input, &random) }
                        var fast = [UInt8](repeating: 0xAA, count: count * output.size), portable = fast
                        let pointers = xs.map { $0.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) } }
                        let okFast = withExtendedLifetime(xs) {
                            fast.withUnsafeMutableBytes { out in
                                Linear.fusedWeightedSum(stored: pointers.map { StoredElements(start: $0, dtype: input) }, count: count,
                                                        weights: weights, divisor: divisor, output: output, into: out.baseAddress!)
                            }
                        }
                        let okPortable = withExtendedLifetime(xs) {
                            portable.withUnsafeMutableBytes { out in
                                Linear.fusedWeightedSum(stored: pointers.map { StoredElements(start: $0, dtype: input) }, count: count,
                                                        weights: weights, divisor: divisor, output: output, into: out.baseAddress!,
                                                        portable: true)
                            }
                        }
                        var reference: [UInt8] = [], allFinite = true
                        for i in 0..<count {
                            var acc = Float(0).addingProduct(load(xs[0], i, input), weights[0])
                            for k in 1..<weights.count { acc = acc.addingProduct(load(xs[k], i, input), weights[k]) }
                            if let divisor { acc /= divisor }
                            allFinite = allFinite && acc.isFinite
                            reference += stored(acc, output)
                        }
                        let what = "\(input) → \(output), weights \(weights), divisor \(String(describing: divisor)), \(count) elements"
                        if input == .f32, output == .f32, count > 0 {
                            // The widened (Float32 buffer) merge, both paths.
                            let floats = xs.map { x in (0..<count).map { load(x, $0, .f32) } }
                            for portable in [false, true] {
                                var widened = [Float](repeating: 0, count: count)
                                withExtendedLifetime(floats) {
                                    let views = floats.map { f in f.withUnsafeBufferPointer { $0 } }
                                    widened.withUnsafeMutableBufferPointer {
                                        Linear.fusedWeightedSum(views, weights: weights, divisor: divisor, into: $0, portable: portable)
                                    }
                                }
                                XCTAssertEqual(differing(widened.flatMap { stored($0, .f32) }, reference), 0, "widened, portable \(portable): " + what)
                            }
                        }
                        XCTAssertEqual(differing(fast, reference), 0, what)
                        XCTAssertEqual(okFast, allFinite, what)
                        XCTAssertEqual(okPortable, allFinite, what)
                        compared += count
                        mismatches += differing(fast, portable)
                    }
                }
            }
        }
        XCTAssertGreaterThan(compared, 100_000)
        XCTAssertEqual(mismatches, 0, "the portable loop (Linear.fusedStep) rounds as the fused multiply-add")
    }

    func testPairSumAndStatisticsFastPathsEqualThePortableLoops() throws {
        try XCTSkipUnless(mergeKernelsAvailable, "this CPU has no AVX2 + FMA: only the Swift loops run")
        var random = SeededRandom(seed: 12)
        for input in [DType.bf16, .f32] {
            for count in [0, 5, 8, 13, 64, 5_003] {
                let v0 = values(count, input, &random), v1 = values(count, input, &random)
                try v0.withUnsafeBytes { a in
                    try v1.withUnsafeBytes { b in
                        let s0 = StoredElements(start: a.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, dtype: input)
                        let s1 = StoredElements(start: b.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, dtype: input)
                        for output in [DType.bf16, .f32] {
                            for c in [(lerp: true, s0: 0.0, s1: 0.0), (lerp: false, s0: 0.61, s1: -0.37)] {
                                var fast = [UInt8](repeating: 0, count: count * output.size), portable = fast
                                let f = fast.withUnsafeMutableBytes { Slerp.combine(stored: s0, s1, c, t: 0.3, count: count, output: output, into: $0.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 8)!) }
                                let p = portable.withUnsafeMutableBytes { Slerp.combine(stored: s0, s1, c, t: 0.3, count: count, output: output, into: $0.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 8)!, portable: true) }
                                XCTAssertEqual(differing(fast, portable), 0, "\(input) → \(output) \(c) \(count)")
                                XCTAssertEqual(f, p)
                            }
                        }
                        guard count > 0 else { return }
                        // Values small enough that no square overflows a Double.
                        var partialsFast = [Double](repeating: 0, count: 3), partialsPortable = partialsFast
                        partialsFast.withUnsafeMutableBufferPointer { Slerp.partialDotAndSquares(stored: s0, s1, range: 0..<count, into: $0.baseAddress!) }
                        partialsPortable.withUnsafeMutableBufferPointer {
                            Slerp.partialDotAndSquares(stored: s0, s1, range: 0..<count, into: $0.baseAddress!, portable: true)
                        }
                        XCTAssertEqual(partialsFast.map(\.bitPattern), partialsPortable.map(\.bitPattern), "\(input) Σ of \(count)")
                        XCTAssertTrue(try XCTUnwrap(partialsFast.first).isFinite)
                    }
                }
            }
        }
    }
}
