import Datasets
import Engine
import JSON
import Model
import Store

/// `tokenizer`: a byte-level BPE vocabulary learned from datasets' text (every prompt and
/// answer), for `pretrain` and `init` to build models on (see `Tokenizer`). The merges are
/// the artifact's metadata; a model trained on it carries them in its config, so fine-tunes,
/// merges, evaluations and exported folders all read text the same way.
enum TokenizerOp {
    static let kind = ArtifactKind.tokenizer

    static let operation = OpDefinition(
        name: "tokenizer", version: 1,
        summary: "a byte-level BPE tokenizer learned from datasets' text",
        inputs: [InputSpec("data", kind: Store.datasetKind, arity: .many, help: "the text to learn merges from")],
        params: [
            ParamSpec("vocabulary", .integer(Int(Tokenizer.firstMergedId)...65_536), default: 2048,
                      help: "tokens in all: 256 bytes, 3 specials, then merges up to this size (fewer if the text runs out of repeated pairs)"),
        ],
        produces: kind,
        run: { context in
            let examples = try context.store.loadDatasets(context.inputs["data"] ?? [])
            let texts = examples.lazy.flatMap { $0.answer.isEmpty ? [$0.prompt] : [$0.prompt, $0.answer] }
            let tokenizer = Tokenizer.train(texts: texts, vocabularySize: context.integer("vocabulary")!)
            let merges = JSONValue.array(tokenizer.merges.map { .array([.number(Double($0.left)), .number(Double($0.right))]) })
            return context.newArtifact(kind: kind, metadata: .object(JSONObject([
                ("vocabulary", .number(Double(tokenizer.vocabularySize))),
                ("texts", .number(Double(examples.count))),
                (ModelArtifacts.mergesKey, merges),
            ])))
        }
    )

    /// The tokenizer of a `tokenizer` artifact.
    static func load(_ manifest: ArtifactManifest) throws -> Tokenizer {
        let source = "tokenizer \(manifest.digest.short)"
        guard manifest.kind == kind, let size = manifest.metadata.objectValue?["vocabulary"]?.intValue else {
            throw OpError("\(source) is a \(manifest.kind), not a tokenizer")
        }
        let placeholder = GPT2Config(layers: 0, heads: 1, channels: 1, context: 1, vocabulary: size)
        return try ModelArtifacts.tokenizer(from: manifest.metadata, config: placeholder, source: source)
    }

    /// A preset's architecture with the vocabulary of `tokenizer`.
    static func config(_ preset: GPT2Config, tokenizer: Tokenizer) -> GPT2Config {
        var config = preset
        config.vocabulary = tokenizer.isBytes ? preset.vocabulary : tokenizer.vocabularySize
        return config
    }
}
