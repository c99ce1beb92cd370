import Foundation
import Numerics

let benchCommand = Command(
    name: "bench",
    summary: "measure sgemm, memory, SHA-256 and cache throughput on this machine",
    help: """
    usage: mergeflow bench [--size-mb N] [--dir PATH] [--threads N]

    Prints each figure beside the ceiling measured in the same run: sgemm GFLOPS at sizes
    64…2048 against the best of them (the sgemm peak), memory bandwidth, SHA-256 on one core,
    and importing / loading / exporting an N-MiB checkpoint (default 1024) through a fresh
    cache against plain file write and read. Then the orchestrator's overhead on a generated
    1,000-instance grid of trivial nodes: first run, no-op rerun and plan, timed through the
    binary (process start included). Scratch files go to --dir (default: a folder
    under the system temporary directory) and are removed afterwards.
    """,
    run: { words in
        let args = try Arguments(words, options: ["--size-mb", "--dir", "--threads"])
        _ = try args.positionals()
        let size = try args.integer("--size-mb", default: 1024, in: 16...65536)
        ComputeThreads.set(try args.integer("--threads", default: ComputeThreads.available, in: 1...1024))
        let dir = args.value("--dir") ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("mergeflow-bench-\(getpid())")
        print("mergeflow bench: \(ComputeThreads.count) threads, OpenBLAS \(BLAS.configuration)")
        _ = try FoundationBenchmark.run(sizeMB: size, directory: dir)
        print("engine: 1,000-instance grid of trivial merges (process start included)")
        for (name, seconds) in try EngineBenchmark.run(directory: dir + "-engine") {
            print("\("  " + name)".padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: " %9.3f s", seconds))
        }
        return 0
    }
)
