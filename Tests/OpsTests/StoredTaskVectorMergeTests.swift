import Checkpoint
import Foundation
@testable import Merge
@testable import Ops
import Store
import Numerics
import XCTest

/// TIES and task arithmetic merged from the stored bytes (`mergeTaskVectorsFromStored`: the
/// C loops of `TaskVectorKernels.c`) give the bits of the widened whole-tensor merge: bf16
/// and F32 inputs, bf16 and F32 outputs; the magnitude cut among many ties that straddle
/// pieces, found from the sampled window in one pass or, when the sample misleads, in a
/// second; consensus, lambda, normalize, a model left whole (density 1), a ragged last piece;
/// one to five models; the loops' AVX-512 and AVX2 instances alike.
/// Cases the C loops do not take (rescale, a crowded cut bin, f16 output) return nil, and
/// the merge falls back.
final class StoredTaskVectorMergeTests: XCTestCase {
    private func source(_ folder: URL, _ label: String, _ dtype: DType, _ n: Int, _ value: (Int) -> Float) throws -> FolderTensorSource {
        try oneTensorFolder(folder.appendingPathComponent("\(label)-\(dtype.rawValue)").path, dtype: dtype, count: n, value: value)
    }

    /// The stored merge of `task`, or nil when it declined.
    private func storedMerge(_ task: MergeTask, thinning: TaskArithmetic.Thinning, consensus: Bool) throws -> [UInt8]? {
        let n = Tensor.elementCount(task.shape)
        // A stream with no tasks of its own: its worker would otherwise merge `task` at the
        // same time, in the same per-stream buffers.
        let stream = MergeStream(tasks: [], blocked: true)
        let (perModel, shared) = try task.recipe.resolve(tensor: task.name, layer: task.layer, layers: task.layers)
        let sources = task.inputs.map { $0.source as! RangeReadableTensorSource }
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: n * task.outputDType.size, alignment: 64)
        defer { output.deallocate() }
        let merged = try stream.mergeTaskVectorsFromStored(task, thinning: thinning, consensus: consensus, perModel, shared, sources,
                                                           count: n, into: output)
        return merged.map { Array($0.bytes) }
    }

    /// The stored merge (nil when it declined) and the whole-tensor merge's bytes.
    private func merges(_ task: MergeTask, thinning: TaskArithmetic.Thinning, consensus: Bool) throws -> (stored: [UInt8]?, whole: [UInt8]) {
        let whole = MergeStream(tasks: [task], blocked: false)
        let expected = try withExtendedLifetime(whole) { Array(try whole.next()!.bytes) }
        return (try storedMerge(task, thinning: thinning, consensus: consensus), expected)
    }

    private func differing(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.count == b.count ? a.indices.filter { a[$0] != b[$0] }.count : -1
    }

    func testStoredTaskVectorMergesEqualWholeTensorMerges() throws {
        try XCTSkipUnless(mergeKernelsAvailable, "this CPU has no AVX2 + FMA: the C loops never run")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-stored-ties-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        // 2²¹ + 1,003 elements, a ragged last piece; the sample is 256 runs of 256 elements,
        // one every n / 256.
        let n = (1 << 21) + 1_003, stride = n / 256
        var sources: [DType: [String: FolderTensorSource]] = [:]
        for dtype in [DType.bf16, .f32] {
            for (k, label) in ["base", "a", "b", "misleading"].enumerated() {
                var state: UInt64 = 0x9E37_79B9_7F4A_7C15, noise = UInt64(k + 1) &* 0xD1B5_4A32_D192_ED03
                sources[dtype, default: [:]][label] = try source(folder, label, dtype, n) { j in
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    noise = noise &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    // base: k/128 (exact in bf16); a, b: base plus noise, which bf16 rounds to
                    // few values (many ties at the cut); misleading: the sampled elements moved far,
                    // the rest a little: the sample puts the cut's bin high, the window misses.
                    let base = Float(Int(state >> 33) % 511 - 255) / 128
                    let small = Float(Int32(truncatingIfNeeded: noise >> 32)) * 2.3e-12
                    return switch label {
                    case "base": base
                    case "misleading": base + (j % stride < 256 && j / stride < 256 ? 4 : small)
                    default: base + small * (k == 2 ? 3 : 1)
                    }
                }
            }
        }
        typealias Case = (method: String, models: [String], shared: [String: MergeParameter], perModel: [[String: MergeParameter]])
        let cases: [Case] = [
            ("ties", ["a", "b"], [:], [["weight": .scalar(0.6), "density": .scalar(0.5)], ["weight": .scalar(0.4), "density": .scalar(0.5)]]),
            ("ties", ["a", "misleading", "b"], ["lambda": .scalar(0.8)],
             [["weight": .scalar(0.5), "density": .scalar(0.3)], ["weight": .scalar(0.3), "density": .scalar(0.2)], ["weight": .scalar(0.2), "density": .scalar(1)]]),
            ("ties", ["b", "a"], ["normalize": .scalar(0)], [["weight": .scalar(-0.7), "density": .scalar(0.9)], ["weight": .scalar(0.7), "density": .scalar(0.05)]]),
            ("task_arithmetic", ["a", "b"], ["normalize": .scalar(1)], [["weight": .scalar(0.7)], ["weight": .scalar(0.3)]]),
            // One model, and five (more than the loops' unrolled instances take: the model
            // count is a run-time value there).
            ("ties", ["b"], [:], [["weight": .scalar(1), "density": .scalar(0.4)]]),
            ("ties", ["a", "b", "misleading", "b", "a"], [:],
             [["weight": .scalar(0.3), "density": .scalar(0.5)], ["weight": .scalar(0.2), "density": .scalar(0.7)],
              ["weight": .scalar(0.2), "density": .scalar(0.4)], ["weight": .scalar(-0.1), "density": .scalar(0.6)], ["weight": .scalar(0.2), "density": .scalar(1)]]),
        ]
        // Both instances of the C loops where this CPU has AVX-512 (the default) and AVX2.
        let wide = allowWideMergeKernels(true)
        defer { allowWideMergeKernels(true) }
        for (dtype, inputs) in sources {
            for c in cases {
                let recipe = try MergeRecipe(method: c.method, modelCount: c.models.count, hasBase: true,
                                             modelParameters: c.perModel, parameters: c.shared, seed: 3)
                let variant = TaskArithmetic.blockedVariants[c.method]!
                for output in [DType.bf16, .f32] {
                    var task = MergeTask(name: "w", shape: [n], models: c.models.map { MergeTask.Input(inputs[$0]!, "w") },
                                         base: MergeTask.Input(inputs["base"]!, "w"), recipe: recipe, layer: nil, layers: 1)
                    task.outputDType = output
                    let (stored, whole) = try merges(task, thinning: variant.thinning, consensus: variant.consensus)
                    let what = "\(c.method) \(c.models) \(dtype) → \(output)"
                    guard let stored else { XCTFail("\(what): the stored merge declined"); continue }
                    XCTAssertEqual(whole.count, output.size * n)
                    XCTAssertEqual(differing(stored, whole), 0, what + (wide ? " (AVX-512)" : ""))
                    if wide {
                        XCTAssertFalse(allowWideMergeKernels(false))
                        defer { allowWideMergeKernels(true) }
                        let narrow = try storedMerge(task, thinning: variant.thinning, consensus: variant.consensus)
                        XCTAssertEqual(narrow.map { differing($0, whole) }, 0, what + " (AVX2)")
                    }
                }
            }
        }

        // Declined, before writing anything: rescale, f16 output, inputs of two dtypes.
        let a = sources[.bf16]!
        let rescaled = try MergeRecipe(method: "ties", modelCount: 1, hasBase: true, modelParameters: [["weight": .scalar(1), "density": .scalar(0.5)]],
                                       parameters: ["rescale": .scalar(1)], seed: 0)
        let plain = try MergeRecipe(method: "ties", modelCount: 1, hasBase: true, modelParameters: [["weight": .scalar(1), "density": .scalar(0.5)]],
                                    parameters: [:], seed: 0)
        var declined: [(MergeTask, String)] = []
        declined.append((MergeTask(name: "w", shape: [n], models: [MergeTask.Input(a["a"]!, "w")], base: MergeTask.Input(a["base"]!, "w"),
                                   recipe: rescaled, layer: nil, layers: 1), "rescale"))
        var f16 = MergeTask(name: "w", shape: [n], models: [MergeTask.Input(a["a"]!, "w")], base: MergeTask.Input(a["base"]!, "w"),
                            recipe: plain, layer: nil, layers: 1)
        f16.outputDType = .f16
        declined.append((f16, "f16 output"))
        declined.append((MergeTask(name: "w", shape: [n], models: [MergeTask.Input(sources[.f32]!["a"]!, "w")],
                                   base: MergeTask.Input(a["base"]!, "w"), recipe: plain, layer: nil, layers: 1), "two dtypes"))
        for (task, what) in declined {
            let (stored, _) = try merges(task, thinning: .magnitude, consensus: true)
            XCTAssertNil(stored, "\(what): the stored merge should decline")
            // …and the merge the user runs still agrees with the whole-tensor merge.
            let blocked = MergeStream(tasks: [task], blocked: true), whole = MergeStream(tasks: [task], blocked: false)
            try withExtendedLifetime((blocked, whole)) {
                XCTAssertEqual(differing(Array(try blocked.next()!.bytes), Array(try whole.next()!.bytes)), 0, what)
            }
        }
    }

    /// A NaN that thinning would drop, in a thinned model, a model left whole or the base, is
    /// refused on the stored path, naming the file.
    func testStoredTaskVectorMergeRefusesNaN() throws {
        try XCTSkipUnless(mergeKernelsAvailable, "this CPU has no AVX2 + FMA: the C loops never run")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-stored-ties-nan-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let n = BlockedMerge.pieceElements + 17
        for culprit in 0..<3 {
            var inputs: [FolderTensorSource] = []
            for k in 0..<3 {
                inputs.append(try source(folder, "c\(culprit)-m\(k)", .bf16, n) { j in
                    k == culprit && j == n - 5 ? .nan : Float(j % 7) / 8 * Float(k)
                })
            }
            let recipe = try MergeRecipe(method: "ties", modelCount: 2, hasBase: true,
                                         modelParameters: [["weight": .scalar(0.5), "density": .scalar(0.1)], ["weight": .scalar(0.5), "density": .scalar(1)]],
                                         parameters: [:], seed: 0)
            var task = MergeTask(name: "w", shape: [n], models: [MergeTask.Input(inputs[1], "w"), MergeTask.Input(inputs[2], "w")],
                                 base: MergeTask.Input(inputs[0], "w"), recipe: recipe, layer: nil, layers: 1)
            task.outputDType = .bf16
            XCTAssertThrowsError(try storedMerge(task, thinning: .magnitude, consensus: true)) { error in
                XCTAssertTrue("\(error)".contains("c\(culprit)-m\(culprit)") && "\(error)".contains("NaN"), "\(error)")
            }
        }
    }
}
