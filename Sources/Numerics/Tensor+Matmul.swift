extension Tensor {
    /// The matrix product op(a) · op(b) of two 2-D tensors, through `cblas_sgemm`.
    ///
    /// With `transposeA`, `a` is stored k×m and read as its transpose; likewise `b`.
    /// - Precondition: both are 2-D and the inner dimensions agree.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul needs 2-D tensors, got \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[1] : a.shape[0]
        let k = transposeA ? a.shape[0] : a.shape[1]
        let kb = transposeB ? b.shape[1] : b.shape[0]
        let n = transposeB ? b.shape[0] : b.shape[1]
        precondition(k == kb, "matmul inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        var c = Tensor(shape: [m, n])
        if k == 0 { return c }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(transposeA ? .transposed : .none, transposeB ? .transposed : .none,
                               m: m, n: n, k: k,
                               a: pa.baseAddress!, lda: a.shape[1],
                               b: pb.baseAddress!, ldb: b.shape[1],
                               c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }
}
