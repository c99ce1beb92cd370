/// mergekit's `slices`: the output model is a stack of slices, each merging the same number
/// of consecutive layers from each of its sources (`layer_range: [begin, end)`), renumbered
/// from 0 across the whole output (mergekit 0.1.5, `plan.py`: `plan_module`, `plan_slice`,
/// `plan_layer`). With one source per slice and `passthrough` this is a frankenmerge.
///
/// - Tensors outside the layer stack: those before it (embeddings: names with `embed`,
///   `wte`, `wpe`) come from the first slice's sources, the rest (final norm, `lm_head`)
///   from the last slice's, as mergekit's pre- and post-weights. A tensor missing from
///   every source (a tied `lm_head`) is skipped, as mergekit skips optional weights.
/// - Gradients: layer `i` of a slice of `n` layers sits at t = i / (n − 1) (1 for a
///   one-layer slice); tensors outside the stack take the first value.
/// - Parameters: a source's own, then the slice's, then the config's.
/// - Order: mergekit's executor runs (and its writer shards) tensors sorted by the largest
///   input tensor name, ties in plan order; `plan` returns that order.
public enum SlicePlanner {
    public struct Source {
        public let model: String
        public let layers: Range<Int>
        public let parameters: [String: MergeParameter]
        public init(model: String, layers: Range<Int>, parameters: [String: MergeParameter]) {
            self.model = model
            self.layers = layers
            self.parameters = parameters
        }
    }

    public struct Slice {
        public let sources: [Source]
        public let base: String?
        public let parameters: [String: MergeParameter]
        public init(sources: [Source], base: String?, parameters: [String: MergeParameter]) {
            self.sources = sources
            self.base = base
            self.parameters = parameters
        }
    }

