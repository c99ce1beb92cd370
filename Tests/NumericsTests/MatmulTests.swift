import XCTest
@testable import Numerics

/// BLAS products against a naive triple loop in Double, on odd shapes and every transpose.
final class MatmulTests: XCTestCase {
    /// The spec: C[i][j] = Σ_p op(A)[i][p] · op(B)[p][j], computed in Double.
    func naive(_ a: Tensor, _ b: Tensor, _ ta: Bool, _ tb: Bool) -> [Double] {
        let m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1]
        let n = tb ? b.shape[0] : b.shape[1]
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var acc = 0.0
            for p in 0..<k {
                let x = ta ? a[p, i] : a[i, p]
                let y = tb ? b[j, p] : b[p, j]
                acc += Double(x) * Double(y)
            }
            c[i * n + j] = acc
        } }
        return c
    }

    func testAllTransposeCombinationsOnOddShapes() {
        var rng = TestRandom(seed: 42)
        let shapes: [(Int, Int, Int)] = [(1, 1, 1), (3, 5, 7), (17, 1, 9), (33, 65, 31), (64, 3, 129), (127, 130, 5), (0, 4, 3), (4, 0, 3)]
        for (m, n, k) in shapes {
            for ta in [false, true] { for tb in [false, true] {
                let a = Tensor(shape: ta ? [k, m] : [m, k], storage: rng.floats(m * k))
                let b = Tensor(shape: tb ? [n, k] : [k, n], storage: rng.floats(k * n))
                let c = Tensor.matmul(a, b, transposeA: ta, transposeB: tb)
                XCTAssertEqual(c.shape, [m, n])
                let want = naive(a, b, ta, tb)
                var worst = 0.0
                for i in 0..<want.count { worst = max(worst, abs(Double(c.storage[i]) - want[i])) }
                // Inputs are in [-1, 1): each product term is ≤ 1, so k·ulp bounds the error.
                XCTAssertLessThanOrEqual(worst, Double(max(k, 1)) * 1.2e-7 * 4,
                                         "m=\(m) n=\(n) k=\(k) ta=\(ta) tb=\(tb): worst abs error \(worst)")
            } }
        }
    }

    func testZeroInnerDimensionGivesZeros() {
        let a = Tensor(shape: [3, 0]), b = Tensor(shape: [0, 2])
        XCTAssertEqual(Tensor.matmul(a, b).storage, [0, 0, 0, 0, 0, 0])
    }

    func testStridedSubmatrixThroughLeadingDimensions() {
        // Multiply the left 2×3 block of a 2×5 matrix by a 3×2 matrix: lda = 5.
        let a: [Float] = [1, 2, 3, 99, 99,
                          4, 5, 6, 99, 99]
        let b: [Float] = [1, 0, 0, 1, 1, 1]
        var c = [Float](repeating: -1, count: 4)
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            BLAS.sgemm(.none, .none, m: 2, n: 2, k: 3, a: pa.baseAddress!, lda: 5, b: pb.baseAddress!, ldb: 2, c: pc.baseAddress!, ldc: 2)
        } } }
        XCTAssertEqual(c, [4, 5, 10, 11])
    }

    func testBetaAccumulates() {
        let a: [Float] = [1, 2], b: [Float] = [3, 4]
        var c: [Float] = [10]
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            BLAS.sgemm(.none, .transposed, m: 1, n: 1, k: 2, alpha: 2, a: pa.baseAddress!, lda: 2, b: pb.baseAddress!, ldb: 2, beta: 1, c: pc.baseAddress!, ldc: 1)
        } } }
        XCTAssertEqual(c, [10 + 2 * 11])
    }

    func testGemvMatchesGemm() {
        var rng = TestRandom(seed: 7)
        let a = Tensor(shape: [13, 11], storage: rng.floats(143))
        let x = rng.floats(11)
        var y = [Float](repeating: 0, count: 13)
        a.withUnsafeBufferPointer { pa in x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
            BLAS.sgemv(.none, m: 13, n: 11, a: pa.baseAddress!, lda: 11, x: px.baseAddress!, y: py.baseAddress!)
        } } }
        let want = naive(a, Tensor(shape: [11, 1], storage: x), false, false)
        for i in 0..<13 { XCTAssertEqual(Double(y[i]), want[i], accuracy: 1e-5) }
    }

    /// On a CPU with AVX2 + FMA, OpenBLAS must not run its SSE3 fallback (10x slower sgemm):
    /// `BLAS` replaces it when OpenBLAS's detection does not know the CPU model.
    func testOpenBLASRunsVectorKernelsTheCPUSupports() throws {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no /proc/cpuinfo")
        }
        let set = Set(flags.split(separator: " ").map(String.init))
        guard set.contains("avx2"), set.contains("fma") else { throw XCTSkip("CPU without AVX2 + FMA") }
        if BLAS.replacedFallback == nil, getenv("OPENBLAS_CORETYPE") != nil { throw XCTSkip("OPENBLAS_CORETYPE set by the user") }
        let core = BLAS.coreName.lowercased()
        XCTAssertNotEqual(core, "prescott", "OpenBLAS runs its SSE3 fallback on a CPU with AVX2")
        // The product still agrees with the naive spec under the kernels chosen.
        var rng = TestRandom(seed: 7)
        let a = Tensor(shape: [70, 90], storage: rng.floats(70 * 90)), b = Tensor(shape: [90, 50], storage: rng.floats(90 * 50))
        let c = Tensor.matmul(a, b), want = naive(a, b, false, false)
        for i in want.indices { XCTAssertEqual(Double(c.storage[i]), want[i], accuracy: 90 * 1.2e-7 * 4) }
    }
}
