import Numerics

/// Global-norm gradient clipping as `torch.nn.utils.clip_grad_norm_`:
/// norm = √(Σ over every tensor of Σ g²); g *= min(1, maxNorm / (norm + 1e-6)).
public enum GradientClipping {
    /// Clips in place and returns the norm before clipping (NaN or ∞ if any gradient is).
    /// The sum is a fixed-block reduction in Double, so it is the same for any thread count.
    @discardableResult
    public static func clip(_ gradients: ParameterBuffer, maxNorm: Float) -> Double {
        let all = UnsafeBufferPointer(gradients.all)
        let norm = Kernels.norm(all)
        guard norm.isFinite else { return norm }
        // torch multiplies even when the factor is 1.
        let factor = Float(min(1, Double(maxNorm) / (norm + 1e-6)))
        Kernels.scale(all, by: factor, into: gradients.all)
        return norm
    }
}
