import Engine
import Checkpoint
import Foundation
import JSON
import Store

/// `import`: brings a safetensors checkpoint from disk into the DAG.
enum ImportOp {
    static let operation = OpDefinition(
        name: "import", version: 2,
        summary: "read a safetensors file or Hugging Face folder into the cache",
        inputs: [],
        params: [ParamSpec("path", .string(), help: "a .safetensors file or a folder (model.safetensors, or shards with model.safetensors.index.json; config.json kept); relative to the spec's folder")],
        produces: Store.checkpointKind,
        externalFingerprint: { params, directory, store in
            try fingerprint(OpContext.resolve(params["path"]?.stringValue ?? "", in: directory), store: store)
        },
        // An empty path would resolve to the spec's own folder.
        crossCheck: { params, _ in
            params["path"]?.stringValue == "" ? [("path", "expected a path to a .safetensors file or folder, got an empty string")] : []
        },
        run: { context in
            try context.store.checkpointWriter(reading: context.path("path")!) { done, total in
                context.progress(Double(done) / Double(max(1, total)))
            }
        }
    )

    /// Name, size and content digest of every file the import reads. Digests are hashed once
    /// per file version (the cache remembers them by identity and change times), so plans
    /// stay fast, and a copied or touched but unchanged file keeps its key.
    static func fingerprint(_ path: String, store: Store) throws -> JSONValue {
        if let problem = FileKind.problem(path, allowFolder: true) { throw OpError("\(path): \(problem)") }
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
            let digest = try store.fileDigest(path: file)
            return .array([.string((file as NSString).lastPathComponent), .number(Double(info.st_size)), .string(digest.hex)])
        })
    }
}
