import Numerics

/// A model whose tensors a merge reads one at a time: a checkpoint in the cache or a
/// safetensors folder on disk (the two conformers).
public protocol TensorSource: AnyObject {
    /// How messages name this model.
    var label: String { get }
    /// Tensor names, sorted.
    var tensorNames: [String] { get }
    func shape(of name: String) -> [Int]?
    /// Loads one tensor as Float32.
    func load(_ name: String) throws -> Tensor
}
