import Engine
import Datasets
import Foundation
import JSON
import Model
import Numerics
import Store

/// What `pretrain`, `finetune` and `dpo` share: the optimizer settings, the step loop,
/// in-node progress (saved and resumed bit-identically) and the output checkpoint.
enum TrainingLoop {
    static let kindOfState = ArtifactKind.trainingState

    /// Parameters every training op takes.
    static func parameters(steps: Int, lr: Double, batchHelp: String) -> [ParamSpec] {
        [
            ParamSpec("steps", .integer(1...10_000_000), default: .number(Double(steps)), help: "optimizer steps"),
            ParamSpec("batch_size", .integer(1...4096), default: 8, help: batchHelp),
            ParamSpec("seq_len", .integer(2...1_000_000), default: .null, help: "tokens per row (default: the model's context)"),
            ParamSpec("lr", .number(0...10), default: .number(lr), help: "peak learning rate"),
            ParamSpec("warmup", .integer(0...10_000_000), default: .null, help: "linear warmup steps (default: 5% of steps)"),
            ParamSpec("min_lr_fraction", .number(0...1), default: 0.1, help: "cosine decay ends at lr × this"),
            ParamSpec("weight_decay", .number(0...10), default: 0.1, help: "AdamW decoupled decay of the block matrices"),
            ParamSpec("grad_clip", .number(0...1e9), default: 1.0, help: "global gradient-norm clip"),
            ParamSpec("save_every", .integer(1...10_000_000), default: .null,
                      help: "save in-node progress every K steps (default: every 30 s of training)"),
            ParamSpec("seed", .integer(0...Int(Int32.max)), default: .null, help: "data-order seed (default: the spec's seed)"),
            ParamSpec("languages", .stringList(), default: .null, help: "train only on examples of these languages (default: all)"),
            ParamSpec("threads", .integer(1...1024), default: .null,
                      help: "blocks each matrix product is cut into, fixed for the whole op (default: every core); part of the result, since the blocks' sums are ordered per cut; the work runs on the op's thread share"),
        ]
    }

    struct Settings {
        let steps: Int, batchSize: Int, seqLen: Int
        let schedule: LearningRateSchedule
        let adam: AdamW.Settings
        let gradClip: Float
        let saveEvery: Int?
        let seed: UInt64
        let productSplit: Int

        init(_ context: OpContext, config: GPT2Config) throws {
            steps = context.integer("steps")!
            batchSize = context.integer("batch_size")!
            seqLen = context.integer("seq_len") ?? config.context
            if seqLen > config.context {
                throw OpError("seq_len \(seqLen) exceeds the model's context of \(config.context)")
            }
            schedule = LearningRateSchedule(peak: Float(context.number("lr")!), warmupSteps: context.integer("warmup") ?? steps / 20,
                                            totalSteps: steps, finalFraction: Float(context.number("min_lr_fraction")!))
            adam = AdamW.Settings(weightDecay: Float(context.number("weight_decay")!))
            gradClip = Float(context.number("grad_clip")!)
            saveEvery = context.integer("save_every")
            seed = UInt64(context.integer("seed")!)
            productSplit = context.integer("threads") ?? ComputeThreads.available
        }
    }

    /// The examples of the `data` input (every dataset, in order), filtered by `languages`.
    static func examples(_ context: OpContext) throws -> [Example] {
        let examples = try context.store.loadDatasets(context.inputs["data"] ?? [])
        guard let wanted = context.params["languages"]?.arrayValue.map({ Set($0.compactMap(\.stringValue)) }) else { return examples }
        let kept = Selection(languages: wanted).apply(examples)
        if kept.isEmpty {
            let present = Set(examples.map(\.lang)).sorted()
            throw OpError("no examples in languages \(wanted.sorted().joined(separator: ", ")) (the data has \(present.joined(separator: ", ")))")
        }
        return kept
    }

    /// Runs `step(s)` for s = 1…steps (resuming after the last saved step, if any) and
    /// returns the trained checkpoint. `step` performs optimizer step s on `trainer` and
    /// returns its loss.
    static func run(_ context: OpContext, model: GPT2, settings: Settings, summary: [(String, JSONValue)],
                    step: (Trainer, Int) throws -> Double) throws -> ArtifactWriter {
        // A product's bits depend on how it is cut, and a resumed run may come under a different
        // --jobs: fix the cut for every step of this op (`SplitGEMM`); the scheduler's share
        // only says how many workers run the blocks, which changes no bit.
        try ComputeThreads.withFixedSplit(settings.productSplit) {
            try loop(context, model: model, settings: settings, summary: summary, step: step)
        }
    }

