import Foundation
import Numerics

extension MergeMethod {
    /// nuslerp: two models; t = w₂/(w₁ + w₂) (0.5 when the sum is below 1e-6). With a base,
    /// slerps the task vectors and adds the base back. `nuslerp_flatten` (default true) treats
    /// the tensor as one vector; otherwise rows, or with `nuslerp_row_wise` columns (mergekit
    /// transposes dim 0 to the end), are interpolated separately.
    static let nuslerp = MergeMethod(
        name: "nuslerp", base: .optional, modelCount: 2...2,
        modelParameters: [("weight", nil)], parameters: [("nuslerp_row_wise", 0), ("nuslerp_flatten", 1)], isRandom: false
    ) { input, output in
        let w0 = input.model(0, "weight"), w1 = input.model(1, "weight")
        let t = abs(w0 + w1) < 1e-6 ? 0.5 : w1 / (w0 + w1)
        var a = input.models[0].map(Double.init), b = input.models[1].map(Double.init)
        if let base = input.base {
            for i in a.indices { a[i] -= Double(base[i]); b[i] -= Double(base[i]) }
        }
        let shape = input.shape
        // Vectors as (start, stride, count) over the flat buffer.
        var vectors: [(Int, Int, Int)] = []
        if input.flag("nuslerp_flatten") || shape.count < 2 {
            vectors = [(0, 1, a.count)]
        } else if input.flag("nuslerp_row_wise") {
            let rows = shape[0], columns = a.count / max(rows, 1)
            vectors = (0..<columns).map { ($0, columns, rows) }
        } else {
            let columns = shape.last!
            vectors = stride(from: 0, to: a.count, by: max(columns, 1)).map { ($0, 1, columns) }
        }
        var out = [Double](repeating: 0, count: a.count)
        for (start, step, count) in vectors {
            let idx = (0..<count).map { start + $0 * step }
            let na = max(idx.reduce(0) { $0 + a[$1] * a[$1] }.squareRoot(), 1e-7)
            let nb = max(idx.reduce(0) { $0 + b[$1] * b[$1] }.squareRoot(), 1e-7)
            let cosine = min(1, max(-1, idx.reduce(0) { $0 + (a[$1] / na) * (b[$1] / nb) }))
            if 1 - cosine * cosine <= 1e-16 {
                for i in idx { out[i] = (1 - t) * a[i] + t * b[i] }
            } else {
                let theta = acos(cosine), s = sin(theta)
                let ca = sin((1 - t) * theta) / s, cb = sin(t * theta) / s
                for i in idx { out[i] = ca * a[i] + cb * b[i] }
            }
        }
        if let base = input.base { for i in out.indices { out[i] += Double(base[i]) } }
        for i in out.indices { output[i] = Float(out[i]) }
    }

