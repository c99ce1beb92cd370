import Checkpoint
import Foundation
import JSON
import Numerics
import Store

/// Merge throughput at the size users merge (`bench --only merge --scale 1b`): three
/// checkpoints of TinyLlama-1.1B's shapes (22 layers, hidden 2048, intermediate 5632, 32
/// heads of which 4 key/value heads, vocab 32000, untied `lm_head`: 1.10 B parameters) in
/// bfloat16, written by the bench as transformers shards them (1 GB shards + index), merged
/// with linear, TIES and SLERP (`dtype: bfloat16`, as published configs are) into sharded
/// bf16 output by `merge --direct` in a child process. Each run starts after `sync`.
enum LlamaMergeBenchmark {
    static let layers = 22, hidden = 2048, intermediate = 5632, vocab = 32000, kvHidden = 256

    /// Tensor names and shapes in transformers' `LlamaForCausalLM` layout.
    static let shapes: [(String, [Int])] = {
        var out: [(String, [Int])] = [("model.embed_tokens.weight", [vocab, hidden]), ("lm_head.weight", [vocab, hidden]),
                                      ("model.norm.weight", [hidden])]
        for l in 0..<layers {
            let p = "model.layers.\(l)."
            out += [(p + "input_layernorm.weight", [hidden]), (p + "post_attention_layernorm.weight", [hidden]),
                    (p + "self_attn.q_proj.weight", [hidden, hidden]), (p + "self_attn.k_proj.weight", [kvHidden, hidden]),
                    (p + "self_attn.v_proj.weight", [kvHidden, hidden]), (p + "self_attn.o_proj.weight", [hidden, hidden]),
                    (p + "mlp.gate_proj.weight", [intermediate, hidden]), (p + "mlp.up_proj.weight", [intermediate, hidden]),
                    (p + "mlp.down_proj.weight", [hidden, intermediate])]
        }
        return out.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
    }()

    static var parameters: Int { shapes.reduce(0) { $0 + $1.1.reduce(1, *) } }
    /// The largest tensor as stored (bf16): the embedding, 131 MB.
    static var largestTensorBytes: Int { shapes.map { $0.1.reduce(2, *) }.max()! }
    static var modelBytes: Int { 2 * parameters }

    static let config = """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": \(hidden), "intermediate_size": \(intermediate),
         "num_hidden_layers": \(layers), "num_attention_heads": 32, "num_key_value_heads": 4, "vocab_size": \(vocab),
         "max_position_embeddings": 2048, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "hidden_act": "silu",
         "tie_word_embeddings": false, "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": 2}

        """

