import Foundation
import Numerics

/// A validated merge: the method, its inputs and every parameter, checked before any
/// tensor is loaded (mergekit reports most mistakes only once it is half-way through).
public struct MergeRecipe {
    public let method: MergeMethod
    /// Per model (base excluded): parameter name → value as written.
    public let modelParameters: [[String: MergeParameter]]
    /// Shared parameters as written.
    public let parameters: [String: MergeParameter]
    /// Seed for random methods; each tensor draws from its own stream derived from it.
    public let seed: UInt64

    /// - Throws: `MergeError` naming the problem: unknown method or parameter, a base
    ///   missing or present where it must not be, a wrong number of models, a scalar
    ///   density outside (0, 1].
    public init(method name: String, modelCount: Int, hasBase: Bool,
                modelParameters: [[String: MergeParameter]], parameters: [String: MergeParameter], seed: UInt64) throws {
        guard let method = MergeMethod.named(name) else {
            throw MergeError("unknown merge method \"\(name)\" (known: \(MergeMethod.names.joined(separator: ", ")))")
        }
        if method.base == .required && !hasBase { throw MergeError("\(name) needs a base model") }
        if method.base == .none && hasBase { throw MergeError("\(name) takes no base model") }
        guard method.modelCount.contains(modelCount) else {
            let range = method.modelCount
            let wanted = range.lowerBound == range.upperBound ? "exactly \(range.lowerBound)"
                : range.upperBound == Int.max ? "at least \(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
            throw MergeError("\(name) merges \(wanted) model\(range.upperBound == 1 ? "" : "s")\(method.base == .required ? " besides the base" : ""), got \(modelCount)")
        }
        guard modelParameters.count == modelCount else {
            throw MergeError("parameters are given for \(modelParameters.count) models but there are \(modelCount)")
        }
        let perModel = Set(method.modelParameters.map(\.0)), shared = Set(method.parameters.map(\.0))
        for (key, _) in parameters where !perModel.contains(key) && !shared.contains(key) {
            throw MergeError("\(name) has no parameter \"\(key)\" (parameters: \((method.modelParameters.map(\.0) + method.parameters.map(\.0)).joined(separator: ", ")))")
        }
        for (i, p) in modelParameters.enumerated() {
            for (key, _) in p where !perModel.contains(key) {
                throw MergeError("model \(i): \(name) has no per-model parameter \"\(key)\"" + (shared.contains(key) ? " (\"\(key)\" is shared: set it once, outside the models)" : ""))
            }
        }
        for (param, fallback) in method.modelParameters where fallback == nil {
            for i in 0..<modelCount where modelParameters[i][param] == nil && parameters[param] == nil {
                throw MergeError("model \(i) needs a \"\(param)\" for \(name)")
            }
        }
        for (param, fallback) in method.parameters where fallback == nil && parameters[param] == nil {
            throw MergeError("\(name) needs \"\(param)\"")
        }
        for (i, p) in modelParameters.enumerated() {
            if case .scalar(let d)? = p["density"] ?? parameters["density"], !(d > 0 && d <= 1) {
                throw MergeError("model \(i): density \(d) is outside (0, 1]")
            }
        }
        self.method = method
        self.modelParameters = modelParameters
        self.parameters = parameters
        self.seed = seed
    }

    /// Resolves every parameter for one tensor: per-model scope, then shared, then default.
    func resolve(tensor: String, layer: Int?, layers: Int) throws -> (perModel: [[String: Double]], shared: [String: Double]) {
        func value(_ p: MergeParameter?) -> Double? { p?.value(tensor: tensor, layer: layer, layers: layers) }
        var perModel: [[String: Double]] = []
        for (i, scope) in modelParameters.enumerated() {
            var resolved: [String: Double] = [:]
            for (name, fallback) in method.modelParameters {
                guard let v = value(scope[name]) ?? value(parameters[name]) ?? fallback else {
                    throw MergeError("tensor \(tensor): no \"\(name)\" for model \(i) (no filter matches it)")
                }
                resolved[name] = v
            }
            perModel.append(resolved)
        }
        var shared: [String: Double] = [:]
        for (name, fallback) in method.parameters {
            guard let v = value(parameters[name]) ?? fallback else { throw MergeError("tensor \(tensor): no \"\(name)\" (no filter matches it)") }
            shared[name] = v
        }
        return (perModel, shared)
    }
}

/// Runs a recipe over sources tensor by tensor: memory holds one tensor per input plus
/// the output, never whole models.
public enum Merger {
    /// - Parameters:
    ///   - layers: the model's layer count (for gradients); tensors outside `h.N.` take a
    ///     gradient's first value.
    ///   - write: receives each merged tensor (name, shape, values valid during the call),
    ///     in name order, while the next one is being merged.
    public static func run(_ recipe: MergeRecipe, models: [TensorSource], base: TensorSource?, layers: Int,
                           progress: (Double) -> Void = { _ in },
                           write: (String, [Int], UnsafeBufferPointer<Float>) throws -> Void) throws {
        let stream = try MergeStream(recipe, models: models, base: base, layers: layers)
        var done = 0
        while let tensor = try stream.next() {
            try write(tensor.name, tensor.shape, tensor.values!)  // whole tensors: not blocked
            done += 1
            progress(Double(done) / Double(stream.names.count))
        }
    }

    /// Checks that every model has the same tensor names and shapes as the reference (the
    /// base, else the first model); returns the names, sorted.
    public static func check(models: [TensorSource], base: TensorSource?) throws -> [String] {
        let reference = base ?? models[0]
        let names = reference.tensorNames
        for source in models + (base.map { [$0] } ?? []) where source !== reference {
            let theirs = Set(source.tensorNames)
            if let missing = names.first(where: { !theirs.contains($0) }) {
                throw MergeError("tensor \(missing): in \(reference.label) but not in \(source.label)")
            }
            if let extra = source.tensorNames.first(where: { reference.shape(of: $0) == nil }) {
                throw MergeError("tensor \(extra): in \(source.label) but not in \(reference.label)")
            }
            for name in names where source.shape(of: name) != reference.shape(of: name) {
                throw MergeError("tensor \(name): shape \(source.shape(of: name)!) in \(source.label) differs from \(reference.shape(of: name)!) in \(reference.label)")
            }
        }
        return names
    }

    /// The N of `….h.N.…` / `….layers.N.…`, if the tensor is in the layer stack.
    public static func layerIndex(_ name: String) -> Int? {
        let parts = name.split(separator: ".")
        for (i, p) in parts.enumerated() where (p == "h" || p == "layers") && i + 1 < parts.count {
            if let n = Int(parts[i + 1]) { return n }
        }
        return nil
    }

    /// Layers in a model, from its tensor names.
    public static func layerCount(_ names: [String]) -> Int {
        (names.compactMap(layerIndex).max() ?? -1) + 1
    }
}
