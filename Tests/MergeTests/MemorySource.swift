import Numerics
@testable import Merge

/// An in-memory model for merge tests.
final class MemorySource: TensorSource {
    let label: String
    var tensors: [String: Tensor]
    init(_ label: String, _ tensors: [String: Tensor]) {
        self.label = label
        self.tensors = tensors
    }
    var tensorNames: [String] { tensors.keys.sorted() }
    func shape(of name: String) -> [Int]? { tensors[name]?.shape }
    func read(_ name: String, into buffer: ReusableBuffer) throws -> UnsafeBufferPointer<Float> {
        let values = tensors[name]!.storage
        let out = buffer.floats(values.count)
        _ = out.initialize(fromContentsOf: values)
        return UnsafeBufferPointer(out)
    }
    func release(_ name: String) {}

    /// Runs a recipe and collects the output.
    static func merge(_ recipe: MergeRecipe, _ models: [MemorySource], base: MemorySource? = nil, layers: Int = 1) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        try Merger.run(recipe, models: models, base: base, layers: layers) { name, shape, values in
            out[name] = Tensor(shape: shape, storage: Array(values))
        }
        return out
    }
}
