import Engine
import Foundation
import JSON
import Merge
import Store

/// A mergekit configuration written as JSON (`merge_method`, `base_model`,
/// `models: [{model, parameters}]`, `parameters`, `dtype`), turned into a two-level spec:
/// an `import` per model folder and one `merge`. Running it through the engine caches the
/// result, so repeating a merge is instant.
public enum MergekitConfig {
    static let supportedKeys: Set<String> = ["merge_method", "base_model", "models", "slices", "parameters", "dtype", "out_dtype", "tokenizer_source"]

    /// A config read and checked: the folders to merge and the merge node's params.
    public struct Parsed {
        /// Model paths as written (relative to `directory`), base excluded.
        public let models: [String]
        public let base: String?
        /// The params of the equivalent `merge` node.
        public let mergeParams: JSONObject
        public let directory: String
        public let name: String
        /// mergekit's `dtype`: inputs are rounded to it before merging (nil: as stored).
        public let dtype: DType?
        /// The dtype written: `out_dtype`, else `dtype`, else nil (each tensor as its
        /// reference input's dtype, as mergekit keeps the dtype it loaded).
        public var outputDType: DType? { outDType ?? dtype }
        let outDType: DType?
        /// mergekit's `slices` (model names are paths as written), nil for a `models` config.
        public let slices: [SlicePlanner.Slice]?
        /// The config's shared `parameters`, parsed (for slices).
        public let sharedParameters: [String: MergeParameter]
        /// Where config.json and the tokenizer come from: `base_model` as written, else the
        /// first model (mergekit's donor).
        public let tokenizerDonor: String

        /// A path resolved against the config's folder.
        public func resolve(_ path: String) -> String { OpContext.resolve(path, in: directory) }
    }

    /// Reads the config at `path` and returns the equivalent spec document. Model paths are
    /// resolved against the config's folder.
    /// - Throws: `SpecError` with every problem: unknown keys, unsupported features, bad
    ///   parameters (checked by the same rules as a spec's merge node).
    public static func spec(from path: String) throws -> (document: JSONValue, directory: String) {
        let parsed = try parse(path)
        if parsed.slices != nil {
            throw SpecError(file: path, issues: [SpecIssue(path: "slices", message: "slices are merged with --direct only (the cached merge op takes whole models)")])
        }
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
            case "tokenizer", "chat_template":
                fail(key, "building a tokenizer is not supported: mergeflow copies the base model's tokenizer files as they are; remove \"\(key)\"")
            default: fail(key, "unknown key (mergeflow reads: \(supportedKeys.sorted().joined(separator: ", ")))")
            }
        }
        var dtypes: [String: DType] = [:]
        for key in ["dtype", "out_dtype"] {
            guard let d = top[key], !d.isNull else { continue }
            if let name = d.stringValue, let t = DType(mergekitName: name) { dtypes[key] = t } else {
                fail(key, "expected float32, bfloat16 or float16, got \(d.serialized())")
            }
        }
        if let source = top["tokenizer_source"], !source.isNull, source.stringValue != "base" {
            fail("tokenizer_source", source.stringValue == "union"
                 ? "\"union\" (merging vocabularies) is not supported: mergeflow copies the base model's tokenizer files; use \"base\" or leave it out"
                 : "only \"base\" is supported (mergeflow copies the base model's tokenizer files), got \(source.serialized())")
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
        let firstSource = top["slices"]?.arrayValue?.first?.objectValue?["sources"]?.arrayValue?.first?.objectValue?["model"]?.stringValue
        let donor = top["base_model"]?.stringValue ?? models.first?.path ?? firstSource ?? ""
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
        var slices: [SlicePlanner.Slice]?
        if let list = top["slices"] {
            if top["models"] != nil { fail("slices", "give either \"models\" or \"slices\", not both") }
            slices = parseSlices(list, base: top["base_model"]?.stringValue, fail: fail)
        } else if models.isEmpty { fail("models", "no models to merge") }
        var shared = JSONObject()
        if let p = top["parameters"] {
            if let po = p.objectValue { shared = po } else { fail("parameters", "expected an object") }
        }
        var sharedParameters: [String: MergeParameter] = [:]
        for (k, v) in shared {
            switch MergeParameter.parse(v) {
            case .success(let p): sharedParameters[k] = p
            case .failure(let e): fail("parameters.\(k)", e.message)
            }
        }
        if !issues.isEmpty { throw SpecError(file: path, issues: issues) }

        var params = JSONObject([("method", .string(method))])
        if let out = dtypes["out_dtype"] ?? dtypes["dtype"], out != .f32 { params["dtype"] = .string(out.torchName) }
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
                      name: "merge:" + (path as NSString).lastPathComponent, dtype: dtypes["dtype"], outDType: dtypes["out_dtype"], slices: slices,
                      sharedParameters: sharedParameters, tokenizerDonor: donor)
    }

    /// Reads `slices: [{sources: [{model, layer_range: [begin, end], parameters}], base_model,
    /// parameters}]`, reporting every problem through `fail`.
    static func parseSlices(_ value: JSONValue, base: String?, fail: (String, String) -> Void) -> [SlicePlanner.Slice] {
        func parameters(_ v: JSONValue?, _ path: String) -> [String: MergeParameter] {
            guard let v else { return [:] }
            guard let o = v.objectValue else { fail(path, "expected an object"); return [:] }
            var out: [String: MergeParameter] = [:]
            for (k, x) in o {
                switch MergeParameter.parse(x) {
                case .success(let p): out[k] = p
                case .failure(let e): fail("\(path).\(k)", e.message)
                }
            }
            return out
        }
        guard let list = value.arrayValue, !list.isEmpty else { fail("slices", "expected a non-empty list of {\"sources\": [...]}"); return [] }
        var slices: [SlicePlanner.Slice] = []
        for (s, item) in list.enumerated() {
            guard let o = item.objectValue, let sources = o["sources"]?.arrayValue, !sources.isEmpty else {
                fail("slices[\(s)]", "expected {\"sources\": [{\"model\", \"layer_range\"}, …]}"); continue
            }
            for key in o.keys where !["sources", "base_model", "parameters"].contains(key) { fail("slices[\(s)].\(key)", "unknown key") }
            var parsed: [SlicePlanner.Source] = []
            for (k, source) in sources.enumerated() {
                let path = "slices[\(s)].sources[\(k)]"
                guard let so = source.objectValue, let model = so["model"]?.stringValue else { fail(path, "expected {\"model\", \"layer_range\": [begin, end]}"); continue }
                for key in so.keys where !["model", "layer_range", "parameters"].contains(key) { fail("\(path).\(key)", "unknown key") }
                guard let range = so["layer_range"]?.arrayValue, range.count == 2, let a = range[0].intValue, let b = range[1].intValue, a >= 0, a < b else {
                    fail("\(path).layer_range", "expected [begin, end] with 0 ≤ begin < end"); continue
                }
                parsed.append(SlicePlanner.Source(model: model, layers: a..<b, parameters: parameters(so["parameters"], "\(path).parameters")))
            }
            slices.append(SlicePlanner.Slice(sources: parsed, base: o["base_model"]?.stringValue ?? base,
                                             parameters: parameters(o["parameters"], "slices[\(s)].parameters")))
        }
        return slices
    }
}
