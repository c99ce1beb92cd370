import Engine
import Foundation
import JSON
import Merge
import Numerics
import Store

/// `merge`: combines checkpoints tensor by tensor with mergekit's methods and parameters.
///
/// `weights` gives one value per model (in the order of `models`); every other parameter
/// (`density`, `t`, `lambda`, `normalize`, …) is shared by all models unless
/// `model_parameters` (one object per model) overrides it. Any value may be a scalar, a
/// gradient list, or a list of `{filter, value}`, as in mergekit.
enum MergeOp {
    /// Every parameter some method reads, besides the weight.
    static let methodParameters: [String] = {
        var names = Set<String>()
        for m in MergeMethod.registry.values {
            for (n, _) in m.modelParameters + m.parameters where n != "weight" { names.insert(n) }
        }
        return names.sorted()
    }()

    static let operation = OpDefinition(
        name: "merge", version: 2,
        summary: "merge checkpoints (mergekit methods and semantics)",
        inputs: [
            InputSpec("models", kind: Store.checkpointKind, arity: .many, help: "the models to merge, in the order weights refer to"),
            InputSpec("base", kind: Store.checkpointKind, optional: true, help: "the base model, for methods that use one"),
        ],
        params: [
            ParamSpec("method", .string(choices: MergeMethod.names), default: "linear", help: "merge method (mergekit's names)"),
            ParamSpec("weights", .mergeValuePerModel, default: .null, help: "one weight per model: a number, a gradient list or [{filter, value}] (default 1 each)"),
            ParamSpec("model_parameters", .mergeParametersPerModel, default: .null, help: "one object of per-model parameters per model"),
            ParamSpec("seed", .integer(0...Int(Int32.max)), default: .null, help: "seed of random methods (default: the spec's seed)"),
            ParamSpec("dtype", .string(choices: ["float32", "bfloat16", "float16"]), default: .null,
                      help: "dtype the merged tensors are stored (and exported) in, rounded as torch rounds (default float32; merging is in float32 either way)"),
            ParamSpec("out_shard_size", .integer(1...Int.max), default: .null,
                      help: "bytes per shard when the result is exported (default 5000000000, mergekit's 5B)"),
        ] + methodParameters.map { ParamSpec($0, .mergeValue, default: .null, help: "mergekit's \($0): a number, a gradient list or [{filter, value}]") },
        produces: Store.checkpointKind,
        usesSeed: true,
        crossCheck: { params, inputs in
            do { _ = try recipe(params, modelCount: nil, hasBase: inputs.contains("base")) } catch let e as MergeError {
                return [("method", e.message)]
            } catch {}
            return []
        },
        run: { context in try run(context) }
    )

