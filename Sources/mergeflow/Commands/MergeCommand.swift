import Checkpoint
import Merge
import Engine
import Ops
import Foundation
import Numerics
import Store

let mergeCommand = Command(
    name: "merge",
    summary: "merge checkpoints from a mergekit config written as JSON",
    help: """
    usage: mergeflow merge CONFIG.json OUT_DIR [--direct] [--out-shard-size N] [--cache PATH] [--threads N]

    CONFIG is mergekit's own config schema as JSON: merge_method, base_model,
    models: [{model, parameters}], parameters, dtype and out_dtype (float32, bfloat16,
    float16), tokenizer_source (base). Parameter values are scalars, gradient lists or
    [{filter, value}] lists, as in mergekit. Model paths are safetensors folders (one file
    or shards with an index), relative to the config's folder. Unknown keys are errors.
    Writes OUT_DIR/model.safetensors, or model-0000i-of-0000N.safetensors shards and
    model.safetensors.index.json, then the base's config.json (torch_dtype set) and its
    tokenizer files. Results are cached: repeating a merge is instant.

      --direct   merge straight from the folders to OUT_DIR without the cache (no import
                 copy, no caching): inputs memory-mapped, a tensor at a time; the output
                 is renamed into place when complete but not fsynced (as mergekit)
      --out-shard-size N  bytes per output shard (as mergekit's writer counts them), with
                 an optional suffix K (10^3), M (10^6) or B (10^9); default 5B
      --peak-rss print this process's peak resident memory (VmHWM) when done
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions.union(["--out-shard-size"]), flags: ["--direct", "--peak-rss"])
        defer { if args.has("--peak-rss") { print("peak RSS \(PeakMemory.residentHighWaterMark()) bytes") } }
        let p = try args.positionals("CONFIG", "OUT_DIR")
        var shardBytes: Int?
        if let text = args.value("--out-shard-size") {
            guard let n = ShardedCheckpointWriter.shardBytes(parsing: text) else {
                throw UsageError("--out-shard-size: expected a number of bytes with an optional K, M or B suffix (e.g. 5B), got \"\(text)\"")
            }
            shardBytes = n
        }
        if args.has("--direct") {
            ComputeThreads.set(try args.integer("--threads", default: ComputeThreads.available, in: 1...1024))
            do {
                try DirectMerge.run(config: p[0], output: p[1], maxShardBytes: shardBytes ?? ShardedCheckpointWriter.defaultMaxShardBytes)
            } catch let e as MergeError {
                print("mergeflow merge: \(e)", to: &standardError)
                return 1
            }
            print("merged → \(p[1])")
            return 0
        }
        let (document, directory) = try MergekitConfig.spec(from: p[0])
        var parser = SpecParser()
        let spec = try parser.validate(document, file: p[0], directory: directory)
        let graph = try ExpandedGraph(spec: spec, file: p[0])
        let store = try CommandSupport.openStore(args)
        var options = RunOptions()
        options.computeThreads = .numerics
        options.threads = ComputeThreads.count
        options.progress = .quiet
        options.command = (["mergeflow"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        let summary = try Scheduler(store: store, graph: graph, options: options).run()
        if let failure = summary.failed.first {
            print("mergeflow merge: \(failure.instance): \(failure.error)", to: &standardError)
            // A malformed input checkpoint is bad input, as with `import` and `--direct`.
            return summary.failedOnBadInput.contains(failure.instance) ? 2 : 1
        }
        let merged = graph.byNode["merged"]![0]
        guard let digest = summary.artifacts[merged] else { return 1 }
        try store.exportCheckpoint(digest, to: p[1], maxShardBytes: shardBytes)
        let parsed = try MergekitConfig.parse(p[0])
        try ModelFolderFiles.copy(from: parsed.resolve(parsed.tokenizerDonor), to: p[1], outputDType: parsed.outputDType ?? .f32)
        print("\(summary.executed == 0 ? "cached" : "merged") \(digest.hex) → \(p[1])")
        return 0
    }
)
