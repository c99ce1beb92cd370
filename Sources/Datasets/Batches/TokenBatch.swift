/// A (B, T) training batch: inputs, next-token targets (−1 = padding) and the weight of each
/// position's loss.
public struct TokenBatch: Sendable, Equatable {
    public var tokens: [Int32]
    public var targets: [Int32]
    public var weights: [Float]
    public let batch: Int
    public let time: Int

    public init(batch: Int, time: Int) {
        self.batch = batch
        self.time = time
        tokens = [Int32](repeating: 258, count: batch * time)
        targets = [Int32](repeating: -1, count: batch * time)
        weights = [Float](repeating: 0, count: batch * time)
    }
}
