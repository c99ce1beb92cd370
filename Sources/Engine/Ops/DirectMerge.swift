import Checkpoint
import Foundation
import JSON
import Merge
import Numerics
import Store

/// Computes one tensor ahead on a worker thread.
final class MergeAhead: @unchecked Sendable {
    private let compute: (Int) throws -> Tensor
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Tensor, Error>?

    init(_ compute: @escaping (Int) throws -> Tensor) { self.compute = compute }

    func start(_ i: Int) {
        let thread = Thread { [self] in
            result = Result { try compute(i) }
            done.signal()
        }
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Waits for the tensor started last.
    func take() throws -> Tensor {
        done.wait()
        defer { result = nil }
        return try result!.get()
    }
}

/// A merge straight from folders to a folder, outside the cache (`mergeflow merge --direct`):
/// what `mergekit-yaml` does, tensor by tensor from memory-mapped inputs to a streamed
/// safetensors file.
public enum DirectMerge {
    /// - Returns: the number of input bytes read.
    @discardableResult
    public static func run(config path: String, output: String, progress: (Double) -> Void = { _ in }) throws -> Int {
        let parsed = try MergekitConfig.parse(path)
        let recipe: MergeRecipe
        do {
            recipe = try MergeOp.recipe(parsed.mergeParams, modelCount: parsed.models.count, hasBase: parsed.base != nil)
        } catch let e as MergeError {
            throw SpecError(file: path, issues: [SpecIssue(path: "(config)", message: e.message)])
        }
        let models = try parsed.models.map { try FolderTensorSource(path: parsed.resolve($0)) }
        let base = try parsed.base.map { try FolderTensorSource(path: parsed.resolve($0)) }
        let reference = base ?? models[0]
        let names = try Merger.check(models: models, base: base)
        let layers = Merger.layerCount(names)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let items = names.map { SafetensorsWriter.Item(name: $0, dtype: .f32, shape: reference.shape(of: $0)!) }
        var metadata = reference.folder.metadata
        if metadata.isEmpty { metadata["format"] = "pt" }
        // Tensor i + 1 is merged on a worker while tensor i is written, so computing and
        // writing overlap. (Tensors go in name order; the largest, wte, comes last, beside
        // the small wpe, so the overlap adds little to peak memory.)
        let ahead = MergeAhead { i in try Merger.mergeTensor(names[i], recipe, models: models, base: base, layers: layers) }
        if !names.isEmpty { ahead.start(0) }
        try SafetensorsWriter.writeStreaming(to: output + "/model.safetensors", items: items, metadata: metadata) { i, emit in
            let tensor = try ahead.take()
            if i + 1 < names.count { ahead.start(i + 1) }
            try tensor.withUnsafeBufferPointer { try emit(UnsafeRawBufferPointer($0)) }
            progress(Double(i + 1) / Double(names.count))
        }
        if let config = reference.folder.config {
            try Data((config.serialized(pretty: true) + "\n").utf8).write(to: URL(fileURLWithPath: output + "/config.json"), options: .atomic)
        }
        return (models + (base.map { [$0] } ?? [])).reduce(0) { total, source in
            total + source.folder.tensors.reduce(0) { $0 + $1.entry.dataRange.count }
        }
    }
}
