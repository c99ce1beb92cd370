import Foundation
import JSON
import Numerics
import Store

/// `merge`: combines checkpoints tensor by tensor. This first version implements mergekit's
/// `linear` method (weighted mean, `normalize` default true); the other methods follow.
enum MergeOp {
    static let methods = ["linear"]

    static let operation = OpDefinition(
        name: "merge", version: 1,
        summary: "merge checkpoints (mergekit semantics)",
        inputs: [
            InputSpec("models", kind: Store.checkpointKind, arity: .many, help: "the models to merge, in the order weights refer to"),
            InputSpec("base", kind: Store.checkpointKind, optional: true, help: "the base model, for methods that use one"),
        ],
        params: [
            ParamSpec("method", .string(choices: methods), default: "linear", help: "merge method"),
            ParamSpec("weights", .numberList(), default: .null, help: "one weight per model (default: equal)"),
            ParamSpec("normalize", .bool, default: true, help: "divide by the sum of the weights"),
        ],
        produces: Store.checkpointKind,
        run: { context in try linear(context) }
    )

    /// out = Σ wᵢ·xᵢ (/ Σ wᵢ when normalizing), streamed one tensor at a time.
    static func linear(_ context: OpContext) throws -> ArtifactWriter {
        let models = context.inputs["models"] ?? []
        guard !models.isEmpty else { throw OpError("merge needs at least one model") }
        let weights = context.params["weights"]?.arrayValue?.compactMap(\.doubleValue) ?? Array(repeating: 1, count: models.count)
        guard weights.count == models.count else {
            throw OpError("weights has \(weights.count) values for \(models.count) models")
        }
        let normalize = context.bool("normalize") ?? true
        let total = weights.reduce(0, +)
        let scale = normalize ? (abs(total) < 1e-8 ? 1 : 1 / total) : 1
        let reference = models[0]
        for (i, m) in models.enumerated().dropFirst() {
            let a = Set(reference.tensors.map(\.name)), b = Set(m.tensors.map(\.name))
            if let missing = a.symmetricDifference(b).sorted().first {
                throw OpError("tensor \(missing): present in \(a.contains(missing) ? "model 0" : "model \(i)") but not in \(a.contains(missing) ? "model \(i)" : "model 0")")
            }
        }
        var metadata = JSONObject()
        if let config = reference.metadata.objectValue?["config"] { metadata["config"] = config }
        let writer = context.newArtifact(kind: Store.checkpointKind, metadata: .object(metadata))
        for (t, entry) in reference.tensors.enumerated() {
            var sum = Tensor(shape: entry.shape)
            for (i, model) in models.enumerated() {
                let other = model.tensor(named: entry.name)!
                guard other.shape == entry.shape else {
                    throw OpError("tensor \(entry.name): shape \(other.shape) in model \(i) differs from \(entry.shape) in model 0")
                }
                let x = try context.store.loadTensor(other)
                x.withUnsafeBufferPointer { px in
                    sum.withUnsafeMutableBufferPointer { ps in Kernels.axpy(Float(weights[i] * scale), px, ps) }
                }
            }
            try writer.add(name: entry.name, tensor: sum)
            context.progress(Double(t + 1) / Double(reference.tensors.count))
        }
        return writer
    }
}
