import Foundation
import JSON
import Model
import Numerics

/// Training throughput of the hand-written GPT-2: tokens/s and achieved GFLOPS of whole
/// optimizer steps (forward, backward, clipping, AdamW), beside the sgemm peak measured in
/// the same run, and optionally beside PyTorch's minimal GPT-2 on the same config.
///
/// FLOPs per step use the llm.c / PaLM convention, the same formula as
/// `scripts/reference/bench_pytorch_train.py`: 6·P·B·T for the weights (P counts every
/// parameter, the tied embedding once) plus 6·L·B·T²·C for causal attention (the useful half
/// of the score matrix).
enum TrainingBenchmark {
    struct Figures {
        let stepSeconds: Double, forwardSeconds: Double, backwardSeconds: Double, optimizerSeconds: Double
        let tokensPerSecond: Double, gflops: Double, sgemmPeak: Double
        /// The fastest step (s): less sensitive than the median to other processes on the machine.
        let bestStepSeconds: Double
    }

    /// A model to time: a preset name, or `LxHxC` (layers × heads × channels, e.g. `6x6x192`)
    /// with the byte vocabulary and a context of `time`.
    static func model(_ name: String, time: Int) -> GPT2Config? {
        if let preset = GPT2Config.presets[name] { return preset }
        let parts = name.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ $0 > 0 }), parts[2] % parts[1] == 0 else { return nil }
        return GPT2Config(layers: parts[0], heads: parts[1], channels: parts[2], context: time,
                          vocabulary: GPT2Config.byteVocabulary)
    }

    static func flopsPerStep(_ config: GPT2Config, batch: Int, time: Int) -> Double {
        6 * Double(config.parameterCount) * Double(batch * time)
            + 6 * Double(config.layers * batch * time * time * config.channels)
    }

    /// The best of sgemm at n = 512, 1024 and 2048 (GFLOPS) with the current thread budget.
    static func sgemmPeak() -> Double {
        [512, 1024, 2048].map { n -> Double in
            var rng = SeededRandom(seed: 1)
            let a = Tensor(shape: [n, n], storage: (0..<(n * n)).map { _ in Float(rng.uniform() * 2 - 1) })
            return 2 * Double(n * n * n) / Stopwatch.best { _ = Tensor.matmul(a, a) } / 1e9
        }.max()!
    }

    static func run(config: GPT2Config, batch: Int, time: Int, steps: Int) -> Figures {
        let peak = sgemmPeak()
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
        // As the training ops run (default `threads`): products cut into one block per thread.
        ComputeThreads.withFixedSplit(ComputeThreads.count) {
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
        }
        let step = median(stepTimes)
        return Figures(stepSeconds: step, forwardSeconds: median(forwardTimes), backwardSeconds: median(backwardTimes),
                       optimizerSeconds: median(optimizerTimes), tokensPerSecond: Double(batch * time) / step,
                       gflops: flopsPerStep(config, batch: batch, time: time) / step / 1e9, sgemmPeak: peak,
                       bestStepSeconds: stepTimes.min()!)
    }

    static func median(_ x: [Double]) -> Double {
        let s = x.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The 1-minute load average (/proc/loadavg), to tell a quiet run from a contended one.
    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
    }

    // MARK: PyTorch, side by side

    struct PyTorchFigures {
        let stepSeconds: Double, tokensPerSecond: Double, bestStepSeconds: Double
        /// torch's own 1024³ matmul before and after the steps (GFLOPS).
        let sgemm: [Double]
        let torchVersion: String
    }

    /// Runs `scripts/reference/bench_pytorch_train.py --model minimal` with the same model,
    /// batch, thread count and number of steps, and reads the JSON line it ends with.
    static func runPyTorch(python: String, script: String, config: GPT2Config, batch: Int, time: Int,
                           steps: Int, threads: Int) throws -> PyTorchFigures {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, "--model", "minimal", "--threads", "\(threads)", "--warmup", "2", "--steps", "\(steps)",
                             "--layers", "\(config.layers)", "--heads", "\(config.heads)", "--channels", "\(config.channels)",
                             "--seq", "\(time)", "--batch", "\(batch)"]
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch {
            throw UsageError("--compare-pytorch: cannot run \(python): \(error.localizedDescription)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0,
              let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let json = try? JSONValue.parse(String(line)), let o = json.objectValue,
              let step = o["step_seconds_median"]?.doubleValue, let tps = o["tokens_per_second"]?.doubleValue else {
            throw UsageError("--compare-pytorch: \(script) failed (exit \(process.terminationStatus)); its output ends:\n"
                             + text.split(separator: "\n").suffix(5).joined(separator: "\n"))
        }
        let sgemm = o["sgemm_gflops"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        let best = o["step_seconds"]?.arrayValue?.compactMap(\.doubleValue).min() ?? step
        return PyTorchFigures(stepSeconds: step, tokensPerSecond: tps, bestStepSeconds: best, sgemm: sgemm,
                              torchVersion: o["torch"]?.stringValue ?? "?")
    }
}
