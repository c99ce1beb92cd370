import Engine
import Datasets
import JSON
import Model
import Store

/// `dpo`: direct preference optimisation on (prompt, chosen = answer, rejected) examples,
/// against a frozen reference model (default: the starting model itself).
enum DPOOp {
    static let operation = OpDefinition(
        name: "dpo", version: 4,
        summary: "direct preference optimisation against a frozen reference model",
        inputs: [
            InputSpec("model", kind: Store.checkpointKind, help: "the policy to start from"),
            InputSpec("data", kind: Store.datasetKind, arity: .many, help: "one or more datasets, concatenated: examples with a rejected answer"),
            InputSpec("reference", kind: Store.checkpointKind, optional: true, help: "the frozen reference (default: the starting model)"),
        ],
        params: [
            ParamSpec("beta", .number(0...1000), default: 0.1, help: "DPO's β: how far the policy may move from the reference"),
            ParamSpec("rpo_alpha", .number(0...1000), default: 0,
                      help: "weight of the chosen answers' mean token NLL added to the DPO loss (RPO; TRL's rpo_alpha): keeps the chosen answer likely instead of only the rejected one unlikely; 0 is plain DPO"),
            ParamSpec("mix", .weights, default: .null, help: "objective → sampling weight (default: every objective with pairs, by size)"),
        ] + TrainingLoop.parameters(steps: 200, lr: 1e-4, batchHelp: "preference pairs per batch (two rows each)"),
        produces: Store.checkpointKind,
        usesSeed: true,
        run: { context in
            let model = try ModelArtifacts.load(context.input("model")!, store: context.store)
            let reference = try ModelArtifacts.load(context.input("reference") ?? context.input("model")!, store: context.store)
            guard reference.config == model.config, reference.tokenizer == model.tokenizer else {
                throw OpError("the reference model's architecture or tokenizer differs from the policy's")
            }
            let settings = try TrainingLoop.Settings(context, config: model.config)
            let beta = context.number("beta")!, alpha = context.number("rpo_alpha") ?? 0
            let examples = try TrainingLoop.examples(context)
            let mix = FinetuneOp.mixParameter(context.params) ?? MixSampler.natural(examples.filter { $0.rejected != nil })
            let batches: PreferenceBatches
            do { batches = try PreferenceBatches(examples: examples, mix: mix, seed: settings.seed, tokenizer: model.tokenizer) } catch { throw OpError("\(error)") }
            let summary: [(String, JSONValue)] = [("op", "dpo"), ("beta", .number(beta)), ("rpo_alpha", .number(alpha)), ("mix", FinetuneOp.mixJSON(mix))]
            return try TrainingLoop.run(context, model: model, settings: settings, summary: summary) { trainer, s in
                let b = batches.batch(step: s, pairs: settings.batchSize, time: settings.seqLen)
                let refNLL = reference.forward(tokens: b.tokens, targets: b.targets, batch: b.batch, time: b.time)
                let refRows = DirectPreference.rowLogLikelihoods(refNLL, answerMask: b.weights, rows: b.batch, time: b.time)
                return try trainer.step(tokens: b.tokens, targets: b.targets, batch: b.batch, time: b.time) { losses in
                    let r = DirectPreference.objective(policyNLL: losses, reference: refRows, answerMask: b.weights,
                                                       rows: b.batch, time: b.time, beta: beta, nllWeight: alpha)
                    return (r.loss, r.weights)
                }.loss
            }
        }
    )
}
