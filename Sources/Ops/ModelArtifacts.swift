import Engine
import Checkpoint
import Foundation
import JSON
import Model
import Numerics
import Store

/// GPT-2 models in and out of checkpoint artifacts and folders, with the checks that keep a
/// bad checkpoint from being trained on: a config we can run, every tensor present with
/// its shape, no unknown tensors, finite weights.
public enum ModelArtifacts {
    /// Tensors some GPT-2 files carry that the model does not need: transformers 4's
    /// causal-mask buffers, and the LM head (tied to `wte`; checked equal when present).
    static func isIgnoredBuffer(_ name: String) -> Bool {
        name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias")
    }

    /// The architecture from a `config.json`, refusing settings this implementation does not run.
    public static func config(from json: JSONValue?, source: String) throws -> GPT2Config {
        guard let json, let config = GPT2Config(huggingFace: json) else {
            throw OpError("\(source): no GPT-2 config (config.json with n_layer, n_head, n_embd, n_positions, vocab_size)")
        }
        let o = json.objectValue!
        var problems: [String] = []
        if let a = o["activation_function"]?.stringValue, a != "gelu_new" { problems.append("activation_function \"\(a)\" (only gelu_new)") }
        if let e = o["layer_norm_epsilon"]?.doubleValue, abs(e - 1e-5) > 1e-12 { problems.append("layer_norm_epsilon \(e) (only 1e-5)") }
        if let inner = o["n_inner"]?.intValue, inner != 4 * config.channels { problems.append("n_inner \(inner) (only 4·n_embd)") }
        if o["scale_attn_by_inverse_layer_idx"]?.boolValue == true { problems.append("scale_attn_by_inverse_layer_idx") }
        if o["reorder_and_upcast_attn"]?.boolValue == true { problems.append("reorder_and_upcast_attn") }
        if o["tie_word_embeddings"]?.boolValue == false { problems.append("untied word embeddings") }
        if config.heads <= 0 || config.channels % config.heads != 0 { problems.append("n_embd \(config.channels) not divisible by n_head \(config.heads)") }
        if config.layers < 0 || config.context <= 0 || config.vocabulary <= 0 { problems.append("non-positive sizes") }
        if !problems.isEmpty { throw OpError("\(source): unsupported GPT-2 config: " + problems.joined(separator: "; ")) }
        return config
    }

    /// Fills a model from named tensors (`read` copies tensor `name` as Float32 into the
    /// buffer, or returns false when absent); `available` lists every tensor the source has.
    static func fill(_ model: GPT2, available: [String], source: String,
                     read: (String, UnsafeMutableBufferPointer<Float>) throws -> Bool,
                     shapeOf: (String) -> [Int]?) throws {
        let p = model.parameters
        let expected = Set(p.names)
        let unknown = available.filter { !expected.contains($0) && !isIgnoredBuffer($0) && $0 != "lm_head.weight" }
        if !unknown.isEmpty {
            throw OpError("\(source): tensors a GPT-2 of this config does not have: \(unknown.prefix(5).joined(separator: ", "))")
        }
        for (i, name) in p.names.enumerated() {
            guard let shape = shapeOf(name) else { throw OpError("\(source): missing tensor \(name)") }
            guard shape == p.shapes[i] else {
                throw OpError("\(source): \(name) has shape \(shape), the config needs \(p.shapes[i])")
            }
            _ = try read(name, p.tensor(i))
            if Kernels.maxMagnitude(UnsafeBufferPointer(p.tensor(i))).isFinite == false {
                throw OpError("\(source): \(name) holds NaN or infinite values")
            }
        }
        if available.contains("lm_head.weight") {
            let head = UnsafeMutableBufferPointer<Float>.allocate(capacity: p.tensor(0).count)
            defer { head.deallocate() }
            guard shapeOf("lm_head.weight") == p.shapes[0], try read("lm_head.weight", head),
                  head.elementsEqual(p.tensor(0)) else {
                throw OpError("\(source): lm_head.weight differs from transformer.wte.weight (untied heads are not supported)")
            }
        }
    }

    /// The key of `config.json` (and of a checkpoint's config metadata) that holds a BPE
    /// tokenizer's merges as `[[left, right], …]`; absent for byte-level models.
    /// transformers keeps unknown config keys as attributes, so an exported folder still loads.
    public static let mergesKey = "mergeflow_bpe_merges"

