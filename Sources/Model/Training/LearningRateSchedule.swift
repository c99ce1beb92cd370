import Foundation

/// Linear warmup to `peak`, then cosine decay to `peak · finalFraction` at `totalSteps`.
/// Steps count from 1, as the optimizer's.
public struct LearningRateSchedule: Sendable, Equatable {
    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var finalFraction: Float

    public init(peak: Float, warmupSteps: Int, totalSteps: Int, finalFraction: Float = 0.1) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.finalFraction = finalFraction
    }

    public func rate(atStep step: Int) -> Float {
        if step <= warmupSteps { return peak * Float(step) / Float(max(1, warmupSteps)) }
        let decaySteps = max(1, totalSteps - warmupSteps)
        let progress = min(1, Double(step - warmupSteps) / Double(decaySteps))
        let floor = Double(peak * finalFraction)
        return Float(floor + 0.5 * (Double(peak) - floor) * (1 + cos(Double.pi * progress)))
    }
}
