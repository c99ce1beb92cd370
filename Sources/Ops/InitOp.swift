import Engine
import JSON
import Model
import Numerics
import Store

/// `init`: a freshly initialised GPT-2 checkpoint (GPT-2's scheme: weights N(0, 0.02),
/// residual projections scaled by 1/√(2·layers), biases 0, LayerNorm weight 1), seeded.
enum InitOp {
    static let operation = OpDefinition(
        name: "init", version: 1,
        summary: "a randomly initialised GPT-2 checkpoint of a preset size",
        inputs: [InputSpec("tokenizer", kind: TokenizerOp.kind, optional: true, help: "a BPE tokenizer (default: bytes)")],
        params: [
            ParamSpec("model", .string(choices: GPT2Config.presets.keys.sorted()), default: "gpt-tiny", help: "architecture preset"),
            ParamSpec("seed", .integer(0...Int(Int32.max)), default: .null, help: "random seed (default: the spec's seed)"),
        ],
        produces: Store.checkpointKind,
        usesSeed: true,
        run: { context in
            let tokenizer = try context.input("tokenizer").map(TokenizerOp.load) ?? .bytes
            let config = TokenizerOp.config(GPT2Config.presets[context.string("model")!]!, tokenizer: tokenizer)
            let seed = UInt64(context.integer("seed")!)
            let writer = context.newArtifact(kind: Store.checkpointKind, metadata: .object(JSONObject([
                ("config", ModelArtifacts.configJSON(config, tokenizer: tokenizer))])))
            let shapes = config.tensorShapes
            for (i, (name, shape)) in shapes.enumerated() {
                try writer.add(name: name, tensor: initialTensor(name: name, shape: shape, config: config, seed: seed))
                context.progress(Double(i + 1) / Double(shapes.count))
            }
            return writer
        }
    )

    static func initialTensor(name: String, shape: [Int], config: GPT2Config, seed: UInt64) -> Tensor {
        if name.hasSuffix(".bias") { return Tensor(shape: shape) }
        if name.contains("ln_") { return Tensor(shape: shape, repeating: 1) }
        var std = 0.02
        if name.hasSuffix("c_proj.weight") { std /= (2 * Double(config.layers)).squareRoot() }
        var rng = SeededRandom(seed: seed, stream: name)
        var t = Tensor(shape: shape)
        t.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = Float(rng.normal() * std) } }
        return t
    }
}
