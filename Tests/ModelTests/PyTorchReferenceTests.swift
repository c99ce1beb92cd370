import Model
import Numerics
import XCTest

/// The hand-written forward, backward and AdamW against PyTorch + transformers on the same
/// weights and batch, each tensor with its own tolerance (`Fixtures/tolerances.json`): as
/// inference runs them (whole products on OpenBLAS's threads) and as training does (products
/// cut into blocks by `SplitGEMM`, attention over whole key ranges).
final class PyTorchReferenceTests: XCTestCase {
    var fixture: ReferenceFixture!

    override func setUpWithError() throws { fixture = try ReferenceFixture.load() }

    /// mask / Σmask: the masked loss is a mean over answer tokens, not over rows.
    func maskWeights() throws -> [Float] {
        let mask = try fixture.tensor("mask").storage
        let total = mask.reduce(0, +)
        return mask.map { $0 / total }
    }

    func testLogitsAndLosses() throws {
        let model = try fixture.model()
        let losses = model.forward(tokens: try fixture.ids("tokens"), targets: try fixture.ids("targets"),
                                   batch: fixture.batch, time: fixture.time)
        assertClose(model.logits, try fixture.tensor("logits").storage, tolerance: fixture.tolerances["logits"]!, "logits")
        let all = losses.reduce(0.0) { $0 + Double($1) } / Double(losses.count)
        let weights = try maskWeights()
        let masked = zip(losses, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        for (value, name) in [(all, "loss_all"), (masked, "loss_masked")] {
            let value = [Float(value)]
            value.withUnsafeBufferPointer { assertClose($0, try! fixture.tensor(name).storage, tolerance: fixture.tolerances[name]!, name) }
        }
    }

    func testEveryGradient() throws {
        let model = try fixture.model()
        model.forward(tokens: try fixture.ids("tokens"), targets: try fixture.ids("targets"), batch: fixture.batch, time: fixture.time)
        model.zeroGradients()
        model.backward(weights: try maskWeights())
        let gradients = try XCTUnwrap(model.gradients)
        for (i, name) in gradients.names.enumerated() {
            let key = "grad." + name
            assertClose(UnsafeBufferPointer(gradients.tensor(i)), try fixture.tensor(key).storage,
                        tolerance: try XCTUnwrap(fixture.tolerances[key]), key)
        }
    }

    /// Three AdamW steps on the same batch with clipping at 1.0 and lr 1e-3, 8e-4, 5e-4;
    /// the parameters are compared on their update (see the fixture README).
    func testThreeAdamWSteps() throws {
        let model = try fixture.model()
        let initial = ParameterBuffer(config: fixture.config)
        initial.copy(from: model.parameters)
        let optimizer = AdamW(config: fixture.config, settings: .init(beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1))
        let tokens = try fixture.ids("tokens"), targets = try fixture.ids("targets"), weights = try maskWeights()
        var norms: [Float] = [], stepLosses: [Float] = []
        for lr: Float in [1e-3, 8e-4, 5e-4] {
            let losses = model.forward(tokens: tokens, targets: targets, batch: fixture.batch, time: fixture.time)
            stepLosses.append(Float(zip(losses, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }))
            model.zeroGradients()
            model.backward(weights: weights)
            norms.append(Float(GradientClipping.clip(model.gradients!, maxNorm: 1.0)))
            optimizer.update(parameters: model.parameters, gradients: model.gradients!, lr: lr)
        }
        norms.withUnsafeBufferPointer { assertClose($0, try! fixture.tensor("gradnorm").storage, tolerance: fixture.tolerances["gradnorm"]!, "gradnorm") }
        stepLosses.withUnsafeBufferPointer { assertClose($0, try! fixture.tensor("loss_steps").storage, tolerance: fixture.tolerances["loss_steps"]!, "loss_steps") }
        for (i, name) in model.parameters.names.enumerated() {
            let key = "step3." + name
            let p0 = Array(initial.tensor(i))
            let update = zip(model.parameters.tensor(i), p0).map { $0 - $1 }
            let expectedUpdate = zip(try fixture.tensor(key).storage, p0).map { $0 - $1 }
            update.withUnsafeBufferPointer {
                assertClose($0, expectedUpdate, tolerance: fixture.tolerances[key]!, key + " (update)")
            }
        }
    }

    // Three blocks: ragged (36 rows → 16, 16, 4; 64 columns → 32, 32).
    func testLogitsAndLossesWithProductsSplit() throws { try ComputeThreads.withFixedSplit(3) { try testLogitsAndLosses() } }
    func testEveryGradientWithProductsSplit() throws { try ComputeThreads.withFixedSplit(3) { try testEveryGradient() } }
    func testThreeAdamWStepsWithProductsSplit() throws { try ComputeThreads.withFixedSplit(3) { try testThreeAdamWSteps() } }
}
