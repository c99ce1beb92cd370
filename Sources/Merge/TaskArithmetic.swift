import Numerics

/// The task-vector family (mergekit's `generalized_task_arithmetic.py`): for each model
/// δᵢ = xᵢ − base, sparsified, times its weight; optionally a sign election keeps only the
/// entries that agree with the weighted majority; the mix is optionally divided by the sum
/// of the weights that contributed, scaled by `lambda`, and added back to the base.
enum TaskArithmetic {
    enum Thinning { case none, magnitude, random, magnitudeOutliers, dellaMagprune }

    static func method(_ name: String, thinning: Thinning, consensus: Bool, normalize: Bool, rescale: Bool) -> MergeMethod {
        // As mergekit: every method of the family accepts density (unused without thinning)
        // and int8_mask (a memory option with no effect on the result).
        var modelParameters: [(String, Double?)] = [("weight", nil), ("density", 1)]
        if thinning == .magnitudeOutliers { modelParameters.append(("gamma", 0.01)) }
        if thinning == .dellaMagprune { modelParameters.append(("epsilon", 0.15)) }
        return MergeMethod(
            name: name, base: .required, modelCount: 1...Int.max, modelParameters: modelParameters,
            parameters: [("int8_mask", 0), ("normalize", normalize ? 1 : 0), ("rescale", rescale ? 1 : 0), ("lambda", 1)],
            isRandom: thinning == .random || thinning == .dellaMagprune
        ) { input, out in
            try merge(&input, into: out, thinning: thinning, consensus: consensus)
        }
    }

    static let methods: [MergeMethod] = [
        method("task_arithmetic", thinning: .none, consensus: false, normalize: false, rescale: false),
        method("ties", thinning: .magnitude, consensus: true, normalize: true, rescale: false),
        method("dare_ties", thinning: .random, consensus: true, normalize: false, rescale: true),
        method("dare_linear", thinning: .random, consensus: false, normalize: false, rescale: true),
        method("breadcrumbs", thinning: .magnitudeOutliers, consensus: false, normalize: false, rescale: false),
        method("breadcrumbs_ties", thinning: .magnitudeOutliers, consensus: true, normalize: false, rescale: false),
        method("della", thinning: .dellaMagprune, consensus: true, normalize: true, rescale: true),
        method("della_linear", thinning: .dellaMagprune, consensus: false, normalize: false, rescale: true),
    ]

    /// One model's part in the mix: its values, which of its delta's entries survive
    /// thinning, and the factors its delta is scaled by.
    struct Contribution: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let threshold: UInt32
        let tiesBefore: Int
        let mask: UnsafePointer<UInt64>?
        let rescale: Float?
        let weight: Float

        /// ((xⱼ − baseⱼ) · rescale) · weight if entry j is kept, else 0.
        @inline(__always) func value(_ j: Int, base b: Float) -> Float {
            let d = x[j] - b
            guard Kept.keeps(j, d, threshold: threshold, tiesBefore: tiesBefore, mask: mask) else { return 0 }
            var v = d
            if let rescale { v *= rescale }
            return v * weight
        }

