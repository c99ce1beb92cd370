import Foundation
import JSON
import Merge

/// A mergekit configuration written as JSON (`merge_method`, `base_model`,
/// `models: [{model, parameters}]`, `parameters`, `dtype`), turned into a two-level spec:
/// an `import` per model folder and one `merge`. Running it through the engine caches the
/// result, so repeating a merge is instant.
public enum MergekitConfig {
    static let supportedKeys: Set<String> = ["merge_method", "base_model", "models", "parameters", "dtype", "out_dtype"]

    /// A config read and checked: the folders to merge and the merge node's params.
    public struct Parsed {
        /// Model paths as written (relative to `directory`), base excluded.
        public let models: [String]
        public let base: String?
        /// The params of the equivalent `merge` node.
        public let mergeParams: JSONObject
        public let directory: String
        public let name: String

        /// A path resolved against the config's folder.
        public func resolve(_ path: String) -> String { OpContext.resolve(path, in: directory) }
    }

    /// Reads the config at `path` and returns the equivalent spec document. Model paths are
    /// resolved against the config's folder.
    /// - Throws: `SpecError` with every problem: unknown keys, unsupported features, bad
    ///   parameters (checked by the same rules as a spec's merge node).
    public static func spec(from path: String) throws -> (document: JSONValue, directory: String) {
        let parsed = try parse(path)
        var nodes = JSONObject()
        var ids: [String: String] = [:]
        func importNode(_ p: String) -> String {
            if let id = ids[p] { return id }
            let id = "model\(ids.count)"
            ids[p] = id
            nodes[id] = .object(JSONObject([("op", "import"), ("params", .object(JSONObject([("path", .string(p))])))]))
            return id
        }
        var inputs = JSONObject([("models", .array(parsed.models.map { .string(importNode($0)) }))])
        if let base = parsed.base { inputs["base"] = .string(importNode(base)) }
        nodes["merged"] = .object(JSONObject([("op", "merge"), ("inputs", .object(inputs)), ("params", .object(parsed.mergeParams))]))
        return (.object(JSONObject([("name", .string(parsed.name)), ("nodes", .object(nodes))])), parsed.directory)
    }

    /// Reads and checks the config at `path`.
    public static func parse(_ path: String) throws -> Parsed {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        let config: JSONValue
        do { config = try JSONValue.parse(contentsOf: path) } catch {
            switch error {
            case .unreadable(_, let reason): throw SpecError(file: path, issues: [SpecIssue(path: "(file)", message: reason)])
            case .invalidJSON(_, let e): throw SpecError(file: path, issues: [SpecIssue(path: "(root)", message: "invalid JSON at line \(e.line), column \(e.column): \(e.message)")])
            }
        }
        var issues: [SpecIssue] = []
        func fail(_ p: String, _ m: String) { issues.append(SpecIssue(path: p, message: m)) }
        guard let top = config.objectValue else { throw SpecError(file: path, issues: [SpecIssue(path: "(root)", message: "expected a mergekit config object")]) }
        for key in top.keys where !supportedKeys.contains(key) {
            switch key {
            case "slices": fail(key, "slices (layer ranges) are not supported yet; list whole models under \"models\"")
            case "tokenizer_source", "tokenizer", "chat_template":
                fail(key, "mergeflow's models are byte-level and it copies no tokenizer; remove \"\(key)\"")
            default: fail(key, "unknown key (mergeflow reads: \(supportedKeys.sorted().joined(separator: ", ")))")
            }
        }
        for key in ["dtype", "out_dtype"] {
            if let d = top[key], d.stringValue != "float32" {
                fail(key, "only float32 is supported (mergeflow computes and writes float32), got \(d.serialized())")
            }
        }
        guard let method = top["merge_method"]?.stringValue else {
            fail("merge_method", "missing (one of \(MergeMethod.names.joined(separator: ", ")))")
            throw SpecError(file: path, issues: issues)
        }
        guard let m = MergeMethod.named(method) else {
            fail("merge_method", "unknown merge method \"\(method)\" (known: \(MergeMethod.names.joined(separator: ", ")))")
            throw SpecError(file: path, issues: issues)
        }
        var models: [(path: String, parameters: JSONObject)] = []
        if let list = top["models"]?.arrayValue {
            for (i, entry) in list.enumerated() {
                guard let o = entry.objectValue, let model = o["model"]?.stringValue else {
                    fail("models[\(i)]", "expected {\"model\": path, \"parameters\": {…}}"); continue
                }
                for key in o.keys where key != "model" && key != "parameters" { fail("models[\(i)].\(key)", "unknown key") }
                var parameters = JSONObject()
                if let p = o["parameters"] {
                    if let po = p.objectValue { parameters = po } else { fail("models[\(i)].parameters", "expected an object") }
                }
                models.append((model, parameters))
            }
        } else if top["models"] != nil {
            fail("models", "expected a list of {\"model\", \"parameters\"}")
        }
        var base = top["base_model"]?.stringValue
        if top["base_model"] != nil && base == nil { fail("base_model", "expected a path") }
        if let b = base {
            if m.base == .none {
                // A method without a base merges the base like any model (mergekit adds it).
                if !models.contains(where: { $0.path == b }) { models.append((b, JSONObject())) }
                base = nil
            } else {
                models.removeAll { $0.path == b }
            }
        }
        if models.isEmpty { fail("models", "no models to merge") }
        var shared = JSONObject()
        if let p = top["parameters"] {
            if let po = p.objectValue { shared = po } else { fail("parameters", "expected an object") }
        }
        if !issues.isEmpty { throw SpecError(file: path, issues: issues) }

        var params = JSONObject([("method", .string(method))])
        for (k, v) in shared {
            if k == "weight" {
                params["weights"] = .array(models.map { _ in v })
            } else {
                params[k] = v
            }
        }
        if models.contains(where: { !$0.parameters.isEmpty }) {
            params["model_parameters"] = .array(models.map { .object($0.parameters) })
        }
        return Parsed(models: models.map(\.path), base: base, mergeParams: params, directory: directory,
                      name: "merge:" + (path as NSString).lastPathComponent)
    }
}
