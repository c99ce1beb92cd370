import Engine
import Datasets
import JSON
import Model
import Store

/// `pretrain`: a freshly initialised GPT-2 trained as a language model on the raw text of a
/// dataset (each example as `prompt \n answer`, documents separated by the end token).
enum PretrainOp {
    static let operation = OpDefinition(
        name: "pretrain", version: 3,
        summary: "language-model pre-training of a new GPT-2 on a dataset's text",
        inputs: [InputSpec("data", kind: Store.datasetKind, arity: .many, help: "one or more datasets, concatenated: the text to learn"),
                 InputSpec("tokenizer", kind: TokenizerOp.kind, optional: true, help: "a BPE tokenizer (default: bytes)")],
        params: [
            ParamSpec("model", .string(choices: GPT2Config.presets.keys.sorted()), default: "gpt-tiny", help: "architecture preset"),
        ] + TrainingLoop.parameters(steps: 500, lr: 1e-3, batchHelp: "rows per batch"),
        produces: Store.checkpointKind,
        usesSeed: true,
        run: { context in
            let tokenizer = try context.input("tokenizer").map(TokenizerOp.load) ?? .bytes
            let config = TokenizerOp.config(GPT2Config.presets[context.string("model")!]!, tokenizer: tokenizer)
            let settings = try TrainingLoop.Settings(context, config: config)
            let model = GPT2(config: config, tokenizer: tokenizer)
            for (i, name) in model.parameters.names.enumerated() {
                InitOp.initialTensor(name: name, shape: model.parameters.shapes[i], config: config, seed: settings.seed)
                    .withUnsafeBufferPointer { _ = model.parameters.tensor(i).initialize(from: $0) }
            }
            let examples = try TrainingLoop.examples(context)
            let sampler: MixSampler
            do { sampler = try MixSampler(examples: examples, mix: MixSampler.natural(examples)) } catch { throw OpError("\(error)") }
            let batches = PackedBatches(sampler: sampler, loss: .everything, seed: settings.seed, tokenizer: tokenizer)
            return try TrainingLoop.run(context, model: model, settings: settings, summary: [("op", "pretrain")]) { trainer, s in
                let b = batches.batch(step: s, batch: settings.batchSize, time: settings.seqLen)
                return try trainer.step(tokens: b.tokens, targets: b.targets, batch: b.batch, time: b.time) { losses in
                    (Trainer.weightedLoss(losses, b.weights), b.weights)
                }.loss
            }
        }
    )
}
