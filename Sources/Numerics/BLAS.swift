// The one file that calls OpenBLAS (`cblas_*`, `openblas_*`). Everything else in mergeflow
// reaches BLAS through these wrappers, so there is one place to audit argument order,
// leading dimensions and threading.
import COpenBLAS

/// Row-major BLAS wrappers over raw Float pointers.
public enum BLAS {
    /// How a matrix operand is read by `sgemm`.
    public enum Transpose: Sendable {
        case none, transposed
        var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
    }

    /// C = alpha · op(A) · op(B) + beta · C, all row-major.
    ///
    /// op(A) is m×k and op(B) is k×n; `lda`, `ldb`, `ldc` are the row strides of the matrices
    /// as stored (so for `transA == .transposed`, A is stored k×m and `lda ≥ m`).
    /// - Precondition: every dimension fits in `Int32` (OpenBLAS's `blasint`).
    @inline(__always)
    public static func sgemm(
        _ transA: Transpose, _ transB: Transpose,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0 && max(m, n, k, lda, ldb, ldc) <= Int(Int32.max),
                     "sgemm dimensions out of range")
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas,
                    blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    /// y = alpha · op(A) · x + beta · y for a row-major m×n matrix A.
    @inline(__always)
    public static func sgemv(
        _ trans: Transpose, m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        precondition(max(m, n, lda) <= Int(Int32.max), "sgemv dimensions out of range")
        if m == 0 || n == 0 { return }
        cblas_sgemv(CblasRowMajor, trans.cblas, blasint(m), blasint(n), alpha, a, blasint(lda), x, 1, beta, y, 1)
    }

    /// Sets the number of threads OpenBLAS uses for one call. Called by `ComputeThreads` only.
    static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// The number of threads OpenBLAS will use.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// OpenBLAS's build description (core type, threading), for benchmark headers.
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }
}
