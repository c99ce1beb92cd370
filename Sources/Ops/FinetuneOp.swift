import Engine
import Datasets
import JSON
import Model
import Store

/// `finetune`: supervised fine-tuning on prompt/answer pairs, loss on the answer tokens only,
/// over a weighted mix of objectives (`{"general": 0.85, "safety": 0.15}`).
enum FinetuneOp {
    static let operation = OpDefinition(
        name: "finetune", version: 3,
        summary: "supervised fine-tuning (loss on answers) over a weighted mix of objectives",
        inputs: [
            InputSpec("model", kind: Store.checkpointKind, help: "the model to start from"),
            InputSpec("data", kind: Store.datasetKind, arity: .many, help: "one or more datasets, concatenated: prompt/answer examples"),
        ],
        params: [
            ParamSpec("mix", .weights, default: .null,
                      help: "objective → sampling weight, e.g. {\"general\": 0.85, \"safety\": 0.15} (default: every objective by its size)"),
        ] + TrainingLoop.parameters(steps: 300, lr: 5e-4, batchHelp: "rows per batch (examples are packed into rows)"),
        produces: Store.checkpointKind,
        usesSeed: true,
        run: { context in
            let model = try ModelArtifacts.load(context.input("model")!, store: context.store)
            let settings = try TrainingLoop.Settings(context, config: model.config)
            let examples = try TrainingLoop.examples(context)
            let mix = mixParameter(context.params) ?? MixSampler.natural(examples)
            let sampler: MixSampler
            do { sampler = try MixSampler(examples: examples, mix: mix) } catch { throw OpError("\(error)") }
            let batches = PackedBatches(sampler: sampler, loss: .answers, seed: settings.seed, tokenizer: model.tokenizer)
            let summary: [(String, JSONValue)] = [("op", "finetune"), ("mix", mixJSON(mix))]
            return try TrainingLoop.run(context, model: model, settings: settings, summary: summary) { trainer, s in
                let b = batches.batch(step: s, batch: settings.batchSize, time: settings.seqLen)
                return try trainer.step(tokens: b.tokens, targets: b.targets, batch: b.batch, time: b.time) { losses in
                    (Trainer.weightedLoss(losses, b.weights), b.weights)
                }.loss
            }
        }
    )

    /// The `mix` param as (objective, weight), sorted by objective: the key hashes the
    /// object canonically, so the sampling order must not depend on how the spec orders it.
    static func mixParameter(_ params: JSONObject) -> [(objective: String, weight: Double)]? {
        guard let object = params["mix"]?.objectValue else { return nil }
        return object.keys.sorted().map { ($0, object[$0]!.doubleValue ?? 0) }
    }

    static func mixJSON(_ mix: [(objective: String, weight: Double)]) -> JSONValue {
        .object(JSONObject(mix.map { ($0.objective, JSONValue.number($0.weight)) }))
    }
}