    /// The tasks of a sliced merge, in mergekit's order, and the output's layer count.
    /// - Parameter models: every model a source names, by the name the config uses.
    /// - Throws: `MergeError` naming the slice and tensor: sources of unequal length, a
    ///   layer range outside a model, a tensor missing from a source, shapes that differ,
    ///   or a recipe the method refuses.
    public static func plan(_ slices: [Slice], models: [String: TensorSource], method: String,
                            parameters: [String: MergeParameter], seed: UInt64) throws -> (tasks: [MergeTask], layers: Int) {
        guard !slices.isEmpty else { throw MergeError("slices: none given") }
        // One recipe per slice: its sources (base excluded) and their parameters.
        var recipes: [MergeRecipe] = []
        var bases: [Int?] = []
        for (s, slice) in slices.enumerated() {
            guard !slice.sources.isEmpty else { throw MergeError("slices[\(s)]: no sources") }
            let lengths = Set(slice.sources.map(\.layers.count))
            guard lengths.count == 1 else { throw MergeError("slices[\(s)]: all sources must span the same number of layers, got \(slice.sources.map(\.layers.count))") }
            for (k, source) in slice.sources.enumerated() {
                guard let m = models[source.model] else { throw MergeError("slices[\(s)].sources[\(k)]: unknown model \(source.model)") }
                let count = Merger.layerCount(m.tensorNames)
                guard source.layers.lowerBound >= 0, source.layers.upperBound <= count, !source.layers.isEmpty else {
                    throw MergeError("slices[\(s)].sources[\(k)]: layer_range [\(source.layers.lowerBound), \(source.layers.upperBound)) is not within \(source.model)'s \(count) layers")
                }
            }
            guard let m = MergeMethod.named(method) else { throw MergeError("unknown merge method \"\(method)\"") }
            var baseIndex: Int?
            if m.base != .none, let base = slice.base {
                baseIndex = slice.sources.firstIndex { $0.model == base }
                if baseIndex == nil && m.base == .required {
                    throw MergeError("slices[\(s)]: the base model \(base) is not among the slice's sources")
                }
            }
            var shared = parameters
            for (k, v) in slice.parameters { shared[k] = v }
            let scopes = slice.sources.indices.filter { $0 != baseIndex }.map { slice.sources[$0].parameters }
            do {
                recipes.append(try MergeRecipe(method: method, modelCount: scopes.count, hasBase: baseIndex != nil,
                                               modelParameters: scopes, parameters: shared, seed: seed))
            } catch let e as MergeError { throw MergeError("slices[\(s)]: \(e.message)") }
            bases.append(baseIndex)
        }

        var planned: [(key: String, task: MergeTask)] = []
        func add(_ name: String, slice s: Int, inputs: [String], layer: Int?, layers: Int) throws {
            let slice = slices[s]
            let sources = slice.sources.map { models[$0.model]! }
            guard let shape = sources[0].shape(of: inputs[0]) else { throw MergeError("slices[\(s)]: tensor \(inputs[0]) is not in \(sources[0].label)") }
            for (k, source) in sources.enumerated() {
                guard let theirs = source.shape(of: inputs[k]) else { throw MergeError("slices[\(s)]: tensor \(inputs[k]) is not in \(source.label)") }
                guard theirs == shape else {
                    throw MergeError("slices[\(s)]: tensor \(inputs[k]) has shape \(theirs) in \(source.label) but \(shape) in \(sources[0].label)")
                }
            }
            let all = sources.indices.map { MergeTask.Input(sources[$0], inputs[$0]) }
            let base = bases[s]
            let task = MergeTask(name: name, shape: shape, models: all.indices.filter { $0 != base }.map { all[$0] },
                                 base: base.map { all[$0] }, recipe: recipes[s], layer: layer, layers: layers)
            planned.append((inputs.max { $0.utf8.lexicographicallyPrecedes($1.utf8) }!, task))
        }

        // Outside the layer stack: what the first source of the first (pre) or last (post)
        // slice has.
        func outside(_ slice: Int, pre: Bool) throws {
            let reference = models[slices[slice].sources[0].model]!
            for name in reference.tensorNames where Merger.layerIndex(name) == nil && isPreWeight(name) == pre {
                try add(name, slice: slice, inputs: slices[slice].sources.map { _ in name }, layer: nil, layers: 1)
            }
        }
        try outside(0, pre: true)
        var output = 0
        for (s, slice) in slices.enumerated() {
            let count = slice.sources[0].layers.count
            let first = models[slice.sources[0].model]!
            for offset in 0..<count {
                let layer = slice.sources[0].layers.lowerBound + offset
                for name in first.tensorNames where Merger.layerIndex(name) == layer {
                    let inputs = slice.sources.map { renumber(name, to: $0.layers.lowerBound + offset) }
                    try add(renumber(name, to: output), slice: s, inputs: inputs, layer: offset, layers: count)
                }
                output += 1
            }
        }
        try outside(slices.count - 1, pre: false)
        // Stable: equal keys keep plan order.
        let ordered = planned.enumerated().sorted { a, b in
            if a.element.key != b.element.key { return a.element.key.utf8.lexicographicallyPrecedes(b.element.key.utf8) }
            return a.offset < b.offset
        }.map(\.element.task)
        var seen = Set<String>()
        for task in ordered where !seen.insert(task.name).inserted { throw MergeError("slices: tensor \(task.name) is planned twice") }
        return (ordered, output)
    }

    /// Embeddings come before the layer stack (mergekit's pre-weights).
    static func isPreWeight(_ name: String) -> Bool {
        name.contains("embed") || name.contains(".wte.") || name.contains(".wpe.") || name.hasPrefix("wte.") || name.hasPrefix("wpe.")
    }

    /// `name` with its layer index (the N of `layers.N` / `h.N`) replaced.
    static func renumber(_ name: String, to index: Int) -> String {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for i in parts.indices where (parts[i] == "layers" || parts[i] == "h") && i + 1 < parts.count && Int(parts[i + 1]) != nil {
            parts[i + 1] = String(index)
            break
        }
        return parts.joined(separator: ".")
    }
}
