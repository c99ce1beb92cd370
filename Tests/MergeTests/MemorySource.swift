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
    func load(_ name: String) throws -> Tensor { tensors[name]! }

    /// Runs a recipe and collects the output.
    static func merge(_ recipe: MergeRecipe, _ models: [MemorySource], base: MemorySource? = nil, layers: Int = 1) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        try Merger.run(recipe, models: models, base: base, layers: layers) { out[$0] = $1 }
        return out
    }
}
