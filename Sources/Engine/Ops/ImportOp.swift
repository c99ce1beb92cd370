import Checkpoint
import Foundation
import JSON
import Store

/// `import`: brings a safetensors checkpoint from disk into the DAG.
enum ImportOp {
    static let operation = OpDefinition(
        name: "import", version: 1,
        summary: "read a safetensors file or Hugging Face folder into the cache",
        inputs: [],
        params: [ParamSpec("path", .string(), help: "a .safetensors file or a folder (model.safetensors, or shards with model.safetensors.index.json; config.json kept); relative to the spec's folder")],
        produces: Store.checkpointKind,
        externalFingerprint: { params, directory in
            try fingerprint(OpContext.resolve(params["path"]?.stringValue ?? "", in: directory))
        },
        run: { context in
            try context.store.checkpointWriter(reading: context.path("path")!) { done, total in
                context.progress(Double(done) / Double(max(1, total)))
            }
        }
    )

    /// Size and modification time of every file the import reads: cheap to take at plan
    /// time, and any edit to the checkpoint changes it (and so the key).
    static func fingerprint(_ path: String) throws -> JSONValue {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw OpError("\(path): no such file or folder")
        }
        let files: [String]
        if isDirectory.boolValue {
            files = try FileManager.default.contentsOfDirectory(atPath: path)
                .filter { $0.hasSuffix(".safetensors") || $0 == "config.json" || $0 == "model.safetensors.index.json" }
                .sorted()
                .map { (path as NSString).appendingPathComponent($0) }
        } else {
            files = [path]
        }
        return .array(try files.map { file in
            var info = stat()
            guard stat(file, &info) == 0 else { throw OpError("\(file): cannot stat") }
            let mtime = Double(info.st_mtim.tv_sec) * 1e9 + Double(info.st_mtim.tv_nsec)
            return .array([.string((file as NSString).lastPathComponent), .number(Double(info.st_size)), .number(mtime)])
        })
    }
}
