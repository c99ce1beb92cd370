import Model
import Numerics
import XCTest

/// The Float32 backward pass against central finite differences of a Float64 loss computed
/// by `NaiveGPT2`, on a config of its own (3 layers, 2 heads, 8 channels) with weights large
/// enough that attention is far from uniform and GELU far from linear, and per-position
/// weights of both signs (as DPO uses).
final class FiniteDifferenceTests: XCTestCase {
    let config = GPT2Config(layers: 3, heads: 2, channels: 8, context: 8, vocabulary: GPT2Config.byteVocabulary)
    let batch = 2, time = 7

    func randomModel() -> GPT2 {
        let model = GPT2(config: config)
        var rng = SeededRandom(seed: 11)
        for i in model.parameters.names.indices {
            let name = model.parameters.names[i]
            let std = name.contains("ln_") && name.hasSuffix("weight") ? 0.3 : (name.contains("wte") || name.contains("wpe") ? 0.5 : 0.4)
            let offset = name.contains("ln_") && name.hasSuffix("weight") ? 1.0 : 0.0
            let p = model.parameters.tensor(i)
            for j in p.indices { p[j] = Float(offset + rng.normal() * std) }
        }
        return model
    }

    func batchData() -> (tokens: [Int32], targets: [Int32], weights: [Float]) {
        var rng = SeededRandom(seed: 12)
        let n = batch * time
        let tokens = (0..<n).map { _ in Int32(rng.next() % 259) }
        var targets = (0..<n).map { _ in Int32(rng.next() % 259) }
        targets[3] = -1  // padding position: no loss, no gradient
        let weights = (0..<n).map { _ in Float(rng.uniform() * 2 - 0.6) / Float(n) }
        return (tokens, targets, weights)
    }

    func testFloat32ForwardMatchesFloat64Naive() throws {
        let model = randomModel()
        let (tokens, targets, _) = batchData()
        model.forward(tokens: tokens, targets: targets, batch: batch, time: time)
        let naive = NaiveGPT2(config: config, parameters: model.parameters).logits(tokens: tokens, batch: batch, time: time)
        let scale = naive.map(abs).max()!
        XCTAssertGreaterThan(scale, 1, "the logits should not be tiny, or the check is weak")
        for i in naive.indices {
            XCTAssertLessThan(abs(Double(model.logits[i]) - naive[i]), 1e-5 * scale, "logit \(i)")
        }
    }

    func testBackwardMatchesFiniteDifferencesOfFloat64Loss() throws {
        let model = randomModel()
        let (tokens, targets, weights) = batchData()
        model.forward(tokens: tokens, targets: targets, batch: batch, time: time)
        model.zeroGradients()
        model.backward(weights: weights)
        let gradients = try XCTUnwrap(model.gradients)
        var naive = NaiveGPT2(config: config, parameters: model.parameters)
        let w64 = weights.map(Double.init)
        var rng = SeededRandom(seed: 13)
        let h = 1e-5
        var checked = 0
        for (i, name) in gradients.names.enumerated() {
            let g = gradients.tensor(i)
            let gScale = Double(g.map(abs).max()!)
            // Four entries of every tensor; for wte, rows of tokens that occur (others are 0).
            var entries = (0..<4).map { _ in Int(rng.next() % UInt64(g.count)) }
            if name == "transformer.wte.weight" { entries = (0..<4).map { k in Int(tokens[k * 3]) * config.channels + k } }
            for j in entries {
                let original = naive.tensors[name]![j]
                naive.tensors[name]![j] = original + h
                let up = naive.loss(tokens: tokens, targets: targets, weights: w64, batch: batch, time: time)
                naive.tensors[name]![j] = original - h
                let down = naive.loss(tokens: tokens, targets: targets, weights: w64, batch: batch, time: time)
                naive.tensors[name]![j] = original
                let fd = (up - down) / (2 * h)
                // Float32 backward vs a Float64 derivative: the error is Float32 rounding,
                // relative to the tensor's largest gradient.
                XCTAssertLessThan(abs(Double(g[j]) - fd), 2e-4 * gScale + 1e-7,
                                  "\(name)[\(j)]: backward \(g[j]), finite difference \(fd)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 4 * gradients.names.count)
    }

    // As training runs: products split in blocks and, on AVX2 + FMA, the fused attention and GELU loops.
    func testFloat32ForwardMatchesFloat64NaiveInTraining() throws {
        try ComputeThreads.withFixedSplit(2) { try testFloat32ForwardMatchesFloat64Naive() }
    }
    func testBackwardMatchesFiniteDifferencesOfFloat64LossInTraining() throws {
        try ComputeThreads.withFixedSplit(2) { try testBackwardMatchesFiniteDifferencesOfFloat64Loss() }
    }
}
