/// Every buffer one forward and backward pass of a (B, T) batch needs, carved out of one
/// allocation. Forward buffers are saved per layer for the backward pass; backward scratch is
/// shared by all layers (they are visited one at a time).
final class Activations {
    let batch: Int, time: Int
    private let storage: UnsafeMutablePointer<Float>
    private let floatCount: Int

    // Per layer l, at `pointer + l * stride`:
    let ln1: LayerBuffer           // (L, N, C)
    let ln1Mean, ln1Rstd: LayerBuffer  // (L, N)
    let qkv: LayerBuffer           // (L, N, 3C)
    let att: LayerBuffer           // (L, B, NH, T, T)
    let attnOut: LayerBuffer       // (L, N, C)  attention output before c_proj
    let residual2: LayerBuffer     // (L, N, C)  residual + attention branch
    let ln2: LayerBuffer           // (L, N, C)
    let ln2Mean, ln2Rstd: LayerBuffer  // (L, N)
    let fc: LayerBuffer            // (L, N, 4C) c_fc's output, overwritten by GELU's slope there
    let fcGelu: LayerBuffer        // (L, N, 4C)
    let residual3: LayerBuffer     // (L, N, C)  block output

    let encoded: UnsafeMutablePointer<Float>    // (N, C)
    let lnf: UnsafeMutablePointer<Float>        // (N, C)
    let lnfMean, lnfRstd: UnsafeMutablePointer<Float>  // (N)
    let logits: UnsafeMutablePointer<Float>     // (N, V)
    let probs: UnsafeMutablePointer<Float>      // (N, V)
    let losses: UnsafeMutablePointer<Float>     // (N)

    // Backward scratch.
    let dresidual: UnsafeMutablePointer<Float>  // (N, C)
    let dln: UnsafeMutablePointer<Float>        // (N, C)
    let dattnOut: UnsafeMutablePointer<Float>   // (N, C)
    let dqkv: UnsafeMutablePointer<Float>       // (N, 3C)
    let datt: UnsafeMutablePointer<Float>       // (B, NH, T, T)
    let dfc: UnsafeMutablePointer<Float>        // (N, 4C)
    let dlogits: UnsafeMutablePointer<Float>    // (N, V)
    let lnPartials: UnsafeMutablePointer<Float> // LayerNorm's per-block parameter sums
    let ones: UnsafeMutablePointer<Float>       // (N) all 1, for bias gradients by sgemv

    struct LayerBuffer {
        let base: UnsafeMutablePointer<Float>
        let stride: Int
        subscript(layer: Int) -> UnsafeMutablePointer<Float> { base + layer * stride }
    }

    init(config: GPT2Config, batch: Int, time: Int) {
        self.batch = batch
        self.time = time
        let n = batch * time, c = config.channels, l = config.layers, v = config.vocabulary
        let attSize = batch * config.heads * time * time
        var sizes: [Int] = []
        // Sizes in the order the fields are carved below.
        let perLayer = [n * c, n, n, n * 3 * c, attSize, n * c, n * c, n * c, n, n, n * 4 * c, n * 4 * c, n * c]
        sizes += perLayer.map { $0 * l }
        let global = [n * c, n * c, n, n, n * v, n * v, n,
                      n * c, n * c, n * c, n * 3 * c, attSize, n * 4 * c, n * v,
                      LayerNorm.partialCount(rows: n, channels: c), n]
        sizes += global
        let rounded = sizes.map { ($0 + 15) / 16 * 16 }
        floatCount = rounded.reduce(0, +)
        storage = .allocate(capacity: floatCount)
        storage.initialize(repeating: 0, count: floatCount)
        var cursor = storage
        var index = 0
        func next() -> UnsafeMutablePointer<Float> {
            defer { cursor += rounded[index]; index += 1 }
            return cursor
        }
        func layer() -> LayerBuffer { LayerBuffer(base: next(), stride: sizes[index - 1] / l) }
        ln1 = layer(); ln1Mean = layer(); ln1Rstd = layer(); qkv = layer(); att = layer(); attnOut = layer()
        residual2 = layer(); ln2 = layer(); ln2Mean = layer(); ln2Rstd = layer(); fc = layer(); fcGelu = layer()
        residual3 = layer()
        encoded = next(); lnf = next(); lnfMean = next(); lnfRstd = next()
        logits = next(); probs = next(); losses = next()
        dresidual = next(); dln = next(); dattnOut = next(); dqkv = next(); datt = next(); dfc = next(); dlogits = next()
        lnPartials = next(); ones = next()
        ones.update(repeating: 1, count: n)
    }

    deinit { storage.deallocate() }

    var byteCount: Int { floatCount * 4 }
}
