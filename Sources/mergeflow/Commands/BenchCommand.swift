import Foundation
import Model
import Numerics

let benchCommand = Command(
    name: "bench",
    summary: "measure sgemm, memory, SHA-256, cache, engine and merge throughput on this machine",
    help: """
    usage: mergeflow bench [--only PART]... [--size-mb N] [--scale 1b] [--dir PATH] [--keep] [--threads N]
                           [--model PRESET|LxHxC]... [--batch B] [--seq T] [--steps N]
                           [--compare-pytorch PYTHON] [--rounds N]

    Prints each figure beside the ceiling measured in the same run. Parts (all by default):
      foundation  sgemm GFLOPS at sizes 64…2048 against the best of them (the sgemm peak),
                  memory bandwidth, SHA-256 on one core, and importing / loading / exporting
                  an N-MiB checkpoint (default 1024) through a fresh cache against plain file
                  write and read
      engine      the orchestrator's overhead on a generated 1,000-instance grid of trivial
                  nodes: first run, no-op rerun and plan, timed through the binary
      merge       linear, TIES and SLERP on three GPT-2-shaped checkpoints of ~0.5 GB each
                  (`merge --direct` in a child process): GB/s of input read against memory
                  bandwidth, and the child's peak RSS against 2 × the largest tensor + 256 MB.
                  With --scale 1b: three TinyLlama-shaped (1.1 B parameters) bf16 checkpoints
                  in 1 GB shards, merged with dtype bfloat16 into 1 GB output shards
      train       whole GPT-2 training steps (forward, backward, clipping, AdamW) of each
                  --model (a preset, or LxHxC such as 6x6x192; default gpt-small) on B × T
                  tokens (default 8 × 256): tokens/s and achieved GFLOPS (6·P·B·T + 6·L·B·T²·C
                  per step) against the sgemm peak of this run. With --compare-pytorch PYTHON,
                  PyTorch's minimal GPT-2 (scripts/reference/bench_pytorch_train.py, run from the
                  repository root) runs the same config, batch, threads and steps, alternating
                  with ours for --rounds rounds (default 2), and the ratio of tokens/s is printed
    Scratch files go to --dir (default: a folder under the system temporary directory) and
    are removed afterwards unless --keep is given (to time mergekit on the same files).
    """,
    run: { words in
        let args = try Arguments(words, options: ["--size-mb", "--dir", "--threads", "--only", "--model", "--batch", "--seq", "--steps", "--scale",
                                                  "--compare-pytorch", "--pytorch-script", "--rounds"], flags: ["--keep"])
        _ = try args.positionals()
        let size = try args.integer("--size-mb", default: 1024, in: 16...65536)
        ComputeThreads.set(try args.integer("--threads", default: ComputeThreads.available, in: 1...1024))
        let parts = Set(args.all("--only").isEmpty ? ["foundation", "engine", "merge", "train"] : args.all("--only"))
        for p in parts where !["foundation", "engine", "merge", "train"].contains(p) { throw UsageError("unknown benchmark part \"\(p)\"") }
        let dir = args.value("--dir") ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("mergeflow-bench-\(getpid())")
        print("mergeflow bench: \(ComputeThreads.count) threads, OpenBLAS \(BLAS.configuration)")
        var memoryBandwidth = 0.0
        if parts.contains("foundation") {
            let lines = try FoundationBenchmark.run(sizeMB: size, directory: dir)
            memoryBandwidth = lines.filter { $0.unit == "GB/s" && $0.name.hasPrefix("memcpy") }.map(\.value).max() ?? 0
        }
        if parts.contains("engine") {
            print("engine: 1,000-instance grid of trivial merges (process start included)")
            for (name, seconds) in try EngineBenchmark.run(directory: dir + "-engine") {
                print("\("  " + name)".padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: " %9.3f s", seconds))
            }
        }
        if parts.contains("merge") {
            if memoryBandwidth == 0 { memoryBandwidth = FoundationBenchmark.memcpyBandwidth() }
            let large = args.value("--scale") == "1b"
            if let scale = args.value("--scale"), scale != "1b" { throw UsageError("--scale: only 1b is known, got \"\(scale)\"") }
            let largest = large ? LlamaMergeBenchmark.largestTensorBytes : MergeBenchmark.largestTensorBytes
            let budget = 2 * largest + 256 << 20
            let modelGB = Double(large ? LlamaMergeBenchmark.modelBytes : MergeBenchmark.shapes.reduce(0) { $0 + $1.1.reduce(4, *) }) / 1e9
            print(String(format: "merge: 3 checkpoints of %.2f GB%@ (largest tensor %d MB), memcpy %.1f GB/s, RSS budget %d MB",
                         modelGB, large ? " (TinyLlama shapes, bf16, 1 GB shards)" : "", largest >> 20, memoryBandwidth, budget >> 20))
            let figures = large ? try LlamaMergeBenchmark.run(directory: dir + "-merge1b", keepFiles: args.has("--keep"))
                                : try MergeBenchmark.run(directory: dir + "-merge", keepFiles: args.has("--keep"))
            for f in figures {
                // memcpy's figure counts bytes read + written; so does the merge's "moved".
                let input = Double(f.inputBytes) / f.seconds / 1e9
                let moved = Double(f.inputBytes + f.outputBytes) / f.seconds / 1e9
                print("  " + f.method.padding(toLength: 7, withPad: " ", startingAt: 0) + String(format: " %5.2f s  input %5.2f GB/s, read+written %5.2f GB/s (%4.1f%% of memcpy)  peak RSS %4d MB (%3.0f%% of budget)",
                             f.seconds, input, moved, 100 * moved / memoryBandwidth, f.peakRSS >> 20,
                             100 * Double(f.peakRSS) / Double(budget)))
                print(String(format: "           I/O floor %.2f s (read the inputs, write one model, no merging; written through the page cache %.2f s, around it %.2f s): merge = %.2f × floor",
                             f.floor.seconds, f.floor.throughCache, f.floor.aroundCache, f.seconds / f.floor.seconds))
            }
            if args.has("--keep") { print("  files kept in \(dir)-merge\(large ? "1b" : "")") }
        }
        if parts.contains("train") {
            let batch = try args.integer("--batch", default: 8, in: 1...4096)
            let steps = try args.integer("--steps", default: 10, in: 1...10_000)
            let rounds = try args.integer("--rounds", default: args.value("--compare-pytorch") == nil ? 1 : 2, in: 1...100)
            let python = args.value("--compare-pytorch")
            let script = args.value("--pytorch-script") ?? "scripts/reference/bench_pytorch_train.py"
            if python != nil, !FileManager.default.fileExists(atPath: script) {
                throw UsageError("--compare-pytorch: \(script) not found (run from the repository root, or pass --pytorch-script)")
            }
            for name in args.all("--model").isEmpty ? ["gpt-small"] : args.all("--model") {
                let context = GPT2Config.presets[name]?.context ?? 256
                let time = try args.integer("--seq", default: min(256, context), in: 2...max(2, context))
                guard let config = TrainingBenchmark.model(name, time: time) else {
                    throw UsageError("unknown model \"\(name)\": a preset (\(GPT2Config.presets.keys.sorted().joined(separator: ", "))) or LxHxC")
                }
                guard time <= config.context else { throw UsageError("--seq \(time) exceeds the context of \(name)") }
                print("train: \(name) (\(config.parameterCount) parameters, L\(config.layers) H\(config.heads) C\(config.channels)), "
                      + "B=\(batch) T=\(time), \(ComputeThreads.count) threads, median of \(steps) steps")
                var ours: [Double] = [], theirs: [Double] = [], oursBest: [Double] = [], theirsBest: [Double] = []
                let tokens = Double(batch * time)
                for round in 1...rounds {
                    let label = rounds > 1 ? "  round \(round)  " : "  "
                    let load = TrainingBenchmark.loadAverage()
                    let f = TrainingBenchmark.run(config: config, batch: batch, time: time, steps: steps)
                    ours.append(f.tokensPerSecond)
                    oursBest.append(tokens / f.bestStepSeconds)
                    print(label + String(format: "mergeflow %.4f s/step (forward %.4f, backward %.4f, clip+AdamW %.4f; best %.4f)  %7.0f tokens/s  "
                                 + "%.1f GFLOPS = %.1f%% of the sgemm peak (%.1f GFLOPS, same run)",
                                 f.stepSeconds, f.forwardSeconds, f.backwardSeconds, f.optimizerSeconds, f.bestStepSeconds,
                                 f.tokensPerSecond, f.gflops, 100 * f.gflops / f.sgemmPeak, f.sgemmPeak) + "  [load \(load)]")
                    if let python {
                        let load = TrainingBenchmark.loadAverage()
                        let t = try TrainingBenchmark.runPyTorch(python: python, script: script, config: config, batch: batch,
                                                                 time: time, steps: steps, threads: ComputeThreads.count)
                        theirs.append(t.tokensPerSecond)
                        theirsBest.append(tokens / t.bestStepSeconds)
                        let sgemm = t.sgemm.map { String(format: "%.0f", $0) }.joined(separator: "/")
                        print(label + "PyTorch \(t.torchVersion) minimal" + String(format: " %.4f s/step (best %.4f)  %7.0f tokens/s",
                                                                                   t.stepSeconds, t.bestStepSeconds, t.tokensPerSecond)
                              + "  (torch's 1024³ sgemm before/after: \(sgemm) GFLOPS)"
                              + String(format: "  ratio %.2f×", f.tokensPerSecond / t.tokensPerSecond) + "  [load \(load)]")
                    }
                }
                if !theirs.isEmpty {
                    let median = TrainingBenchmark.median
                    print(String(format: "  mergeflow / PyTorch minimal: %.2f× on median steps (%.0f / %.0f tokens/s, medians over %d rounds), "
                                 + "%.2f× on best steps (%.0f / %.0f)",
                                 median(ours) / median(theirs), median(ours), median(theirs), rounds,
                                 oursBest.max()! / theirsBest.max()!, oursBest.max()!, theirsBest.max()!))
                }
            }
        }
        return 0
    }
)
