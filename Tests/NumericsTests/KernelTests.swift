import XCTest
@testable import Numerics

/// Parallel kernels against plain loops, on sizes that straddle the parallel threshold.
final class KernelTests: XCTestCase {
    override func tearDown() { ComputeThreads.set(ComputeThreads.available) }

    let sizes = [0, 1, 7, 1023, Kernels.reductionBlock + 3, Parallel.minimumParallelCount * 3 + 17, 1 << 20]

    func testElementwiseMatchesLoops() {
        var rng = TestRandom(seed: 1)
        for n in sizes {
            let x = rng.floats(n), y = rng.floats(n)
            var out = [Float](repeating: 0, count: n)
            func check(_ name: String, _ f: (Float, Float) -> Float) {
                for i in 0..<n where out[i] != f(x[i], y[i]) {
                    XCTFail("\(name) n=\(n) i=\(i): \(out[i]) != \(f(x[i], y[i]))"); return
                }
            }
            x.withUnsafeBufferPointer { px in y.withUnsafeBufferPointer { py in out.withUnsafeMutableBufferPointer { po in
                Kernels.add(px, py, into: po) } } }
            check("add") { $0 + $1 }
            x.withUnsafeBufferPointer { px in y.withUnsafeBufferPointer { py in out.withUnsafeMutableBufferPointer { po in
                Kernels.subtract(px, py, into: po) } } }
            check("subtract") { $0 - $1 }
            x.withUnsafeBufferPointer { px in y.withUnsafeBufferPointer { py in out.withUnsafeMutableBufferPointer { po in
                Kernels.multiply(px, py, into: po) } } }
            check("multiply") { $0 * $1 }
            x.withUnsafeBufferPointer { px in y.withUnsafeBufferPointer { py in out.withUnsafeMutableBufferPointer { po in
                Kernels.lerp(px, py, t: 0.25, into: po) } } }
            check("lerp") { 0.75 * $0 + 0.25 * $1 }
            x.withUnsafeBufferPointer { px in out.withUnsafeMutableBufferPointer { po in Kernels.scale(px, by: -3, into: po) } }
            check("scale") { a, _ in a * -3 }
            var acc = y
            x.withUnsafeBufferPointer { px in acc.withUnsafeMutableBufferPointer { pa in Kernels.axpy(0.5, px, pa) } }
            out = acc
            check("axpy") { a, b in b + 0.5 * a }
            out.withUnsafeMutableBufferPointer { Kernels.fill($0, with: 2.5) }
            XCTAssertTrue(out.allSatisfy { $0 == 2.5 })
        }
    }

    func testReductionsMatchDoubleLoops() {
        var rng = TestRandom(seed: 2)
        for n in sizes {
            let x = rng.floats(n), y = rng.floats(n)
            var sum = 0.0, dot = 0.0, l1 = 0.0, mx: Float = 0
            for i in 0..<n {
                sum += Double(x[i]); dot += Double(x[i]) * Double(y[i]); l1 += Double(abs(x[i])); mx = max(mx, abs(x[i]))
            }
            x.withUnsafeBufferPointer { px in y.withUnsafeBufferPointer { py in
                XCTAssertEqual(Kernels.sum(px), sum, accuracy: 1e-9 * max(1, Double(n)))
                XCTAssertEqual(Kernels.dot(px, py), dot, accuracy: 1e-9 * max(1, Double(n)))
                XCTAssertEqual(Kernels.sumOfMagnitudes(px), l1, accuracy: 1e-9 * max(1, Double(n)))
                XCTAssertEqual(Kernels.norm(px), dot == 0 && n == 0 ? 0 : Kernels.dot(px, px).squareRoot())
                XCTAssertEqual(Kernels.maxMagnitude(px), mx)
            } }
        }
    }

    func testReductionsAreBitIdenticalAcrossThreadCounts() {
        var rng = TestRandom(seed: 3)
        let x = rng.floats(1 << 20)
        var results: [[UInt64]] = []
        for threads in [1, 2, 3, 8] {
            ComputeThreads.set(threads)
            x.withUnsafeBufferPointer { px in
                results.append([Kernels.sum(px).bitPattern, Kernels.dot(px, px).bitPattern,
                                Kernels.sumOfMagnitudes(px).bitPattern, UInt64(Kernels.maxMagnitude(px).bitPattern)])
            }
        }
        for r in results.dropFirst() { XCTAssertEqual(r, results[0]) }
    }

    func testMaxMagnitudePropagatesNaN() {
        var x = [Float](repeating: 1, count: 100_000)
        x[77_777] = .nan
        XCTAssertTrue(x.withUnsafeBufferPointer { Kernels.maxMagnitude($0) }.isNaN)
    }

    func testThreadBudgetReachesOpenBLAS() {
        ComputeThreads.set(1)
        XCTAssertEqual(BLAS.threadCount, 1)
        ComputeThreads.set(2)
        XCTAssertEqual(BLAS.threadCount, 2)
        XCTAssertEqual(ComputeThreads.count, 2)
    }
}
