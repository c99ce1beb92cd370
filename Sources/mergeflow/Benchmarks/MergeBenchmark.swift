import Checkpoint
import Foundation
import JSON
import Numerics

/// Merge throughput on three GPT-2-shaped checkpoints of about 0.5 GB each: linear (three
/// models), TIES (base + two) and SLERP (base + one), each run as `mergeflow merge --direct`
/// in a child process, timed, with the peak RSS the child reports of itself. Each run starts
/// after `sync`, so the previous run's output is not being written back to disk under it.
enum MergeBenchmark {
    struct Figure {
        let method: String
        let seconds: Double
        let inputBytes: Int
        let outputBytes: Int
        let peakRSS: Int
        /// Reading the same input files and writing one model-sized file, no merging: what
        /// the page cache and file system allow on this machine (`IOFloor`).
        let floor: IOFloor.Figure
    }

    /// Tensor shapes of the benchmark model (≈ 0.47 GB in F32; the largest tensor is wte).
    static let shapes: [(String, [Int])] = {
        var out: [(String, [Int])] = [("transformer.wte.weight", [16384, 1024]), ("transformer.wpe.weight", [1024, 1024])]
        for l in 0..<8 {
            let p = "transformer.h.\(l)."
            out += [(p + "ln_1.weight", [1024]), (p + "ln_1.bias", [1024]),
                    (p + "attn.c_attn.weight", [1024, 3072]), (p + "attn.c_attn.bias", [3072]),
                    (p + "attn.c_proj.weight", [1024, 1024]), (p + "attn.c_proj.bias", [1024]),
                    (p + "ln_2.weight", [1024]), (p + "ln_2.bias", [1024]),
                    (p + "mlp.c_fc.weight", [1024, 4096]), (p + "mlp.c_fc.bias", [4096]),
                    (p + "mlp.c_proj.weight", [4096, 1024]), (p + "mlp.c_proj.bias", [1024])]
        }
        return out + [("transformer.ln_f.weight", [1024]), ("transformer.ln_f.bias", [1024])]
    }()

    static var largestTensorBytes: Int { shapes.map { $0.1.reduce(4, *) }.max()! }

    /// Writes base, a, b: the base is pseudo-random, the others the base plus a perturbation.
    static func makeCheckpoints(in directory: String) throws {
        for (index, name) in ["base", "a", "b"].enumerated() {
            let folder = (directory as NSString).appendingPathComponent(name)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let items = shapes.map { SafetensorsWriter.Item(name: $0.0, dtype: .f32, shape: $0.1) }
            try SafetensorsWriter.write(to: folder + "/model.safetensors", items: items, metadata: ["format": "pt"]) { i, buffer in
                let f = buffer.bindMemory(to: Float.self)
                var state = UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15
                var noise = UInt64(i + 1) &* 0xD1B5_4A32_D192_ED03 &+ UInt64(index)
                for j in 0..<f.count {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    noise = noise &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    let base = Float(Int32(truncatingIfNeeded: state >> 32)) * 2.3e-11  // ~U(-0.05, 0.05)
                    let delta = index == 0 ? 0 : Float(Int32(truncatingIfNeeded: noise >> 32)) * 4.6e-12
                    f[j] = base + delta
                }
            }
            try Data(#"{"model_type": "gpt2", "n_layer": 8, "n_embd": 1024, "n_head": 16, "n_positions": 1024, "vocab_size": 16384}"#.utf8)
                .write(to: URL(fileURLWithPath: folder + "/config.json"))
        }
    }

    static let configs: [(String, String, Int)] = [
        ("linear", #"{"merge_method": "linear", "models": [{"model": "base", "parameters": {"weight": 0.5}}, {"model": "a", "parameters": {"weight": 0.3}}, {"model": "b", "parameters": {"weight": 0.2}}], "dtype": "float32"}"#, 3),
        ("ties", #"{"merge_method": "ties", "base_model": "base", "models": [{"model": "a", "parameters": {"weight": 0.6, "density": 0.5}}, {"model": "b", "parameters": {"weight": 0.4, "density": 0.5}}], "dtype": "float32"}"#, 3),
        ("slerp", #"{"merge_method": "slerp", "base_model": "base", "models": [{"model": "a"}], "parameters": {"t": 0.3}, "dtype": "float32"}"#, 2),
    ]

    static func run(directory: String, keepFiles: Bool = false) throws -> [Figure] {
        try makeCheckpoints(in: directory)
        let modelBytes = shapes.reduce(0) { $0 + $1.1.reduce(4, *) }
        var figures: [Figure] = []
        for (method, config, inputs) in configs {
            let path = (directory as NSString).appendingPathComponent("\(method).json")
            try config.write(toFile: path, atomically: true, encoding: .utf8)
            let out = (directory as NSString).appendingPathComponent("out-\(method)")
            sync()
            let result = try ChildProcess.run(["merge", path, out, "--direct", "--peak-rss"])
            guard result.status == 0 else { throw UsageError("benchmark merge \(method) failed (exit \(result.status))") }
            let peak = result.output.split(separator: "\n").first { $0.hasPrefix("peak RSS ") }
                .flatMap { Int($0.split(separator: " ")[2]) } ?? 0
            try? FileManager.default.removeItem(atPath: out)
            let files = ["base", "a", "b"].prefix(inputs).map { (directory as NSString).appendingPathComponent("\($0)/model.safetensors") }
            let floor = try IOFloor.measure(files, copying: [files[0]], to: out + ".floor")
            figures.append(Figure(method: method, seconds: result.seconds, inputBytes: inputs * modelBytes, outputBytes: modelBytes,
                                  peakRSS: peak, floor: floor))
        }
        if !keepFiles { try? FileManager.default.removeItem(atPath: directory) }
        return figures
    }
}
