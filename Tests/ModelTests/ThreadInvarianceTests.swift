import Model
import Numerics
import XCTest

/// Inside a fixed split (as the training ops run), a training step gives bit-identical results
/// for any number of workers: our own kernels (LayerNorm's parameter sums, softmax rows, GELU,
/// AdamW, the gradient norm) and the split products, whose blocks do not depend on who runs
/// them. OpenBLAS's own threading is not invariant, which is why training holds the split
/// (see `TrainingLoop`).
final class ThreadInvarianceTests: XCTestCase {
    override func tearDown() { ComputeThreads.set(ComputeThreads.available) }

    func step(threads: Int) -> (loss: [Float], gradients: [Float], parameters: [Float]) {
        ComputeThreads.set(threads)
        let config = GPT2Config(layers: 2, heads: 4, channels: 64, context: 64, vocabulary: 259)
        let model = randomModel(config, seed: 21)
        var rng = SeededRandom(seed: 22)
        let (b, t) = (8, 64)
        let tokens = (0..<(b * t)).map { _ in Int32(rng.next() % 259) }
        let targets = (0..<(b * t)).map { _ in Int32(rng.next() % 259) }
        let weights = (0..<(b * t)).map { _ in Float(rng.uniform()) / Float(b * t) }
        let optimizer = AdamW(config: config)
        let losses = Array(model.forward(tokens: tokens, targets: targets, batch: b, time: t))
        model.zeroGradients()
        model.backward(weights: weights)
        let gradients = Array(model.gradients!.all)
        GradientClipping.clip(model.gradients!, maxNorm: 1)
        optimizer.update(parameters: model.parameters, gradients: model.gradients!, lr: 1e-3)
        return (losses, gradients, Array(model.parameters.all))
    }

    func testKernelThreadCountDoesNotChangeABit() {
        let (one, two, three) = ComputeThreads.withFixedSplit(2) { (step(threads: 1), step(threads: 2), step(threads: 3)) }
        XCTAssertEqual(one.loss, two.loss, "losses")
        let config = GPT2Config(layers: 2, heads: 4, channels: 64, context: 64, vocabulary: 259)
        let layout = ParameterBuffer(config: config)
        for (i, name) in layout.names.enumerated() {
            let r = layout.offsets[i]..<(layout.offsets[i] + layout.elementCount(i))
            XCTAssertEqual(Array(one.gradients[r]), Array(two.gradients[r]), "gradient of \(name), 1 vs 2 threads")
            XCTAssertEqual(Array(one.gradients[r]), Array(three.gradients[r]), "gradient of \(name), 1 vs 3 threads")
        }
        XCTAssertEqual(one.parameters, two.parameters, "parameters after one AdamW step")
    }
}