    /// Writes base, a, b: the base pseudo-random (~U(−0.05, 0.05)), the others the base plus
    /// a perturbation, rounded to bf16, in 1 GB shards.
    static func makeCheckpoints(in directory: String) throws {
        for (index, name) in ["base", "a", "b"].enumerated() {
            let folder = (directory as NSString).appendingPathComponent(name)
            let items = shapes.map { SafetensorsWriter.Item(name: $0.0, dtype: .bf16, shape: $0.1) }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: largestTensorBytes, alignment: 64)
            defer { buffer.deallocate() }
            try ShardedCheckpointWriter.write(folder: folder, items: items, maxShardBytes: 1_000_000_000, durable: false) { i, emit in
                let count = items[i].shape.reduce(1, *)
                let out = SharedPointer(buffer.baseAddress!.assumingMemoryBound(to: UInt16.self))
                // Blocks of 64 Ki elements, each from its own generator state, spread over cores.
                let blocks = (count + 65535) / 65536
                Parallel.forEach(blocks) { block in
                    var state = UInt64(i * 100_000 + block + 1) &* 0x9E37_79B9_7F4A_7C15
                    var noise = UInt64(i * 100_000 + block + 1) &* 0xD1B5_4A32_D192_ED03 &+ UInt64(index)
                    for j in (block * 65536)..<min(count, (block + 1) * 65536) {
                        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                        noise = noise &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                        let base = Float(Int32(truncatingIfNeeded: state >> 32)) * 2.3e-11
                        let delta = index == 0 ? 0 : Float(Int32(truncatingIfNeeded: noise >> 32)) * 4.6e-12
                        out.base[j] = DType.bfloat16Bits(base + delta).littleEndian
                    }
                }
                try emit(UnsafeRawBufferPointer(start: buffer.baseAddress, count: 2 * count))
            }
            try config.write(toFile: folder + "/config.json", atomically: true, encoding: .utf8)
        }
    }

    static let configs: [(String, String, Int)] = [
        ("linear", #"{"merge_method": "linear", "models": [{"model": "base", "parameters": {"weight": 0.5}}, {"model": "a", "parameters": {"weight": 0.3}}, {"model": "b", "parameters": {"weight": 0.2}}], "dtype": "bfloat16"}"#, 3),
        ("ties", #"{"merge_method": "ties", "base_model": "base", "models": [{"model": "a", "parameters": {"weight": 0.6, "density": 0.5}}, {"model": "b", "parameters": {"weight": 0.4, "density": 0.5}}], "dtype": "bfloat16"}"#, 3),
        ("slerp", #"{"merge_method": "slerp", "base_model": "base", "models": [{"model": "a"}], "parameters": {"t": 0.3}, "dtype": "bfloat16"}"#, 2),
    ]

    /// Output shard size for the bench (and for mergekit timed on the same files): three shards.
    static let outShardSize = "1B"

    static func run(directory: String, keepFiles: Bool = false) throws -> [MergeBenchmark.Figure] {
        if !FileManager.default.fileExists(atPath: directory + "/b/config.json") {
            try makeCheckpoints(in: directory)
        }
        var figures: [MergeBenchmark.Figure] = []
        // Every timed run but the first follows one that wrote 2.2 GB and deleted it, whose
        // freed pages the next run's output reuses. The first would instead follow the
        // checkpoints' making (or nothing) and alone pay for this virtual machine getting
        // memory back from its host (measured at 2.3–2.8× the same merge run later): one
        // untimed copy of the floor's first, so every method is timed under like conditions.
        try warmUp(directory)
        for (method, config, inputs) in configs {
            let path = (directory as NSString).appendingPathComponent("\(method).json")
            try config.write(toFile: path, atomically: true, encoding: .utf8)
            let out = (directory as NSString).appendingPathComponent("out-\(method)")
            try? FileManager.default.removeItem(atPath: out)
            sync()
            let result = try ChildProcess.run(["merge", path, out, "--direct", "--peak-rss", "--out-shard-size", outShardSize])
            guard result.status == 0 else { throw UsageError("benchmark merge \(method) failed (exit \(result.status))") }
            let peak = result.output.split(separator: "\n").first { $0.hasPrefix("peak RSS ") }
                .flatMap { Int($0.split(separator: " ")[2]) } ?? 0
            try? FileManager.default.removeItem(atPath: out)
            let files = try shardFiles(directory, models: inputs)
            // The floor writes one model's worth: the first model's shards, copied as read.
            let firstModel = files.filter { $0.contains("/base/") }
            let floor = try IOFloor.measure(files, copying: Set(firstModel), to: out + ".floor")
            figures.append(MergeBenchmark.Figure(method: method, seconds: result.seconds, inputBytes: inputs * modelBytes,
                                                 outputBytes: modelBytes, peakRSS: peak, floor: floor))
        }
        if !keepFiles { try? FileManager.default.removeItem(atPath: directory) }
        return figures
    }

    /// The safetensors shards of the first `models` of base, a, b, in order.
    static func shardFiles(_ directory: String, models: Int) throws -> [String] {
        var files: [String] = []
        for model in ["base", "a", "b"].prefix(models) {
            let folder = (directory as NSString).appendingPathComponent(model)
            files += try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".safetensors") }.sorted()
                .map { folder + "/" + $0 }
        }
        return files
    }

    /// The floor's copy of the three models, once, untimed (see `run`).
    static func warmUp(_ directory: String) throws {
        let files = try shardFiles(directory, models: 3), out = (directory as NSString).appendingPathComponent("warm-up.floor")
        sync()
        try IOFloor.copy(files, copying: Set(files.filter { $0.contains("/base/") }), to: out, aroundCache: false)
        try? FileManager.default.removeItem(atPath: out)
    }
}
