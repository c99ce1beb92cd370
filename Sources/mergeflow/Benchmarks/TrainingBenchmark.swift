import Foundation
import Model
import Numerics

/// Training throughput of the hand-written GPT-2: tokens/s and achieved GFLOPS of whole
/// optimizer steps (forward, backward, clipping, AdamW), beside the sgemm peak measured in
/// the same run.
///
/// FLOPs per step use the llm.c / PaLM convention, the same formula as
/// `scripts/reference/bench_pytorch_train.py`: 6·P·B·T for the weights (P counts every
/// parameter, the tied embedding once) plus 6·L·B·T²·C for causal attention (the useful half
/// of the score matrix).
enum TrainingBenchmark {
    struct Figures {
        let stepSeconds: Double, forwardSeconds: Double, backwardSeconds: Double, optimizerSeconds: Double
        let tokensPerSecond: Double, gflops: Double, sgemmPeak: Double
    }

    static func run(preset: String, batch: Int, time: Int, steps: Int) -> Figures {
        let config = GPT2Config.presets[preset]!
        let peak = [512, 1024, 2048].map { n -> Double in
            var rng = SeededRandom(seed: 1)
            let a = Tensor(shape: [n, n], storage: (0..<(n * n)).map { _ in Float(rng.uniform() * 2 - 1) })
            return 2 * Double(n * n * n) / Stopwatch.best { _ = Tensor.matmul(a, a) } / 1e9
        }.max()!

        let model = GPT2(config: config)
        var rng = SeededRandom(seed: 2)
        for i in model.parameters.names.indices {
            let isGain = model.parameters.names[i].contains("ln_") && model.parameters.names[i].hasSuffix("weight")
            let p = model.parameters.tensor(i)
            for j in p.indices { p[j] = isGain ? 1 : Float(rng.normal() * 0.02) }
        }
        let tokens = (0..<(batch * time)).map { _ in Int32(rng.next() % UInt64(config.vocabulary)) }
        let targets = (0..<(batch * time)).map { _ in Int32(rng.next() % UInt64(config.vocabulary)) }
        let weights = [Float](repeating: 1 / Float(batch * time), count: batch * time)
        let optimizer = AdamW(config: config)
        let schedule = LearningRateSchedule(peak: 3e-4, warmupSteps: 0, totalSteps: 1_000_000)

        var stepTimes: [Double] = [], forwardTimes: [Double] = [], backwardTimes: [Double] = [], optimizerTimes: [Double] = []
        for s in 0..<(steps + 2) {
            let t0 = Stopwatch.now()
            model.forward(tokens: tokens, targets: targets, batch: batch, time: time)
            let t1 = Stopwatch.now()
            model.zeroGradients()
            model.backward(weights: weights)
            let t2 = Stopwatch.now()
            GradientClipping.clip(model.gradients!, maxNorm: 1)
            optimizer.update(parameters: model.parameters, gradients: model.gradients!, lr: schedule.rate(atStep: s + 1))
            let t3 = Stopwatch.now()
            if s >= 2 {  // two warm-up steps
                stepTimes.append(t3 - t0); forwardTimes.append(t1 - t0)
                backwardTimes.append(t2 - t1); optimizerTimes.append(t3 - t2)
            }
        }
        func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
        let step = median(stepTimes)
        let p = Double(config.parameterCount)
        let flops = 6 * p * Double(batch * time) + 6 * Double(config.layers * batch * time * time * config.channels)
        return Figures(stepSeconds: step, forwardSeconds: median(forwardTimes), backwardSeconds: median(backwardTimes),
                       optimizerSeconds: median(optimizerTimes), tokensPerSecond: Double(batch * time) / step,
                       gflops: flops / step / 1e9, sgemmPeak: peak)
    }
}
