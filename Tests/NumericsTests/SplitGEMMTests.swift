import Numerics
import XCTest

/// `SplitGEMM` against a Double triple loop for every transpose and cut, with padded leading
/// dimensions and ragged last blocks; `prepare` sees each row (or column) exactly once; and
/// inside a split the bits do not depend on the number of workers.
final class SplitGEMMTests: XCTestCase {
    override func tearDown() { ComputeThreads.set(ComputeThreads.available) }

    struct Case {
        let transA: BLAS.Transpose, transB: BLAS.Transpose, cut: SplitGEMM.Cut
        let m: Int, n: Int, k: Int
    }

    /// C (m × n, ldc = n + 3) = 0.5 · op(A) · op(B) + 2 · C0, with lda and ldb padded by 2.
    func run(_ c: Case, prepared: inout [Int]) -> (got: [Float], want: [Double]) {
        var rng = SeededRandom(seed: UInt64(c.m * 131 + c.n * 7 + c.k))
        let (aRows, aCols) = c.transA == .none ? (c.m, c.k) : (c.k, c.m)
        let (bRows, bCols) = c.transB == .none ? (c.k, c.n) : (c.n, c.k)
        let (lda, ldb, ldc) = (aCols + 2, bCols + 2, c.n + 3)
        let a = (0..<(aRows * lda)).map { _ in Float(rng.uniform() * 2 - 1) }
        let b = (0..<(bRows * ldb)).map { _ in Float(rng.uniform() * 2 - 1) }
        let c0 = (0..<(c.m * ldc)).map { _ in Float(rng.uniform() * 2 - 1) }
        var want = c0.map(Double.init)
        for i in 0..<c.m {
            for j in 0..<c.n {
                var sum = 0.0
                for p in 0..<c.k {
                    let x = c.transA == .none ? a[i * lda + p] : a[p * lda + i]
                    let y = c.transB == .none ? b[p * ldb + j] : b[j * ldb + p]
                    sum += Double(x) * Double(y)
                }
                want[i * ldc + j] = 0.5 * sum + 2 * Double(c0[i * ldc + j])
            }
        }
        var got = c0
        let seen = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(c.m, c.n))
        defer { seen.deallocate() }
        seen.initialize(repeating: 0)
        let counts = SharedPointer(seen.baseAddress!)
        let cutsRows = c.cut == .rows || (c.cut == .longerSide && c.m >= c.n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                got.withUnsafeMutableBufferPointer { pc in
                    SplitGEMM.sgemm(c.transA, c.transB, cut: c.cut, m: c.m, n: c.n, k: c.k, alpha: 0.5,
                                    a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: 2,
                                    c: pc.baseAddress!, ldc: ldc,
                                    prepare: { range in for i in range { counts.base[i] += 1 } })
                }
            }
        }
        prepared = Array(seen.prefix(cutsRows ? c.m : c.n))
        return (got, want)
    }

    var cases: [Case] {
        var all: [Case] = []
        for transA in [BLAS.Transpose.none, .transposed] {
            for transB in [BLAS.Transpose.none, .transposed] {
                for cut in [SplitGEMM.Cut.rows, .columns, .longerSide] {
                    all.append(Case(transA: transA, transB: transB, cut: cut, m: 37, n: 70, k: 19))
                    all.append(Case(transA: transA, transB: transB, cut: cut, m: 100, n: 5, k: 33))
                }
            }
        }
        return all
    }

    func testEveryTransposeAndCutMatchesTheTripleLoopWithAndWithoutASplit() {
        for pieces in [nil, 1, 2, 3, 5] as [Int?] {
            for c in cases {
                var prepared: [Int] = []
                let (got, want) = pieces.map { p in ComputeThreads.withFixedSplit(p) { run(c, prepared: &prepared) } }
                    ?? run(c, prepared: &prepared)
                var worst = 0.0
                for i in 0..<c.m { for j in 0..<c.n { worst = max(worst, abs(Double(got[i * (c.n + 3) + j]) - want[i * (c.n + 3) + j])) } }
                XCTAssertLessThan(worst, 1e-5, "\(c), pieces \(String(describing: pieces))")
                // Padding columns of C are never written.
                for i in 0..<c.m { for j in c.n..<(c.n + 3) { XCTAssertEqual(Double(got[i * (c.n + 3) + j]), want[i * (c.n + 3) + j]) } }
                XCTAssertEqual(prepared, [Int](repeating: 1, count: prepared.count), "prepare once per row/column: \(c)")
            }
        }
    }

    func testWorkersDoNotChangeABitInsideASplit() {
        for c in cases {
            var results: [[Float]] = []
            for workers in [1, 2, 3] {
                ComputeThreads.set(workers)
                var prepared: [Int] = []
                results.append(ComputeThreads.withFixedSplit(3) { run(c, prepared: &prepared).got })
            }
            XCTAssertEqual(results[0], results[1], "1 vs 2 workers: \(c)")
            XCTAssertEqual(results[0], results[2], "1 vs 3 workers: \(c)")
        }
    }

    func testASplitHoldsOpenBLASAtOneThreadAndGivesItBack() {
        ComputeThreads.set(2)
        XCTAssertNil(ComputeThreads.productSplit)
        ComputeThreads.withFixedSplit(4) {
            XCTAssertEqual(ComputeThreads.productSplit, 4)
            XCTAssertEqual(BLAS.threadCount, 1)
            ComputeThreads.set(3)  // the workers' budget moves; OpenBLAS stays at one
            XCTAssertEqual(BLAS.threadCount, 1)
        }
        XCTAssertNil(ComputeThreads.productSplit)
        XCTAssertEqual(BLAS.threadCount, 3)
    }
}
