import Engine
import Ops
import Foundation
import Model
import Store

/// Finds the model a command names: a checkpoint folder (ours or one written by
/// transformers), `SPEC:NODE` (the cached result of one node instance), or an artifact digest.
enum ModelSupport {
    static let help = """
    MODEL is a folder with config.json and model.safetensors (for example one written by
    `mergeflow export` or by transformers' save_pretrained), SPEC:NODE (the cached result of
    one instance of a node, e.g. pipelines/quickstart.json:general), or an artifact digest
    (or unique prefix) in the cache.
    """

    static func load(_ text: String, args: Arguments) throws -> GPT2 {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: text, isDirectory: &isDirectory), isDirectory.boolValue {
            do { return try ModelArtifacts.load(folder: text) } catch let e as OpError { throw UsageError(e.message) }
        }
        let store = try CommandSupport.openStore(args)
        let digest: Digest
        if let colon = text.lastIndex(of: ":"), FileManager.default.fileExists(atPath: String(text[..<colon])) {
            let graph = try SpecSupport.load(String(text[..<colon]))
            let results = try SpecSupport.cachedResults(of: String(text[text.index(after: colon)...]), in: graph, store: store)
            guard results.count == 1, let result = results.first else {
                throw UsageError("\(text) names \(results.count) instances; pick one with a selector such as node[key=value]")
            }
            guard let d = result.digest else {
                throw UsageError("\(text): \(result.id) is not in the cache yet (run the spec first)")
            }
            digest = d
        } else {
            digest = try CommandSupport.resolveArtifact(text, in: store)
        }
        do { return try ModelArtifacts.load(try store.manifest(digest), store: store) } catch let e as OpError {
            throw UsageError(e.message)
        }
    }
}
