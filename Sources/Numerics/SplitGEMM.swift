/// Matrix products cut into a fixed number of blocks of C, spread over our own workers.
///
/// Why not OpenBLAS's threads: a training step interleaves products with our parallel
/// kernels (attention, GELU, LayerNorm), and OpenBLAS's idle workers spin on `sched_yield`
/// after every call, taking a core from those kernels (a fifth of a gpt-mini-256 step went to
/// spinning). Inside `ComputeThreads.withFixedSplit(pieces)` OpenBLAS runs single-threaded and
/// each product here is cut into `pieces` blocks, each one sgemm over the whole inner
/// dimension, shared by up to `ComputeThreads.count` workers: one set of threads does
/// everything, nobody spins, and the bits depend on `pieces` only, not on the workers.
///
/// Outside a split, a product is one `BLAS.sgemm` on OpenBLAS's own threads.
public enum SplitGEMM {
    /// Which side of C is cut: `.rows` shares op(B) across blocks (activations · weight),
    /// `.columns` shares op(A); `.longerSide` cuts whichever of m and n is larger (a weight
    /// gradient, whose shape varies by layer and whose inner dimension is every row).
    public enum Cut: Sendable { case rows, columns, longerSide }

    /// Block boundaries fall on multiples of this (OpenBLAS's register tiles divide it).
    static let alignment = 16

    /// C = alpha · op(A) · op(B) + beta · C (row-major, as `BLAS.sgemm`), block by block.
    /// `prepare(range)`, when given, runs on a block's rows or columns of C just before its
    /// product, on the same worker (seeding C with a bias or a residual while it is in cache);
    /// outside a split, on disjoint ranges over our workers before the one product.
    public static func sgemm(
        _ transA: BLAS.Transpose, _ transB: BLAS.Transpose, cut: Cut,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        prepare: (@Sendable (Range<Int>) -> Void)? = nil
    ) {
        let cut = cut == .longerSide ? (m >= n ? Cut.rows : .columns) : cut
        let extent = cut == .rows ? m : n
        guard let pieces = ComputeThreads.productSplit else {
            // One product on OpenBLAS's threads; the seeding still spread over ours.
            if let prepare {
                Parallel.forEachRowRange(extent, elementsPerRow: cut == .rows ? n : m) { prepare($0) }
            }
            BLAS.sgemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let blockSize = max(alignment, ((extent + pieces - 1) / pieces + alignment - 1) / alignment * alignment)
        let blocks = (extent + blockSize - 1) / blockSize
        let (pa, pb, pc) = (SharedPointer(a), SharedPointer(b), SharedPointer(c))
        Parallel.forEach(blocks) { i in
            let range = i * blockSize..<min(extent, (i + 1) * blockSize)
            prepare?(range)
            if cut == .rows {
                // Row r of op(A) starts at a + r·lda, or at column r when A is stored transposed.
                let aStart = transA == .none ? range.lowerBound * lda : range.lowerBound
                BLAS.sgemm(transA, transB, m: range.count, n: n, k: k, alpha: alpha,
                           a: pa.base + aStart, lda: lda, b: pb.base, ldb: ldb,
                           beta: beta, c: pc.base + range.lowerBound * ldc, ldc: ldc)
            } else {
                let bStart = transB == .none ? range.lowerBound : range.lowerBound * ldb
                BLAS.sgemm(transA, transB, m: m, n: range.count, k: k, alpha: alpha,
                           a: pa.base, lda: lda, b: pb.base + bStart, ldb: ldb,
                           beta: beta, c: pc.base + range.lowerBound, ldc: ldc)
            }
        }
    }
}
