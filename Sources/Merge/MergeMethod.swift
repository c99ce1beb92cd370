import Numerics

/// What a method needs per tensor: the models' values (in config order, base excluded),
/// the base's, every parameter resolved for this tensor, and a random stream private to
/// this tensor (so random methods do not depend on the order tensors are merged in).
public struct TensorMergeInput {
    public let name: String
    public let shape: [Int]
    /// Read-only views (often straight into a mapped file): methods never write them.
    public let models: [UnsafeBufferPointer<Float>]
    public let base: UnsafeBufferPointer<Float>?
    /// Per model: parameter → value (per-model scope, then global, then the method's default).
    public let modelParams: [[String: Double]]
    /// Shared parameters (never read from per-model scopes).
    public let params: [String: Double]
    public var random: SeededRandom

    var count: Int { Tensor.elementCount(shape) }
    func model(_ i: Int, _ name: String) -> Double { modelParams[i][name]! }
    func param(_ name: String) -> Double { params[name]! }
    func flag(_ name: String) -> Bool { params[name]! != 0 }
}

/// A merge method with mergekit's name, parameters and defaults.
public struct MergeMethod: Sendable {
    public enum BaseUse: Sendable { case none, optional, required }

    public let name: String
    public let base: BaseUse
    /// Allowed number of models besides the base.
    public let modelCount: ClosedRange<Int>
    /// Per-model parameters and their defaults (nil: required).
    public let modelParameters: [(String, Double?)]
    /// Shared parameters and their defaults (nil: required).
    public let parameters: [(String, Double?)]
    /// Whether the output depends on a random stream (DARE, DELLA, …).
    public let isRandom: Bool
    /// Writes the merged tensor into its second argument (every element; it arrives with
    /// whatever the previous tensor left there).
    public let merge: @Sendable (inout TensorMergeInput, UnsafeMutableBufferPointer<Float>) throws -> Void

    public static func named(_ name: String) -> MergeMethod? { registry[name] }

    /// mergekit 0.1.5's registry, by name.
    public static let registry: [String: MergeMethod] = {
        var table: [String: MergeMethod] = [:]
        for m in [linear, passthrough, nearswap, slerp, modelStock, nuslerp, multislerp, karcher, sce, arceeFusion, ram, ramPlus] + TaskArithmetic.methods { table[m.name] = m }
        return table
    }()

    public static var names: [String] { registry.keys.sorted() }
}
