/// One optimizer step of a GPT-2: forward, the objective's per-position weights, backward,
/// clipping, the learning-rate schedule and AdamW. Stops on a non-finite loss or gradient
/// before the weights are touched.
public final class Trainer {
    public struct NonFiniteError: Error, CustomStringConvertible {
        public let step: Int
        public let what: String
        public var description: String {
            "training diverged at step \(step): the \(what) is not finite (try a lower learning rate); nothing was published"
        }
    }

    public struct StepResult: Sendable {
        public let loss: Double
        public let gradientNorm: Double
        public let learningRate: Float
    }

    public let model: GPT2
    public let optimizer: AdamW
    public let schedule: LearningRateSchedule
    public let maxGradientNorm: Float

    public init(model: GPT2, optimizer: AdamW, schedule: LearningRateSchedule, maxGradientNorm: Float = 1) {
        self.model = model
        self.optimizer = optimizer
        self.schedule = schedule
        self.maxGradientNorm = maxGradientNorm
    }

    /// Runs step `optimizer.step + 1`. `objective` sees the per-position NLL of the forward
    /// pass and returns the loss value and the weight of each position's NLL in it (its
    /// derivative); for plain language modelling both come from fixed weights.
    public func step(tokens: [Int32], targets: [Int32], batch: Int, time: Int,
                     objective: (UnsafeBufferPointer<Float>) -> (loss: Double, weights: [Float])) throws -> StepResult {
        let stepNumber = optimizer.step + 1
        let losses = model.forward(tokens: tokens, targets: targets, batch: batch, time: time)
        let (loss, weights) = objective(losses)
        guard loss.isFinite else { throw NonFiniteError(step: stepNumber, what: "loss") }
        model.zeroGradients()
        model.backward(weights: weights)
        let norm = GradientClipping.clip(model.gradients!, maxNorm: maxGradientNorm)
        guard norm.isFinite else { throw NonFiniteError(step: stepNumber, what: "gradient norm") }
        let lr = schedule.rate(atStep: stepNumber)
        optimizer.update(parameters: model.parameters, gradients: model.gradients!, lr: lr)
        return StepResult(loss: loss, gradientNorm: norm, learningRate: lr)
    }

    /// Σ weights · losses, the objective of fixed per-position weights (SFT, pre-training).
    public static func weightedLoss(_ losses: UnsafeBufferPointer<Float>, _ weights: [Float]) -> Double {
        var total = 0.0
        for i in weights.indices where weights[i] != 0 { total += Double(weights[i]) * Double(losses[i]) }
        return total
    }
}
