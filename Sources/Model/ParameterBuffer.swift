/// One flat Float32 allocation holding every tensor of a GPT-2, in Hugging Face's order and
/// layout (llm.c's idea: gradients and optimizer moments share the layout, so AdamW,
/// clipping and merges are flat loops).
///
/// Conv1D weights are stored [in, out], so a linear layer is `y = x · W + b` with no transpose.
public final class ParameterBuffer: @unchecked Sendable {
    public let config: GPT2Config
    public let names: [String]
    public let shapes: [[Int]]
    /// Start of each tensor in the flat buffer, in `names` order.
    public let offsets: [Int]
    public let count: Int
    public let base: UnsafeMutablePointer<Float>
    private let indexByName: [String: Int]

    /// A zero-filled buffer for `config`.
    public init(config: GPT2Config) {
        self.config = config
        let table = config.tensorShapes
        names = table.map(\.name)
        shapes = table.map(\.shape)
        var offsets: [Int] = []
        var total = 0
        for shape in shapes {
            offsets.append(total)
            // Every tensor starts on a 16-float (64-byte) boundary: SIMD loads stay aligned.
            total += (shape.reduce(1, *) + 15) / 16 * 16
        }
        self.offsets = offsets
        count = total
        base = .allocate(capacity: max(total, 1))
        base.initialize(repeating: 0, count: max(total, 1))
        indexByName = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
    }

    deinit { base.deallocate() }

    /// Every float, padding included (padding stays 0, so flat loops may run over it).
    public var all: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }

    public func elementCount(_ index: Int) -> Int { shapes[index].reduce(1, *) }

    public func tensor(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: base + offsets[index], count: elementCount(index))
    }

    public func index(of name: String) -> Int? { indexByName[name] }

    public func tensor(named name: String) -> UnsafeMutableBufferPointer<Float>? {
        index(of: name).map(tensor)
    }

    /// Copies every float (padding included) from another buffer of the same config.
    public func copy(from other: ParameterBuffer) {
        precondition(other.config == config, "copying parameters between different architectures")
        base.update(from: other.base, count: count)
    }

    public func zero() { base.update(repeating: 0, count: count) }

    // MARK: Named views, in the shape letters of the kernels (C channels, V vocabulary)

    public var wte: UnsafeMutablePointer<Float> { base + offsets[0] }   // (V, C), also the LM head
    public var wpe: UnsafeMutablePointer<Float> { base + offsets[1] }   // (maxT, C)
    public var lnfWeight: UnsafeMutablePointer<Float> { base + offsets[offsets.count - 2] }  // (C)
    public var lnfBias: UnsafeMutablePointer<Float> { base + offsets[offsets.count - 1] }    // (C)

    /// The twelve tensors of transformer block `l`.
    public struct Block {
        public let ln1Weight, ln1Bias: UnsafeMutablePointer<Float>          // (C)
        public let qkvWeight, qkvBias: UnsafeMutablePointer<Float>          // (C, 3C), (3C)
        public let attnProjWeight, attnProjBias: UnsafeMutablePointer<Float> // (C, C), (C)
        public let ln2Weight, ln2Bias: UnsafeMutablePointer<Float>          // (C)
        public let fcWeight, fcBias: UnsafeMutablePointer<Float>            // (C, 4C), (4C)
        public let fcProjWeight, fcProjBias: UnsafeMutablePointer<Float>    // (4C, C), (C)
    }

    public func block(_ l: Int) -> Block {
        let first = 2 + 12 * l
        func p(_ j: Int) -> UnsafeMutablePointer<Float> { base + offsets[first + j] }
        return Block(ln1Weight: p(0), ln1Bias: p(1), qkvWeight: p(2), qkvBias: p(3),
                     attnProjWeight: p(4), attnProjBias: p(5), ln2Weight: p(6), ln2Bias: p(7),
                     fcWeight: p(8), fcBias: p(9), fcProjWeight: p(10), fcProjBias: p(11))
    }

    /// GPT-2's AdamW convention: decay the matrices inside blocks, never biases, LayerNorm
    /// parameters or the embeddings.
    public func isDecayed(_ index: Int) -> Bool {
        shapes[index].count == 2 && index >= 2
    }
}
