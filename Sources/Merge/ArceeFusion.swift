import Foundation
import Numerics

extension MergeMethod {
    /// arcee_fusion: importance = |b − a| × KL(softmax(b) ‖ softmax(a)) per row (softmax
    /// over the last dimension, +1e-8); entries at or above median + 1.5·IQR of the
    /// importance take the model's value, the rest keep the base's. (mergekit samples one
    /// million entries for the quantiles of larger tensors; mergeflow uses them all, which
    /// agrees exactly up to that size.) The KL term is ill-conditioned: entries within
    /// about 0.1% of the threshold can fall on the other side of it than in mergekit.
    static let arceeFusion = MergeMethod(
        name: "arcee_fusion", base: .required, modelCount: 1...1,
        modelParameters: [], parameters: [], isRandom: false
    ) { input, out in
        let a = input.base!, b = input.models[0]
        let width = input.shape.last ?? 1
        let n = a.count
        _ = out.initialize(from: a)
        guard n > 0, width > 0 else { return }
        var importance = [Float](repeating: 0, count: n)
        for start in stride(from: 0, to: n, by: width) {
            let row = start..<(start + width)
            // The KL of two nearly equal distributions is a sum of tiny terms of both signs:
            // computed in Double here. mergekit's float32 sum (in torch's order) is off by
            // ~0.1%, which decides entries whose importance is that close to the threshold.
            func softmax(_ t: UnsafeBufferPointer<Float>) -> [Double] {
                let m = row.map { Double(t[$0]) }.max()!
                let e = row.map { exp(Double(t[$0]) - m) }
                let s = e.reduce(0, +)
                return e.map { $0 / s + 1e-8 }
            }
            let p = softmax(b), q = softmax(a)
            var kl = 0.0
            for k in 0..<width { kl += p[k] * log(p[k] / q[k]) }
            for i in row { importance[i] = abs(b[i] - a[i]) * Float(kl) }
        }
        let sorted = importance.sorted()
        func quantile(_ q: Double) -> Float { sorted[Int(q * Double(n - 1))] }
        let threshold = quantile(0.5) + 1.5 * (quantile(0.75) - quantile(0.25))
        for i in 0..<n where importance[i] >= threshold { out[i] = a[i] + (b[i] - a[i]) }
    }
}
