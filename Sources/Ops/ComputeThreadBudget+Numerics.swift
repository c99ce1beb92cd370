import Engine
import Numerics

extension ComputeThreadBudget {
    /// The thread count of `Numerics`' kernels and BLAS, which the built-in ops use.
    public static let numerics = ComputeThreadBudget(get: { ComputeThreads.count }, set: { ComputeThreads.set($0) })
}
