import CModelKernels
import Numerics

/// Whether the layers run their C loops (`CModelKernels`: register-tiled attention per head
/// and GELU with AVX2 and FMA, chosen at run time) instead of the Swift and BLAS ones.
///
/// Only inside a fixed split, that is in training, which needs one arithmetic per machine and
/// gets it (the loops are picked per CPU, like OpenBLAS's kernels). Inference keeps the Swift
/// and BLAS loops it has always run, so cached evaluations still describe what the code
/// computes.
enum FusedKernels {
    static var active: Bool { ComputeThreads.productSplit != nil && available }

    /// This CPU has AVX2 and FMA.
    static var available: Bool { mf_model_kernels_available() != 0 }
}
