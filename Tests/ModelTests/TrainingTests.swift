import Foundation
import Model
import Numerics
import XCTest

final class TrainingTests: XCTestCase {
    let config = GPT2Config(layers: 2, heads: 2, channels: 8, context: 8, vocabulary: GPT2Config.byteVocabulary)

    /// The DPO weights are the derivative of the DPO loss: checked against central finite
    /// differences of the loss computed from Float64 `NaiveGPT2` log-likelihoods.
    func testDPOGradientMatchesFiniteDifferences() throws {
        try checkDPOGradient(nllWeight: 0)
    }

    /// With the RPO term (α · mean NLL of the chosen answers' tokens) too.
    func testDPOWithChosenNLLTermGradientMatchesFiniteDifferences() throws {
        try checkDPOGradient(nllWeight: 0.5)
    }

    func checkDPOGradient(nllWeight: Double) throws {
        let model = randomModel(config, seed: 31)
        var rng = SeededRandom(seed: 32)
        let (rows, time) = (4, 6)
        let tokens = (0..<(rows * time)).map { _ in Int32(rng.next() % 259) }
        let targets = (0..<(rows * time)).map { _ in Int32(rng.next() % 259) }
        // Answer positions: the last 3 of each row.
        let mask: [Float] = (0..<(rows * time)).map { $0 % time >= 3 ? 1 : 0 }
        let reference: [Double] = [-20, -22, -19, -25]
        let beta = 0.7

        let nll = model.forward(tokens: tokens, targets: targets, batch: rows, time: time)
        let result = DirectPreference.objective(policyNLL: nll, reference: reference, answerMask: mask, rows: rows, time: time, beta: beta,
                                               nllWeight: nllWeight)
        model.zeroGradients()
        model.backward(weights: result.weights)

        var naive = NaiveGPT2(config: config, parameters: model.parameters)
        func dpoLoss() -> Double {
            // Row log-likelihoods from per-row weighted losses (weight −1 on answer positions).
            let rowLL = (0..<rows).map { r in
                -naive.loss(tokens: tokens, targets: targets,
                            weights: (0..<(rows * time)).map { $0 / time == r ? Double(mask[$0]) : 0 }, batch: rows, time: time)
            }
            var total = 0.0
            for i in 0..<(rows / 2) {
                let z = beta * ((rowLL[2 * i] - reference[2 * i]) - (rowLL[2 * i + 1] - reference[2 * i + 1]))
                total += log1p(exp(-z))
            }
            // The chosen rows' answer tokens: 3 each, 2 chosen rows.
            let chosenNLL = -(rowLL[0] + rowLL[2]) / 6
            return total / Double(rows / 2) + nllWeight * chosenNLL
        }
        XCTAssertEqual(dpoLoss(), result.loss, accuracy: 1e-4, "the objective's value")
        let g = model.gradients!
        for name in ["transformer.h.1.mlp.c_fc.weight", "transformer.h.0.attn.c_attn.bias", "transformer.ln_f.weight", "transformer.wpe.weight"] {
            let t = g.tensor(named: name)!
            let scale = Double(t.map(abs).max()!)
            for j in [1, t.count / 2, t.count - 2] {
                let original = naive.tensors[name]![j]
                naive.tensors[name]![j] = original + 1e-5
                let up = dpoLoss()
                naive.tensors[name]![j] = original - 1e-5
                let down = dpoLoss()
                naive.tensors[name]![j] = original
                let fd = (up - down) / 2e-5
                XCTAssertLessThan(abs(Double(t[j]) - fd), 2e-4 * scale + 1e-7, "\(name)[\(j)]: backward \(t[j]), finite difference \(fd)")
            }
        }
    }