        /// `value` for entries j…j+7 (j a multiple of 8), computed the same way per lane.
        /// Branch-free integer lane masks (all ones = kept): Swift lowers comparisons that
        /// yield `SIMDMask` to a scalar loop per lane, integer shifts and ands to vector code.
        @inline(__always) func values(_ j: Int, base b: SIMD8<Float>) -> SIMD8<Float> {
            let d = UnsafeRawPointer(x).loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self) - b
            let keep: SIMD8<Int32>
            if let mask {
                let byte = Int32(truncatingIfNeeded: mask[j >> 6] >> UInt64(j & 63)) & 0xFF
                keep = 0 &- ((SIMD8<Int32>(repeating: byte) &>> Lanes.index) & 1)
            } else {
                // For magnitudes (sign bit clear) a ≤ b is the sign of b − a as Int32.
                let bits = unsafeBitCast(d, to: SIMD8<Int32>.self) & 0x7FFF_FFFF
                let t = Int32(bitPattern: threshold)
                let above = (t &- bits) &>> 31
                if j + 8 <= tiesBefore {
                    keep = (t &- 1 &- bits) &>> 31
                } else if j >= tiesBefore {
                    keep = above
                } else {
                    let tie = Lanes.isZero(bits ^ t)
                    let before = (Lanes.index &- Int32(tiesBefore - j)) &>> 31
                    keep = above | (tie & before)
                }
            }
            var v = d
            if let rescale { v *= rescale }
            v *= weight
            return Lanes.select(v, keep)
        }
    }

    /// Lane helpers on integer masks (all ones or all zeros per lane).
    enum Lanes {
        static let index = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)

        /// All ones where x is 0.
        @inline(__always) static func isZero(_ x: SIMD8<Int32>) -> SIMD8<Int32> {
            ~((x | (0 &- x)) &>> 31)
        }

        /// v where the mask is set, +0 elsewhere.
        @inline(__always) static func select(_ v: SIMD8<Float>, _ mask: SIMD8<Int32>) -> SIMD8<Float> {
            unsafeBitCast(unsafeBitCast(v, to: SIMD8<Int32>.self) & mask, to: SIMD8<Float>.self)
        }

        /// All ones where x < 0 (−0 is not below 0; NaN counts by its sign bit).
        @inline(__always) static func isNegative(_ x: SIMD8<Float>) -> SIMD8<Int32> {
            let bits = unsafeBitCast(x, to: SIMD8<Int32>.self)
            return (bits &>> 31) & ~isZero(bits & 0x7FFF_FFFF)
        }

        /// All ones where x is neither +0 nor −0.
        @inline(__always) static func isNonZero(_ x: SIMD8<Float>) -> SIMD8<Int32> {
            ~isZero(unsafeBitCast(x, to: SIMD8<Int32>.self) & 0x7FFF_FFFF)
        }
    }

    /// Memory: nothing model-sized beyond the inputs and the output. Deltas are recomputed
    /// from x and the base in every pass (as cheap as reading a stored delta, and no buffer
    /// to fill); thinning leaves a threshold or a bit mask per model. Passes run across cores.
    static func merge(_ input: inout TensorMergeInput, into out: UnsafeMutableBufferPointer<Float>,
                      thinning: Thinning, consensus: Bool) throws {
        let base = input.base!
        let n = base.count, m = input.models.count
        var kept: [Kept] = [], rescales: [Float?] = [], weights: [Float] = []
        for i in 0..<m {
            let x = input.models[i]
            let density = input.modelParams[i]["density"] ?? 1
            guard density > 0, density <= 1 else { throw MergeError("\(input.name): density \(density) for model \(i) is outside (0, 1]") }
            var keep = Kept.all
            var rescale: Float?
            // Density 1 leaves a delta untouched (and unrescaled), as in mergekit.
            if density < 1 && thinning != .none {
                switch thinning {
                case .none: break
                case .magnitude: keep = Sparsify.magnitude(x, minus: base, density: density)
                case .random: keep = Sparsify.random(count: n, density: density, random: &input.random)
                case .magnitudeOutliers:
                    var delta = zip(x, base).map { $0 - $1 }
                    delta.withUnsafeMutableBufferPointer { Sparsify.magnitudeOutliers($0, density: density, gamma: input.model(i, "gamma")) }
                    keep = Kept.nonZero(delta)
                case .dellaMagprune:
                    let epsilon = input.model(i, "epsilon")
                    guard density - epsilon > 0, density + epsilon < 1 else {
                        throw MergeError("\(input.name): epsilon \(epsilon) must keep density ± epsilon within (0, 1) (density \(density))")
                    }
                    var delta = zip(x, base).map { $0 - $1 }
                    delta.withUnsafeMutableBufferPointer {
                        Sparsify.dellaMagprune($0, columns: input.shape.last ?? 1, rank: input.shape.count,
                                               density: density, epsilon: epsilon, random: &input.random)
                    }
                    keep = Kept.nonZero(delta)
                }
                if input.flag("rescale") {
                    // mergekit's rescale: × ‖δ‖₁ / ‖kept‖₁, skipped when either is below 1e-7.
                    let (before, after) = Sparsify.magnitudeSums(x, minus: base, keep)
                    if before >= 1e-7 && after >= 1e-7 { rescale = Float(before / after) }
                }
            }
            kept.append(keep)
            rescales.append(rescale)
            weights.append(Float(input.model(i, "weight")))
        }
        let inputs = input.models.map { $0.baseAddress! }
        let normalize = input.flag("normalize"), lambda = Float(input.param("lambda"))
        withMasks(kept) { masks in
            mix(inputs, base: base, offset: 0, kept: kept, masks: masks, rescales: rescales, weights: weights,
                consensus: consensus, normalize: normalize, lambda: lambda, into: out)
        }
    }

    /// The mix of elements `offset ..< offset + base.count` of a tensor: `models` and `base`
    /// point at those elements, `kept` and `masks` describe the whole tensor (`offset` is a
    /// multiple of 64, so a mask's words stay aligned with the block).
    static func mix(_ models: [UnsafePointer<Float>], base: UnsafeBufferPointer<Float>, offset: Int, kept: [Kept],
                    masks: [UnsafePointer<UInt64>?], rescales: [Float?], weights: [Float],
                    consensus: Bool, normalize: Bool, lambda: Float, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(offset % 64 == 0 && out.count == base.count)
        let n = base.count, m = models.count
        let sum = weights.reduce(0, +)
        let total = abs(sum) < 1e-8 ? 1 : sum
        let w = weights
        let bs = SharedFloats(base), o = SharedFloats(out)
        do {
            let parts = UnsafeMutableBufferPointer<Contribution>.allocate(capacity: m)
            defer { parts.deallocate() }
            for i in 0..<m {
                // Indices below are relative to the block: move the tie cut and the mask with it.
                let cut = kept[i].tiesBefore == Int.max ? Int.max : max(0, kept[i].tiesBefore - offset)
                parts[i] = Contribution(x: models[i], threshold: kept[i].threshold, tiesBefore: cut,
                                        mask: masks[i].map { $0 + offset / 64 }, rescale: rescales[i], weight: weights[i])
            }
            let shared = SharedPointer(parts.baseAddress!)
            Parallel.forEachRange(n, granularity: 64) { range in
                let parts = UnsafeBufferPointer(start: shared.base, count: m)
                let values = UnsafeMutableBufferPointer<SIMD8<Float>>.allocate(capacity: m)
                defer { values.deallocate() }
                var j = range.lowerBound
                // 8 entries at a time: every lane does exactly what the scalar tail does.
                while j + 8 <= range.upperBound {
                    let b = UnsafeRawPointer(bs.base).loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                    var mixed = SIMD8<Float>(), divisor = SIMD8<Float>(repeating: total)
                    if consensus {
                        var s = SIMD8<Float>()
                        for k in 0..<m { values[k] = parts[k].values(j, base: b); s += values[k] }
                        let negative = Lanes.isNegative(s)
                        divisor = SIMD8<Float>()
                        for k in 0..<m {
                            let v = values[k]
                            // Counted: non-zero and of the majority's sign.
                            let sameSign = ~((unsafeBitCast(v, to: SIMD8<Int32>.self) ^ negative) &>> 31)
                            let counted = sameSign & Lanes.isNonZero(v)
                            mixed += Lanes.select(v, counted)
                            divisor += Lanes.select(SIMD8<Float>(repeating: w[k]), counted)
                        }
                        let none = ~Lanes.isNonZero(divisor)
                        divisor = Lanes.select(divisor, ~none) + Lanes.select(SIMD8<Float>(repeating: 1), none)
                    } else {
                        for k in 0..<m { mixed += parts[k].values(j, base: b) }
                    }
                    if normalize { mixed /= divisor }
                    if lambda != 1 { mixed *= lambda }
                    UnsafeMutableRawPointer(o.base).storeBytes(of: b + mixed, toByteOffset: 4 * j, as: SIMD8<Float>.self)
                    j += 8
                }
                while j < range.upperBound {
                    let b = bs.base[j]
                    var mixed: Float = 0, divisor: Float = 0
                    if consensus {
                        // Majority sign of the weighted sum (≥ 0 counts as +); only entries of
                        // that sign count (a dropped or zero entry has sign 0 and never does).
                        var s: Float = 0
                        for part in parts { s += part.value(j, base: b) }
                        let positive = s >= 0
                        for k in 0..<m {
                            let v = parts[k].value(j, base: b)
                            if v != 0 && (v > 0) == positive { mixed += v; divisor += w[k] }
                        }
                        if divisor == 0 { divisor = 1 }
                    } else {
                        for part in parts { mixed += part.value(j, base: b) }
                        divisor = total
                    }
                    if normalize { mixed /= divisor }
                    if lambda != 1 { mixed *= lambda }
                    o.base[j] = b + mixed
                    j += 1
                }
            }
        }
    }

    /// Calls `body` with each model's mask words (nil where thinning left a threshold).
    static func withMasks(_ kept: [Kept], _ body: ([UnsafePointer<UInt64>?]) throws -> Void) rethrows {
        var pointers: [UnsafePointer<UInt64>?] = []
        var held: [UnsafeMutableBufferPointer<UInt64>] = []
        defer { for h in held { h.deallocate() } }
        for k in kept {
            guard let words = k.mask else { pointers.append(nil); continue }
            let copy = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: max(1, words.count))
            _ = copy.initialize(fromContentsOf: words)
            held.append(copy)
            pointers.append(UnsafePointer(copy.baseAddress))
        }
        try body(pointers)
    }
}
