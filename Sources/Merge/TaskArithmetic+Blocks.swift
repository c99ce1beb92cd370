import Numerics

extension TaskArithmetic {
    /// The methods of the family that merge a block at a time, and how they thin: by
    /// magnitude (the cut found in passes over the blocks, `MagnitudeSelection`), at random (a
    /// bit mask drawn before anything is read, as the whole-tensor merge draws it) or not at
    /// all. breadcrumbs and DELLA rank whole tensors or rows, and are merged whole.
    static let blockedVariants: [String: (thinning: Thinning, consensus: Bool)] = [
        "task_arithmetic": (.none, false), "ties": (.magnitude, true),
        "dare_ties": (.random, true), "dare_linear": (.random, false),
    ]

    /// A tensor's blocks in index order: calls its argument with each block's range and views
    /// of every input's elements in it (the models in config order, then the base), until it
    /// returns false.
    typealias Sweep = ((Range<Int>, [UnsafeBufferPointer<Float>]) throws -> Bool) throws -> Void

    /// What a blocked merge decides before reading an element: each model's weight, its
    /// `Kept` where nothing needs reading (all, or a random mask drawn now), the magnitude
    /// selections still to run, and which models are rescaled.
    struct BlockPlan {
        var kept: [Kept]
        var weights: [Float]
        var selections: [(model: Int, selection: MagnitudeSelection)]
        var rescaled: [Int]
    }

    /// The plan of `mergeInBlocks` (and of the merge from stored bytes) for a tensor of `n`
    /// elements: densities checked, random masks drawn in model order.
    static func blockPlan(name: String, count n: Int, modelParams: [[String: Double]], params: [String: Double],
                          random: inout SeededRandom, thinning: Thinning) throws -> BlockPlan {
        precondition(thinning == .none || thinning == .magnitude || thinning == .random)
        var plan = BlockPlan(kept: [Kept](repeating: .all, count: modelParams.count), weights: [], selections: [], rescaled: [])
        for i in modelParams.indices {
            let density = modelParams[i]["density"] ?? 1
            guard density > 0, density <= 1 else { throw MergeError("\(name): density \(density) for model \(i) is outside (0, 1]") }
            // As `merge`: density 1 leaves a delta untouched (and unrescaled).
            if density < 1 && thinning != .none {
                if thinning == .random {
                    plan.kept[i] = Sparsify.random(count: n, density: density, random: &random)
                } else {
                    // As `Sparsify.magnitude`: k = max(1, ⌊density·n⌋), everything when k ≥ n.
                    let k = max(1, Int(density * Double(n)))
                    if n > 0 && k < n { plan.selections.append((i, MagnitudeSelection(count: n, k: k))) }
                }
                if params["rescale"]! != 0 { plan.rescaled.append(i) }
            }
            plan.weights.append(Float(modelParams[i]["weight"]!))
        }
        return plan
    }

    /// Merges a tensor of `n` elements read through `sweep`, the same bits as `merge` on the
    /// whole tensor: thinning first (the magnitude cut takes 2, rarely 3 sweeps; `rescale` one
    /// more for the norms), then one sweep that mixes each block into `scratch` and hands it to
    /// `emit`.
    /// - Complexity: memory beyond the blocks: per model a bit mask (random thinning) or the
    ///   selection's counters and candidate list (magnitude, at most 12 MB).
    static func mergeInBlocks(name: String, count n: Int, modelParams: [[String: Double]], params: [String: Double],
                              random: inout SeededRandom, thinning: Thinning, consensus: Bool, sweep: Sweep,
                              scratch: UnsafeMutableBufferPointer<Float>,
                              emit: (Range<Int>, UnsafeMutableBufferPointer<Float>) throws -> Void) throws {
        let plan = try blockPlan(name: name, count: n, modelParams: modelParams, params: params, random: &random, thinning: thinning)
        let m = modelParams.count, selections = plan.selections, rescaled = plan.rescaled, weights = plan.weights
        var kept = plan.kept, rescales = [Float?](repeating: nil, count: m)
        while selections.contains(where: { !$0.selection.isDone }) {
            try sweep { range, views in
                var more = false
                for (i, selection) in selections where !selection.isDone {
                    selection.feed(x: views[i], base: views[m], offset: range.lowerBound)
                    more = more || !selection.isDone
                }
                return more
            }
            for (_, selection) in selections { selection.endPass() }
        }
        for (i, selection) in selections { kept[i] = selection.result }
        try withMasks(kept) { masks in
            if !rescaled.isEmpty {
                // mergekit's rescale: × ‖δ‖₁ / ‖kept‖₁, skipped when either is below 1e-7.
                var sums = [(all: Double, kept: Double)](repeating: (0, 0), count: m)
                try sweep { range, views in
                    for i in rescaled {
                        Sparsify.addMagnitudeSums(views[i], minus: views[m], offset: range.lowerBound, kept[i], mask: masks[i], into: &sums[i])
                    }
                    return true
                }
                for i in rescaled where sums[i].all >= 1e-7 && sums[i].kept >= 1e-7 { rescales[i] = Float(sums[i].all / sums[i].kept) }
            }
            let normalize = params["normalize"]! != 0, lambda = Float(params["lambda"]!)
            // (`sweep` and `emit` are both non-escaping: Swift needs one marked as escapable to
            // call it from a closure given to the other.)
            try withoutActuallyEscaping(emit) { emit in
                try sweep { range, views in
                    let out = UnsafeMutableBufferPointer(rebasing: scratch[0..<range.count])
                    mix(views.prefix(m).map { $0.baseAddress! }, base: views[m], offset: range.lowerBound, kept: kept, masks: masks,
                        rescales: rescales, weights: weights, consensus: consensus, normalize: normalize, lambda: lambda, into: out)
                    try emit(range, out)
                    return true
                }
            }
        }
    }
}