    /// The tokenizer a `config.json` names (byte-level when it names none), checked against
    /// the vocabulary size.
    public static func tokenizer(from json: JSONValue?, config: GPT2Config, source: String) throws -> Tokenizer {
        guard let list = json?.objectValue?[mergesKey] else { return .bytes }
        guard let pairs = list.arrayValue else { throw OpError("\(source): \(mergesKey) is not a list of pairs") }
        var merges: [Tokenizer.Pair] = []
        merges.reserveCapacity(pairs.count)
        for (i, p) in pairs.enumerated() {
            guard let ab = p.arrayValue, ab.count == 2, let a = ab[0].intValue, let b = ab[1].intValue,
                  let left = Int32(exactly: a), let right = Int32(exactly: b) else {
                throw OpError("\(source): \(mergesKey)[\(i)] is not a pair of token ids")
            }
            merges.append(Tokenizer.Pair(left, right))
        }
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(merges: merges) } catch { throw OpError("\(source): \(mergesKey): \(error)") }
        guard tokenizer.vocabularySize == config.vocabulary else {
            throw OpError("\(source): the tokenizer has \(tokenizer.vocabularySize) tokens, vocab_size is \(config.vocabulary)")
        }
        return tokenizer
    }

    /// `config.json` of a model: the architecture, and the merges of a BPE tokenizer.
    public static func configJSON(_ config: GPT2Config, tokenizer: Tokenizer) -> JSONValue {
        guard !tokenizer.isBytes, var object = config.huggingFaceConfig.objectValue else { return config.huggingFaceConfig }
        object[mergesKey] = .array(tokenizer.merges.map { .array([.number(Double($0.left)), .number(Double($0.right))]) })
        return .object(object)
    }

    /// A model from a checkpoint artifact.
    public static func load(_ manifest: ArtifactManifest, store: Store) throws -> GPT2 {
        let source = "checkpoint \(manifest.digest.short)"
        guard manifest.kind == Store.checkpointKind else { throw OpError("\(source) is a \(manifest.kind), not a checkpoint") }
        let json = manifest.metadata.objectValue?["config"]
        let architecture = try config(from: json, source: source)
        let model = GPT2(config: architecture, tokenizer: try tokenizer(from: json, config: architecture, source: source))
        try fill(model, available: manifest.tensors.map(\.name), source: source, read: { name, out in
            guard let entry = manifest.tensor(named: name) else { return false }
            let t = try store.loadTensor(entry)
            t.withUnsafeBufferPointer { _ = out.initialize(from: $0) }
            return true
        }, shapeOf: { manifest.tensor(named: $0)?.shape })
        return model
    }

    /// A model from a safetensors folder with `config.json` (ours, or written by transformers).
    public static func load(folder path: String) throws -> GPT2 {
        let folder = try CheckpointFolder(path: path)
        let architecture = try config(from: folder.config, source: path)
        let model = GPT2(config: architecture, tokenizer: try tokenizer(from: folder.config, config: architecture, source: path))
        try fill(model, available: folder.tensors.map(\.entry.name), source: path, read: { name, out in
            guard let location = folder.tensor(named: name) else { return false }
            try location.file.checkUnchanged()
            location.file.loadTensor(location.entry).withUnsafeBufferPointer { _ = out.initialize(from: $0) }
            return true
        }, shapeOf: { folder.tensor(named: $0)?.entry.shape })
        // A file truncated or rewritten while it was read is an error, not a model of zeros.
        for file in folder.files { try file.checkUnchanged() }
        return model
    }

    /// A checkpoint artifact writer holding the model's weights (Hugging Face names and
    /// layout, F32) and its `config.json` as metadata.
    public static func writer(for model: GPT2, store: Store, metadata extra: [(String, JSONValue)] = []) throws -> ArtifactWriter {
        let metadata = JSONObject([("config", configJSON(model.config, tokenizer: model.tokenizer))] + extra)
        let writer = store.newArtifact(kind: Store.checkpointKind, metadata: .object(metadata))
        let p = model.parameters
        for (i, name) in p.names.enumerated() {
            try writer.add(name: name, dtype: .f32, shape: p.shapes[i], bytes: UnsafeRawBufferPointer(p.tensor(i)))
        }
        return writer
    }
}
