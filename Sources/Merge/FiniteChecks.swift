import Numerics

/// NaN and infinity around a merge: refused in its inputs, explained in its output.
///
/// A checkpoint holding NaN or infinity is broken; merged, it either spreads (a linear
/// merge of NaN is NaN) or is silently dropped by a method that trims or samples (TIES,
/// DARE), hiding the damage. Either way the output would be wrong without a word, so such
/// an input is an error naming the model and the tensor. (Refusing rather than warning:
/// there is no merge for which a non-finite input weight is meaningful.)
enum FiniteChecks {
    /// Throws if any input holds NaN or infinity, naming the first such model and element.
    /// - Complexity: one parallel pass over each input (a fraction of the merge's own).
    static func checkInputs(_ views: [UnsafeBufferPointer<Float>], labels: [String], tensor: String) throws {
        for (k, view) in views.enumerated() where !Kernels.allFinite(view) {
            let index = view.firstIndex { !$0.isFinite } ?? 0
            let value = view[index].isNaN ? "NaN" : view[index] > 0 ? "+infinity" : "-infinity"
            throw MergeError("\(labels[k]): tensor \(tensor) holds \(value) (at element \(index)); a merge input must be finite")
        }
    }

    /// Why finite inputs gave a non-finite result, from the parameters used for the tensor.
    static func outputProblem(tensor: String, modelParams: [[String: Double]], params: [String: Double]) -> String {
        let weights = modelParams.compactMap { $0["weight"] }
        let largest = (modelParams.flatMap(\.values) + params.values).map(abs).max() ?? 0
        var reason = "check the parameters"
        if !weights.isEmpty && abs(weights.reduce(0, +)) < 1e-8 {
            reason = "the weights sum to zero"
        } else if largest > 1e18 {
            reason = "a parameter as large as \(largest) overflows Float32 (largest finite value 3.4e38)"
        }
        return "tensor \(tensor): the merge produced NaN or infinity from finite inputs (\(reason))"
    }
}
