import Engine
import Checkpoint
import Foundation
import JSON
import Merge
import Numerics
import Store

/// A merge straight from folders to a folder, outside the cache (`mergeflow merge --direct`):
/// what `mergekit-yaml` does, tensor by tensor from memory-mapped inputs to a streamed
/// safetensors file.
public enum DirectMerge {
    /// - Parameters:
    ///   - maxShardBytes: mergekit's `--out-shard-size` (bytes per shard, 5·10⁹ by default).
    /// - Returns: the number of input bytes read.
    @discardableResult
    public static func run(config path: String, output: String,
                           maxShardBytes: Int = ShardedCheckpointWriter.defaultMaxShardBytes,
                           progress: (Double) -> Void = { _ in }) throws -> Int {
        let parsed = try MergekitConfig.parse(path)
        var opened: [String: FolderTensorSource] = [:]
        func open(_ model: String) throws -> FolderTensorSource {
            if let source = opened[model] { return source }
            let source = try FolderTensorSource(path: parsed.resolve(model), computeDType: parsed.dtype)
            opened[model] = source
            return source
        }
        let tasks: [MergeTask]
        var outputLayers: Int?
        do {
            if let slices = parsed.slices {
                var sources: [String: TensorSource] = [:]
                for slice in slices { for s in slice.sources { sources[s.model] = try open(s.model) } }
                let method = parsed.mergeParams["method"]?.stringValue ?? "linear"
                let plan = try SlicePlanner.plan(slices, models: sources, method: method, parameters: parsed.sharedParameters,
                                                 seed: UInt64(parsed.mergeParams["seed"]?.intValue ?? 0))
                tasks = plan.tasks
                outputLayers = plan.layers
            } else {
                let recipe = try MergeOp.recipe(parsed.mergeParams, modelCount: parsed.models.count, hasBase: parsed.base != nil)
                let models = try parsed.models.map(open)
                let base = try parsed.base.map(open)
                tasks = try MergeTask.wholeModels(recipe, models: models, base: base,
                                                  layers: Merger.layerCount((base ?? models[0]).tensorNames))
            }
        } catch let e as MergeError {
            throw SpecError(file: path, issues: [SpecIssue(path: "(config)", message: e.message)])
        }
        // Each tensor is written in out_dtype, else dtype, else its inputs' dtype (mergekit
        // keeps the dtype it loaded). Without a `dtype` every input must agree on a tensor's
        // dtype: mergekit would silently promote, which is rarely what a user meant; with one
        // all are converted to it, as in mergekit.
        var items: [SafetensorsWriter.Item] = []
        var planned = tasks
        // mergekit's methods return the compute dtype (`dtype`); SaveTensor then casts to
        // out_dtype: two roundings when both are given and differ.
        let intermediate = parsed.dtype.flatMap { $0 != .f32 && $0 != parsed.outputDType ? $0 : nil }
        for (i, task) in tasks.enumerated() {
            let inputs = task.models + (task.base.map { [$0] } ?? [])
            let stored = (inputs[0].source as! FolderTensorSource).folder.tensor(named: inputs[0].name)!.entry.dtype
            for input in inputs where parsed.dtype == nil {
                let location = (input.source as! FolderTensorSource).folder.tensor(named: input.name)!
                if location.entry.dtype != stored {
                    throw CheckpointError(file: location.file.path, tensor: input.name,
                                          "dtype \(location.entry.dtype.rawValue) differs from \(stored.rawValue) in \(inputs[0].source.label); convert the models to one dtype or set \"dtype\" in the config")
                }
            }
            planned[i].outputDType = parsed.outputDType ?? stored
            planned[i].intermediateDType = intermediate
            items.append(SafetensorsWriter.Item(name: task.name, dtype: planned[i].outputDType, shape: task.shape))
        }
        // Each result placed in memory at its file offset's phase within a page, so the shards'
        // writer sends it to the disk without copying it.
        for (i, offset) in ShardedCheckpointWriter.dataOffsets(items, maxShardBytes: maxShardBytes).enumerated() {
            planned[i].outputPagePhase = offset % MergeTask.pageBytes
        }
        // The stream starts merging the first tensor now; linear, passthrough and SLERP go
        // a block at a time (see `BlockedMerge`).
        let stream = MergeStream(tasks: planned, blocked: true, sliceBytes: MergeStream.defaultSliceBytes)
        let names = stream.names
        try CheckpointDestination.checkNoShardIndex(in: output)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        // The stream merges tensor i + 1 while tensor i is written. Like mergekit (and cp),
        // the output is not fsynced: each file appears under its name only once all are
        // complete (renamed from temporary files), and durability against power loss is
        // the file system's.
        // Around the page cache: see `SequentialFileWriter`.
        try ShardedCheckpointWriter.write(folder: output, items: items, maxShardBytes: maxShardBytes, durable: false,
                                          bypassCache: true) { i, emit in
            guard let tensor = try stream.next(), tensor.name == names[i] else { throw MergeError("tensor \(names[i]): out of order") }
            // An input truncated or rewritten while this tensor was merged is an error
            // before the tensor is written (see `MappedFile.checkUnchanged`).
            for source in opened.values { try source.checkUnchanged() }
            if let feed = tensor.feed {
                // The largest results come slice by slice as they are merged (`OutputFeed`); a
                // failed write leaves the feed to the stream's deinit, which cancels it.
                while let slice = try feed.next() { try emit(slice) }
            } else {
                try emit(tensor.bytes)
            }
            progress(Double(i + 1) / Double(names.count))
        }
        try ModelFolderFiles.copy(from: parsed.resolve(parsed.tokenizerDonor), to: output,
                                  outputDType: parsed.outputDType ?? items.first?.dtype, layers: outputLayers)
        return opened.values.reduce(0) { total, source in
            total + source.folder.tensors.reduce(0) { $0 + $1.entry.dataRange.count }
        }
    }
}