    func testDPOStartsAtLogTwoWhenPolicyIsTheReference() {
        let model = randomModel(config, seed: 33)
        let tokens: [Int32] = [1, 2, 3, 4, 5, 6, 1, 2, 3, 9, 9, 9]
        let targets: [Int32] = [2, 3, 4, 5, 6, 7, 2, 3, 9, 9, 9, 10]
        let mask: [Float] = [0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1]
        let nll = model.forward(tokens: tokens, targets: targets, batch: 2, time: 6)
        let reference = DirectPreference.rowLogLikelihoods(nll, answerMask: mask, rows: 2, time: 6)
        let r = DirectPreference.objective(policyNLL: nll, reference: reference, answerMask: mask, rows: 2, time: 6, beta: 0.1)
        XCTAssertEqual(r.loss, log(2), accuracy: 1e-12)
        XCTAssertEqual(r.margin, 0)
        XCTAssertEqual(r.weights.filter { $0 != 0 }.count, 8)
        XCTAssertEqual(r.weights[2], 0.05, accuracy: 1e-7, "β·σ(0)/pairs")
        XCTAssertEqual(r.weights[8], -0.05, accuracy: 1e-7)
    }

    /// A NaN anywhere stops the step before the optimizer touches the weights.
    func testNonFiniteLossOrGradientStopsTrainingWithoutUpdating() throws {
        let model = randomModel(config, seed: 34)
        let optimizer = AdamW(config: config)
        let trainer = Trainer(model: model, optimizer: optimizer, schedule: LearningRateSchedule(peak: 1e-3, warmupSteps: 0, totalSteps: 10))
        let tokens: [Int32] = [1, 2, 3, 4], targets: [Int32] = [2, 3, 4, 5], weights: [Float] = [0.25, 0.25, 0.25, 0.25]
        _ = try trainer.step(tokens: tokens, targets: targets, batch: 1, time: 4) { (Trainer.weightedLoss($0, weights), weights) }
        XCTAssertEqual(optimizer.step, 1)

        model.parameters.tensor(named: "transformer.h.0.mlp.c_fc.weight")![5] = .nan
        let before = Array(model.parameters.all)
        XCTAssertThrowsError(try trainer.step(tokens: tokens, targets: targets, batch: 1, time: 4) { (Trainer.weightedLoss($0, weights), weights) }) { e in
            let error = e as! Trainer.NonFiniteError
            XCTAssertEqual(error.step, 2)
            XCTAssertTrue(error.description.contains("not finite"), error.description)
        }
        XCTAssertEqual(optimizer.step, 1, "no optimizer step was taken")
        XCTAssertTrue(zip(before, model.parameters.all).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "weights untouched")

        // A finite loss with a non-finite gradient (here: an infinite weight on one position).
        let clean = randomModel(config, seed: 35)
        let cleanTrainer = Trainer(model: clean, optimizer: AdamW(config: config), schedule: LearningRateSchedule(peak: 1e-3, warmupSteps: 0, totalSteps: 10))
        XCTAssertThrowsError(try cleanTrainer.step(tokens: tokens, targets: targets, batch: 1, time: 4) { _ in (1.0, [.infinity, 0, 0, 0]) }) { e in
            XCTAssertEqual((e as! Trainer.NonFiniteError).what, "gradient norm")
        }
    }

    func testLearningRateScheduleWarmsUpThenFollowsTheCosine() {
        let s = LearningRateSchedule(peak: 1e-3, warmupSteps: 10, totalSteps: 110, finalFraction: 0.1)
        XCTAssertEqual(s.rate(atStep: 1), 1e-4, accuracy: 1e-10)
        XCTAssertEqual(s.rate(atStep: 10), 1e-3, accuracy: 1e-10)
        XCTAssertEqual(s.rate(atStep: 60), 1e-3 * (0.1 + 0.9 * 0.5), accuracy: 1e-9, "halfway down the cosine")
        XCTAssertEqual(s.rate(atStep: 110), 1e-4, accuracy: 1e-9)
        XCTAssertEqual(s.rate(atStep: 500), 1e-4, accuracy: 1e-9, "stays at the floor")
    }
}