    /// multislerp: barycentric interpolation on the hypersphere (optional base subtracted
    /// first): weighted mean of unit vectors, tangent-space sum, exponential map back,
    /// scaled by the weighted mean norm.
    static let multislerp = MergeMethod(
        name: "multislerp", base: .optional, modelCount: 1...Int.max,
        modelParameters: [("weight", nil)], parameters: [("normalize_weights", 1), ("eps", 1e-8)], isRandom: false
    ) { input, out in
        if input.models.count == 1 { _ = out.initialize(from: input.models[0]); return }
        let eps = input.param("eps")
        var weights = input.models.indices.map { input.model($0, "weight") }
        if input.flag("normalize_weights") { let s = weights.reduce(0, +); weights = weights.map { $0 / s } }
        let n = input.models[0].count
        var vectors = input.models.map { $0.map(Double.init) }
        if let base = input.base { for k in vectors.indices { for i in 0..<n { vectors[k][i] -= Double(base[i]) } } }
        let norms = vectors.map { v in v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        let units = zip(vectors, norms).map { v, norm in v.map { $0 / (norm + eps) } }
        var mean = [Double](repeating: 0, count: n)
        for (u, w) in zip(units, weights) { for i in 0..<n { mean[i] += u[i] * w } }
        let meanNorm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var result = [Double](repeating: 0, count: n)
        if meanNorm < eps {
            guard vectors.count == 2 else {
                throw MergeError("\(input.name): the weighted sum of the inputs is zero (antipodal inputs with balancing weights)")
            }
            for i in 0..<n { result[i] = vectors[0][i] * weights[0] + vectors[1][i] * weights[1] }
        } else {
            for i in 0..<n { mean[i] /= meanNorm }
            var tangent = [Double](repeating: 0, count: n)
            for (u, w) in zip(units, weights) {
                var dot = 0.0
                for i in 0..<n { dot += u[i] * mean[i] }
                for i in 0..<n { tangent[i] += (u[i] - dot * mean[i]) * w }
            }
            let tangentNorm = tangent.reduce(0) { $0 + $1 * $1 }.squareRoot() + eps
            let scale = zip(norms, weights).reduce(0) { $0 + $1.0 * $1.1 }
            for i in 0..<n {
                result[i] = (mean[i] * cos(tangentNorm) + tangent[i] * sin(tangentNorm) / tangentNorm) * scale
            }
        }
        if let base = input.base { for i in 0..<n { result[i] += Double(base[i]) } }
        for i in 0..<n { out[i] = Float(result[i]) }
    }

    /// karcher: the Riemannian (Karcher) mean on the unit sphere of all inputs with equal
    /// weights, iterated up to `max_iter` times to tolerance `tol`, scaled by the mean norm.
    static let karcher = MergeMethod(
        name: "karcher", base: .none, modelCount: 1...Int.max,
        modelParameters: [], parameters: [("max_iter", 10), ("tol", 1e-5)], isRandom: false
    ) { input, out in
        if input.models.count == 1 { _ = out.initialize(from: input.models[0]); return }
        let tol = input.param("tol"), maxIter = Int(input.param("max_iter"))
        let alphas = [Double](repeating: 1 / Double(input.models.count), count: input.models.count)
        let n = input.models[0].count
        let vectors = input.models.map { $0.map(Double.init) }
        let norms = vectors.map { v in v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        let units = zip(vectors, norms).map { v, norm in norm == 0 ? [Double](repeating: 0, count: n) : v.map { $0 / norm } }
        let valid = norms.indices.filter { norms[$0] > tol }
        guard !valid.isEmpty else { out.initialize(repeating: 0); return }
        let alphaSum = valid.reduce(0) { $0 + alphas[$1] }
        let a = valid.map { alphas[$0] / alphaSum }, u = valid.map { units[$0] }
        var mean = [Double](repeating: 0, count: n)
        for (w, v) in zip(a, u) { for i in 0..<n { mean[i] += w * v[i] } }
        let meanNorm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
        mean = meanNorm < tol ? u[0] : mean.map { $0 / meanNorm }
        for _ in 0..<maxIter {
            var tangent = [Double](repeating: 0, count: n)
            for (w, v) in zip(a, u) {
                var dot = 0.0
                for i in 0..<n { dot += mean[i] * v[i] }
                dot = min(1, max(-1, dot))
                let theta = acos(dot)
                if theta < tol { continue }
                let f = w * theta / sin(theta)
                for i in 0..<n { tangent[i] += f * (v[i] - dot * mean[i]) }
            }
            let tn = tangent.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if tn < tol { break }
            for i in 0..<n { mean[i] = cos(tn) * mean[i] + sin(tn) * tangent[i] / tn }
            let un = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if un > tol { mean = mean.map { $0 / un } }
        }
        let scale = zip(alphas, norms).reduce(0) { $0 + $1.0 * $1.1 }
        for i in 0..<n { out[i] = Float(mean[i] * scale) }
    }

    /// sce: optional top-k by variance across models (`select_topk`), sign consensus by
    /// summed mass, per-model weight = mean(δ²) normalised across models;
    /// out = base + Σ(δ·w·mask) / max(Σ w·mask, 1e-6).
    static let sce = MergeMethod(
        name: "sce", base: .required, modelCount: 1...Int.max,
        modelParameters: [], parameters: [("int8_mask", 0), ("select_topk", 1)], isRandom: false
    ) { input, out in
        let base = input.base!
        let n = base.count
        var deltas = input.models.map { x in (0..<n).map { x[$0] - base[$0] } }
        let topk = input.param("select_topk")
        if topk < 1 {
            var keep = [Bool](repeating: topk > 0, count: n)
            if topk > 0 {
                var variance = [Double](repeating: 0, count: n)
                for i in 0..<n {
                    let values = deltas.map { Double($0[i]) }
                    let m = values.reduce(0, +) / Double(values.count)
                    variance[i] = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count)
                }
                let k = Int(Double(variance.filter { $0 != 0 }.count) * topk)
                let order = (0..<n).sorted { variance[$0] > variance[$1] || (variance[$0] == variance[$1] && $0 < $1) }
                keep = [Bool](repeating: false, count: n)
                for i in order.prefix(k) { keep[i] = true }
            }
            for d in deltas.indices { for i in 0..<n where !keep[i] { deltas[d][i] = 0 } }
        }
        var weights = deltas.map { d in d.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(n, 1)) }
        let total = weights.reduce(0, +)
        weights = abs(total) < 1e-6 ? weights.map { _ in 1 / Double(weights.count) } : weights.map { $0 / total }
        for i in 0..<n {
            var sum: Float = 0
            for d in deltas { sum += d[i] }
            let majority: Float = sum >= 0 ? 1 : -1
            var mixed: Float = 0, divisor: Float = 0
            for (k, d) in deltas.enumerated() where d[i] != 0 && (d[i] > 0 ? 1 : -1) == majority {
                mixed += d[i] * Float(weights[k])
                divisor += Float(weights[k])
            }
            out[i] = base[i] + mixed / max(divisor, 1e-6)
        }
    }
}
