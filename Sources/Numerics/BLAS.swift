// The one file that calls OpenBLAS (`cblas_*`, `openblas_*`). Everything else in mergeflow
// reaches BLAS through these wrappers, so there is one place to audit argument order,
// leading dimensions and threading.
import COpenBLAS
import Foundation

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
        _ = kernels
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
        _ = kernels
        cblas_sgemv(CblasRowMajor, trans.cblas, blasint(m), blasint(n), alpha, a, blasint(lda), x, 1, beta, y, 1)
    }

    /// Sets the number of threads OpenBLAS uses for one call. Called by `ComputeThreads` only.
    static func setThreadCount(_ count: Int) {
        _ = kernels
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// The number of threads OpenBLAS will use.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// The kernel family OpenBLAS runs (its DYNAMIC_ARCH core name, e.g. "SkylakeX", "Zen").
    public static var coreName: String {
        _ = kernels
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The core name `BLAS` chose in place of OpenBLAS's SSE3 fallback, or nil when
    /// OpenBLAS's own choice (or the user's `OPENBLAS_CORETYPE`) stands.
    public static var replacedFallback: String? { kernels }

    /// OpenBLAS's build description (core type, threading), for benchmark headers.
    public static var configuration: String {
        _ = kernels
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }

    // MARK: Kernel selection

    /// Done once, before the first call into OpenBLAS: replaces OpenBLAS's fallback kernels
    /// when it did not recognise the CPU (see `selectKernels`). Holds the core name chosen.
    private static let kernels: String? = selectKernels()

    /// Picks kernels for a CPU that OpenBLAS's DYNAMIC_ARCH detection does not know.
    ///
    /// OpenBLAS 0.3.21 (Debian 12's) falls back to its SSE3 "Prescott" kernels for any
    /// Intel model newer than its release, e.g. family 6 model 207 (Emerald Rapids): sgemm
    /// then runs at 13 GFLOPS instead of 110–190 with the AVX-512 kernels the CPU can run.
    /// OpenBLAS's own remedy is the `OPENBLAS_CORETYPE` variable, which it reads when the
    /// library loads; this sets it from the CPU's flags and reruns the same selection
    /// (`gotoblas_dynamic_quit` / `gotoblas_dynamic_init`, looked up at run time so a
    /// single-architecture OpenBLAS without them still links). A `OPENBLAS_CORETYPE` given by
    /// the user is left alone.
    /// - Returns: the core name chosen, or nil when OpenBLAS's own choice stands.
    private static func selectKernels() -> String? {
        guard getenv("OPENBLAS_CORETYPE") == nil,
              let current = openblas_get_corename(), String(cString: current).lowercased() == "prescott",
              let flags = cpuFlags(),
              // dlsym(RTLD_DEFAULT = nil, …): every library loaded into the process.
              let quit = dlsym(nil, "gotoblas_dynamic_quit"), let initialise = dlsym(nil, "gotoblas_dynamic_init")
        else { return nil }
        let core: String
        if flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) {
            core = "SkylakeX"
        } else if flags.isSuperset(of: ["avx2", "fma"]) {
            core = "Haswell"
        } else {
            return nil
        }
        typealias Hook = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", core, 1)
        unsafeBitCast(quit, to: Hook.self)()
        unsafeBitCast(initialise, to: Hook.self)()
        return core
    }

    /// The instruction-set flags of the first CPU in /proc/cpuinfo (Linux), or nil.
    private static func cpuFlags() -> Set<String>? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return nil }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