    /// Builds the recipe from node params. With `modelCount`/`hasBase` nil (validation
    /// before inputs are known) only what the params alone decide is checked.
    static func recipe(_ params: JSONObject, modelCount: Int?, hasBase: Bool?) throws -> MergeRecipe {
        let method = params["method"]?.stringValue ?? "linear"
        guard let m = MergeMethod.named(method) else { throw MergeError("unknown merge method \"\(method)\"") }
        func parse(_ v: JSONValue, _ what: String) throws -> MergeParameter {
            switch MergeParameter.parse(v) {
            case .success(let p): return p
            case .failure(let e): throw MergeError("\(what): \(e.message)")
            }
        }
        var shared: [String: MergeParameter] = [:]
        for name in methodParameters {
            if let v = params[name], !v.isNull { shared[name] = try parse(v, name) }
        }
        var weights: [MergeParameter]?
        if let w = params["weights"], !w.isNull {
            guard let list = w.arrayValue else { throw MergeError("weights: expected a list with one value per model") }
            weights = try list.enumerated().map { try parse($1, "weights[\($0)]") }
        }
        var perModel: [[String: MergeParameter]]?
        if let mp = params["model_parameters"], !mp.isNull {
            guard let list = mp.arrayValue else { throw MergeError("model_parameters: expected a list with one object per model") }
            perModel = try list.enumerated().map { i, item in
                guard let o = item.objectValue else { throw MergeError("model_parameters[\(i)]: expected an object") }
                var scope: [String: MergeParameter] = [:]
                for (k, v) in o { scope[k] = try parse(v, "model_parameters[\(i)].\(k)") }
                return scope
            }
        }
        // Before inputs are known, check against a model count the method accepts.
        let written = weights?.count ?? perModel?.count ?? m.modelCount.lowerBound
        let count = modelCount ?? min(max(written, m.modelCount.lowerBound), m.modelCount.upperBound)
        let usesWeight = m.modelParameters.contains { $0.0 == "weight" }
        if !usesWeight, weights != nil { throw MergeError("\(method) takes no weights") }
        if modelCount != nil {
            if let weights, weights.count != count { throw MergeError("weights has \(weights.count) values for \(count) models") }
            if let perModel, perModel.count != count { throw MergeError("model_parameters has \(perModel.count) entries for \(count) models") }
        }
        var scopes = (0..<count).map { i in i < (perModel?.count ?? 0) ? perModel![i] : [:] }
        for i in 0..<count where usesWeight && scopes[i]["weight"] == nil {
            scopes[i]["weight"] = i < (weights?.count ?? 0) ? weights![i] : .scalar(1)
        }
        return try MergeRecipe(method: method, modelCount: count, hasBase: hasBase ?? (m.base == .required),
                               modelParameters: scopes, parameters: shared, seed: UInt64(params["seed"]?.intValue ?? 0))
    }

    static func run(_ context: OpContext) throws -> ArtifactWriter {
        let models = context.inputs["models"] ?? []
        let base = context.input("base")
        let recipe: MergeRecipe
        do { recipe = try MergeOp.recipe(context.params, modelCount: models.count, hasBase: base != nil) } catch let e as MergeError {
            throw OpError(e.message)
        }
        let sources = models.enumerated().map { StoreTensorSource(store: context.store, manifest: $1, label: "model \($0)") }
        let baseSource = base.map { StoreTensorSource(store: context.store, manifest: $0, label: "the base model") }
        // Weights of models that read text differently cannot be averaged meaningfully.
        let everyInput = (base.map { [$0] } ?? []) + models
        let tokenizers = everyInput.map { $0.metadata.objectValue?["config"]?.objectValue?[ModelArtifacts.mergesKey] }
        if let first = tokenizers.first, tokenizers.contains(where: { $0 != first }) {
            throw OpError("the models to merge have different tokenizers (\(ModelArtifacts.mergesKey) differs in their configs)")
        }
        var metadata = JSONObject()
        let dtype = context.params["dtype"]?.stringValue.flatMap { DType(mergekitName: $0) } ?? .f32
        if var config = (base ?? models[0]).metadata.objectValue?["config"] {
            if dtype != .f32, var object = config.objectValue {
                object[object["dtype"] != nil ? "dtype" : "torch_dtype"] = .string(dtype.torchName)
                config = .object(object)
            }
            metadata["config"] = config
        }
        if let shard = context.params["out_shard_size"]?.intValue { metadata["out_shard_size"] = .number(Double(shard)) }
        let writer = context.newArtifact(kind: Store.checkpointKind, metadata: .object(metadata))
        let layers = Merger.layerCount((baseSource ?? sources[0]).tensorNames)
        let narrowing = NarrowingBuffer(dtype: dtype)
        do {
            try Merger.run(recipe, models: sources, base: baseSource, layers: layers, progress: context.progress) { name, shape, values in
                try writer.add(name: name, dtype: dtype, shape: shape, bytes: narrowing.bytes(values))
            }
        } catch let e as MergeError {
            throw OpError(e.message)
        }
        return writer
    }
}
