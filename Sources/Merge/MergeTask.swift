import Store

/// One output tensor of a merge: its name and shape, the input tensors it is merged from
/// (a model's tensor may have another name: slices renumber layers), the recipe, and where
/// it sits for gradients.
public struct MergeTask {
    /// One input tensor: a model and the tensor's name in it.
    public struct Input {
        public let source: TensorSource
        public let name: String
        public init(_ source: TensorSource, _ name: String) {
            self.source = source
            self.name = name
        }
    }

    public let name: String
    public let shape: [Int]
    /// The models' tensors (base excluded), in the recipe's model order.
    public let models: [Input]
    public let base: Input?
    public let recipe: MergeRecipe
    /// Gradient position: the layer's index within its slice (nil outside the layer stack:
    /// a gradient's first value) and the slice's layer count.
    public let layer: Int?
    public let layers: Int
    /// The dtype the result is written in (rounded as torch rounds, see `DType.narrow`).
    public var outputDType: DType = .f32
    /// A dtype the result is rounded to first (mergekit's methods return `dtype`, its
    /// writer then casts to `out_dtype`), if any.
    public var intermediateDType: DType?
    /// Where the result's first byte lands in its output file, modulo `pageBytes`: the stream
    /// puts it at the same offset within a page of memory, so a writer that bypasses the
    /// page cache can hand the bytes to the disk without copying them (see
    /// `SequentialFileWriter`). 0 when nobody asks.
    public var outputPagePhase = 0
    public static let pageBytes = 4096

    public init(name: String, shape: [Int], models: [Input], base: Input?, recipe: MergeRecipe, layer: Int?, layers: Int) {
        self.name = name
        self.shape = shape
        self.models = models
        self.base = base
        self.recipe = recipe
        self.layer = layer
        self.layers = layers
    }

    /// Every input, models first, then the base.
    var inputs: [Input] { models + (base.map { [$0] } ?? []) }

    /// The tasks of a whole-model merge: every tensor of the reference (the base, else the
    /// first model), by name, after checking that every model has the same names and shapes.
    public static func wholeModels(_ recipe: MergeRecipe, models: [TensorSource], base: TensorSource?, layers: Int) throws -> [MergeTask] {
        let names = try Merger.check(models: models, base: base)
        let reference = base ?? models[0]
        return names.map { name in
            MergeTask(name: name, shape: reference.shape(of: name)!, models: models.map { Input($0, name) },
                      base: base.map { Input($0, name) }, recipe: recipe, layer: Merger.layerIndex(name), layers: layers)
        }
    }
}
