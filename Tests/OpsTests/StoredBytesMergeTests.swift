import Checkpoint
import Foundation
@testable import Merge
@testable import Ops
import Store
import Numerics
import XCTest

/// Linear and SLERP merged from the stored bytes (`Linear.fusedWeightedSum(stored:…)`,
/// `Slerp.combine(stored:…)`, one pass per piece on every thread) give the bits of the
/// widened whole-tensor merges (widen, merge in Float32, `DType.narrow`): for bf16, f16 and
/// F32 inputs, every output dtype; linear with weights whose sum is a power of two
/// (multiplied by its reciprocal) or not (divided) or not normalised, SLERP on both of its
/// branches; on values that include ±0, subnormals, products that underflow to −0 and a
/// ragged last piece; the C loops' AVX-512 and AVX2 instances alike.
final class StoredBytesMergeTests: XCTestCase {
    func testStoredMergesEqualWidenedMerges() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-stored-linear-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let n = 2 * BlockedMerge.pieceElements + 1_003
        let specials: [Float] = [0, -0, Float(bitPattern: 0x0001_0000), Float(bitPattern: 0x8001_0000), Float(bitPattern: 0x8040_0000),
                                 1e-38, -1e-38, 3.0e38 / 4]
        func value(_ k: Int, _ j: Int, _ state: inout UInt64) -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            if j % 89 == k { return specials[Int(state >> 61)] }
            if j % 89 == 50 { return -0.0 }  // every input −0: the sum keeps or drops the sign as torch does
            // x₀·w₀ rounds to −0 (an F32 input), the others −0: fma keeps the sign.
            if j % 89 == 60 { return k == 0 ? Float(bitPattern: 0x8000_0001) : -0.0 }
            return Float(Int32(truncatingIfNeeded: state >> 32)) * 2.3e-11 * (k == 1 ? 3 : 1)
        }
        var sources: [DType: [FolderTensorSource]] = [:]
        for dtype in [DType.bf16, .f16, .f32] {
            for k in 0..<3 {
                var state = UInt64(k + 1) &* 0x9E37_79B9_7F4A_7C15
                sources[dtype, default: []].append(try oneTensorFolder(folder.appendingPathComponent("\(dtype.rawValue)-\(k)").path,
                                                                       dtype: dtype, count: n) { j in
                    let x = value(k, j, &state)
                    if dtype == .f16, !x.isZero, abs(x) < 6e-8 || abs(x) > 6e4 { return x.sign == .minus ? -6e-8 : 6e-8 }
                    return x
                })
            }
        }
        // The C loops' AVX-512 instances (where this CPU has them) and their AVX2 instances.
        let instances = allowWideMergeKernels(true) ? [true, false] : [true]
        defer { allowWideMergeKernels(true) }
        func check(_ task: MergeTask, _ what: String) throws {
            let whole = MergeStream(tasks: [task], blocked: false)
            let a = try withExtendedLifetime(whole) { Array(try whole.next()!.bytes) }
            XCTAssertEqual(a.count, task.outputDType.size * n)
            for wide in instances {
                allowWideMergeKernels(wide)
                let stored = MergeStream(tasks: [task], blocked: true)
                try withExtendedLifetime(stored) {
                    let merged = try stored.next()!
                    XCTAssertNil(merged.values)
                    let b = Array(merged.bytes)
                    let differing = a.count == b.count ? a.indices.filter { a[$0] != b[$0] }.count : -1
                    XCTAssertEqual(differing, 0, what + (wide && instances.count == 2 ? " (AVX-512)" : " (AVX2 or Swift)"))
                }
            }
        }
        let weightSets: [([Double], Double)] = [([0.5, 0.3, 0.2], 1), ([0.6, 0.3, 0.25], 1), ([0.7, -0.4, 0.2], 0), ([2, 1, 1], 1)]
        for (inputDType, models) in sources {
            for (weights, normalize) in weightSets {
                let recipe = try MergeRecipe(method: "linear", modelCount: 3, hasBase: false,
                                             modelParameters: weights.map { ["weight": .scalar($0)] },
                                             parameters: ["normalize": .scalar(normalize)], seed: 0)
                for output in [DType.bf16, .f16, .f32] {
                    var task = MergeTask(name: "w", shape: [n], models: models.map { MergeTask.Input($0, "w") }, base: nil,
                                         recipe: recipe, layer: nil, layers: 1)
                    task.outputDType = output
                    try check(task, "linear \(inputDType) → \(output), weights \(weights), normalize \(normalize)")
                }
            }
            // SLERP: two different models (spherical), a model with itself (the lerp branch).
            let recipe = try MergeRecipe(method: "slerp", modelCount: 1, hasBase: true, modelParameters: [[:]],
                                         parameters: ["t": .scalar(0.3)], seed: 0)
            for (model, base) in [(1, 0), (2, 2)] {
                for output in [DType.bf16, .f16, .f32] {
                    var task = MergeTask(name: "w", shape: [n], models: [MergeTask.Input(models[model], "w")],
                                         base: MergeTask.Input(models[base], "w"), recipe: recipe, layer: nil, layers: 1)
                    task.outputDType = output
                    try check(task, "slerp \(inputDType) → \(output), model \(model), base \(base)")
                }
            }
        }
    }

    /// SLERP's statistics from stored bytes, summed per reduction block in order, are
    /// `Kernels.dotAndSquares`'s over the widened values exactly (the same Doubles).
    func testStoredDotAndSquaresSumAsKernels() {
        let n = BlockedMerge.blockElements + 12_345
        for dtype in [DType.bf16, .f16, .f32] {
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            let values = (0..<(2 * n)).map { _ -> Float in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int32(truncatingIfNeeded: state >> 32)) * 2.3e-11
            }
            let bytes = UnsafeMutableRawPointer.allocate(byteCount: 2 * n * dtype.size, alignment: 64)
            defer { bytes.deallocate() }
            for (j, x) in values.enumerated() {
                switch dtype {
                case .bf16: bytes.storeBytes(of: DType.bfloat16Bits(x), toByteOffset: 2 * j, as: UInt16.self)
                case .f16: bytes.storeBytes(of: DType.halfBits(x), toByteOffset: 2 * j, as: UInt16.self)
                default: bytes.storeBytes(of: x, toByteOffset: 4 * j, as: Float.self)
                }
            }
            var widened = [Float](repeating: 0, count: 2 * n)
            widened.withUnsafeMutableBufferPointer { dtype.widen(bytes, count: 2 * n, into: $0.baseAddress!) }
            let want = widened.withUnsafeBufferPointer { w in
                Kernels.dotAndSquares(UnsafeBufferPointer(rebasing: w[0..<n]), UnsafeBufferPointer(rebasing: w[n...]))
            }
            // The C loops' AVX-512 instances (where this CPU has them) and their AVX2 instances.
            let instances = allowWideMergeKernels(true) ? [true, false] : [true]
            defer { allowWideMergeKernels(true) }
            for wide in instances {
                allowWideMergeKernels(wide)
                var partials = [Double](repeating: 0, count: 3 * ((n + Kernels.reductionBlock - 1) / Kernels.reductionBlock))
                partials.withUnsafeMutableBufferPointer { p in
                    for start in stride(from: 0, to: n, by: BlockedMerge.pieceElements) {
                        let range = start..<min(n, start + BlockedMerge.pieceElements)
                        Slerp.partialDotAndSquares(stored: StoredElements(start: bytes + start * dtype.size, dtype: dtype),
                                                   StoredElements(start: bytes + (n + start) * dtype.size, dtype: dtype),
                                                   range: range, into: p.baseAddress!)
                    }
                }
                var xy = 0.0, xx = 0.0, yy = 0.0
                for b in 0..<(partials.count / 3) { xy += partials[3 * b]; xx += partials[3 * b + 1]; yy += partials[3 * b + 2] }
                let what = "\(dtype)" + (wide && instances.count == 2 ? " (AVX-512)" : "")
                XCTAssertEqual(xy.bitPattern, want.xy.bitPattern, "\(what) Σxy")
                XCTAssertEqual(xx.bitPattern, want.xx.bitPattern, "\(what) Σxx")
                XCTAssertEqual(yy.bitPattern, want.yy.bitPattern, "\(what) Σyy")
            }
        }
    }

    /// A NaN in one input is still refused from the stored path, naming the file and tensor.
    func testStoredMergeRefusesNaN() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-stored-linear-nan-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let n = BlockedMerge.pieceElements + 17
        var models: [FolderTensorSource] = []
        for k in 0..<2 {
            models.append(try oneTensorFolder(folder.appendingPathComponent("m\(k)").path, dtype: .bf16, count: n) { j in
                k == 1 && j == n - 5 ? .nan : Float(j % 7) / 8
            })
        }
        let recipe = try MergeRecipe(method: "linear", modelCount: 2, hasBase: false,
                                     modelParameters: [["weight": .scalar(0.5)], ["weight": .scalar(0.5)]], parameters: [:], seed: 0)
        var task = MergeTask(name: "w", shape: [n], models: models.map { MergeTask.Input($0, "w") }, base: nil, recipe: recipe, layer: nil, layers: 1)
        task.outputDType = .bf16
        let stream = MergeStream(tasks: [task], blocked: true)
        XCTAssertThrowsError(try stream.next()) { error in
            XCTAssertTrue("\(error)".contains("m1") && "\(error)".contains("NaN or infinity"), "\(error)")
        }
    }
}