    static func loop(_ context: OpContext, model: GPT2, settings: Settings, summary: [(String, JSONValue)],
                     step: (Trainer, Int) throws -> Double) throws -> ArtifactWriter {
        let optimizer = AdamW(config: model.config, settings: settings.adam)
        let trainer = Trainer(model: model, optimizer: optimizer, schedule: settings.schedule, maxGradientNorm: settings.gradClip)
        var losses: [Float] = []
        if let (savedStep, state) = try context.savedProgress() {
            try restore(state, store: context.store, model: model, optimizer: optimizer, losses: &losses)
            guard optimizer.step == savedStep, losses.count == savedStep else {
                throw OpError("saved progress at step \(savedStep) is inconsistent (optimizer step \(optimizer.step), \(losses.count) losses)")
            }
        }
        var lastSave = Date()
        while optimizer.step < settings.steps {
            let s = optimizer.step + 1
            losses.append(Float(try step(trainer, s)))
            context.progress(Double(s) / Double(settings.steps))
            let due = settings.saveEvery.map { s % $0 == 0 } ?? (Date().timeIntervalSince(lastSave) > 30)
            if due && s < settings.steps {
                try context.saveProgress(step: s, state: try state(context, model: model, optimizer: optimizer, losses: losses))
                lastSave = Date()
            }
        }
        return try ModelArtifacts.writer(for: model, store: context.store, metadata: [
            ("training", .object(JSONObject(summary + [
                ("steps", .number(Double(settings.steps))),
                ("tokens", .number(Double(settings.steps * settings.batchSize * settings.seqLen))),
                ("final_loss", .number(finalLoss(losses))),
                ("loss_curve", .array(curve(losses).map { .number($0) })),
            ]))),
        ])
    }

    /// The mean of the last tenth of the losses (at least one), rounded to 6 digits.
    static func finalLoss(_ losses: [Float]) -> Double {
        let tail = losses.suffix(max(1, losses.count / 10))
        return rounded(tail.reduce(0.0) { $0 + Double($1) } / Double(tail.count))
    }

    /// At most 50 points: the mean loss of consecutive windows.
    static func curve(_ losses: [Float]) -> [Double] {
        let window = max(1, (losses.count + 49) / 50)
        return stride(from: 0, to: losses.count, by: window).map { start in
            let w = losses[start..<min(losses.count, start + window)]
            return rounded(w.reduce(0.0) { $0 + Double($1) } / Double(w.count))
        }
    }

    static func rounded(_ x: Double) -> Double { (x * 1e6).rounded() / 1e6 }

    // MARK: In-node progress: parameters, both Adam moments, the step and the losses so far.
    // Batches are drawn from (seed, step) alone, so the step is the whole data cursor.

    static func state(_ context: OpContext, model: GPT2, optimizer: AdamW, losses: [Float]) throws -> ArtifactWriter {
        let writer = context.newArtifact(kind: kindOfState, metadata: .object(JSONObject([("step", .number(Double(optimizer.step)))])))
        for (name, buffer) in [("parameters", model.parameters), ("adam.m", optimizer.m), ("adam.v", optimizer.v)] {
            try writer.add(name: name, dtype: .f32, shape: [buffer.count], bytes: UnsafeRawBufferPointer(buffer.all))
        }
        try losses.withUnsafeBytes { try writer.add(name: "losses", dtype: .f32, shape: [losses.count], bytes: $0) }
        return writer
    }

    static func restore(_ state: ArtifactManifest, store: Store, model: GPT2, optimizer: AdamW, losses: inout [Float]) throws {
        guard state.kind == kindOfState, let step = state.metadata.objectValue?["step"]?.intValue else {
            throw OpError("saved progress \(state.digest.short) is not a training state")
        }
        for (name, buffer) in [("parameters", model.parameters), ("adam.m", optimizer.m), ("adam.v", optimizer.v)] {
            guard let entry = state.tensor(named: name), entry.byteCount == buffer.count * 4 else {
                throw OpError("saved progress \(state.digest.short): \(name) is missing or has the wrong size")
            }
            try store.readBytes(of: entry, into: UnsafeMutableRawBufferPointer(buffer.all))
        }
        guard let entry = state.tensor(named: "losses") else { throw OpError("saved progress \(state.digest.short): no losses") }
        losses = [Float](repeating: 0, count: entry.elementCount)
        try losses.withUnsafeMutableBytes { try store.readBytes(of: entry, into: $0) }
        optimizer.step = step
    }
}
