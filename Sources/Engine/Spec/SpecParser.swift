import Foundation
import JSON
import Store

/// Parses and validates a spec against the ops in a registry, collecting every problem
/// with its JSON path: unknown keys, unknown ops, parameters of the wrong type or range,
/// missing or unknown inputs, references to missing nodes, inputs of the wrong artifact
/// kind, grids over non-parameters or with no values, and cycles.
public struct SpecParser {
    let registry: OpRegistry
    private var issues: [SpecIssue] = []
    /// Paths of references already reported (a bad `node.output`), not to report twice.
    private var reportedReferences = Set<String>()

    public init(registry: OpRegistry) {
        self.registry = registry
    }

    /// Reads and validates the spec file at `path`.
    public static func load(_ path: String, registry: OpRegistry) throws(SpecError) -> Spec {
        let value: JSONValue
        do {
            value = try JSONValue.parse(contentsOf: path)
        } catch {
            switch error {
            case .unreadable(_, let reason): throw SpecError(file: path, issues: [SpecIssue(path: "(file)", message: reason)])
            case .invalidJSON(_, let syntax):
                throw SpecError(file: path, issues: [SpecIssue(path: "(root)", message: "invalid JSON at line \(syntax.line), column \(syntax.column): \(syntax.message)")])
            }
        }
        var parser = SpecParser(registry: registry)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        return try parser.validate(value, file: path, directory: directory)
    }

    /// Validates an already-parsed document.
    public mutating func validate(_ document: JSONValue, file: String, directory: String) throws(SpecError) -> Spec {
        issues = []
        reportedReferences = []
        let root = JSONPath.root
        guard let top = document.objectValue else {
            throw SpecError(file: file, issues: [SpecIssue(path: "(root)", message: "expected an object with \"name\", \"seed\" and \"nodes\", got \(document.typeName)")])
        }
        for key in top.keys where !["name", "seed", "nodes", "description"].contains(key) {
            fail(root.appending(key), "unknown key (allowed: name, seed, nodes, description)")
        }
        var name = ""
        if let n = top["name"] {
            if let s = n.stringValue, !s.isEmpty {
                if let problem = SpecName.problem(s) { fail(root.appending("name"), problem) } else { name = s }
            } else {
                fail(root.appending("name"), "expected a non-empty string, got \(ParamType.describe(n))")
            }
        } else {
            fail(root.appending("name"), "missing (every spec has a name)")
        }
        var seed = 0
        if let s = top["seed"] {
            if let n = s.intValue, n >= 0, n <= Int(Int32.max) { seed = n } else { fail(root.appending("seed"), "expected an integer in [0, 2147483647], got \(ParamType.describe(s))") }
        }
        if let d = top["description"], d.stringValue == nil { fail(root.appending("description"), "expected a string") }
        var nodes: [NodeSpec] = []
        if let n = top["nodes"] {
            if let object = n.objectValue {
                if object.isEmpty { fail(root.appending("nodes"), "expected at least one node") }
                for (id, value) in object {
                    if let node = parseNode(id: id, value, path: root.appending("nodes").appending(id)) { nodes.append(node) }
                }
            } else {
                fail(root.appending("nodes"), "expected an object of node id → node, got \(n.typeName)")
            }
        } else {
            fail(root.appending("nodes"), "missing")
        }
        nodes = resolveOutputs(nodes)
        checkReferences(nodes)
        checkCycles(nodes)
        if !issues.isEmpty { throw SpecError(file: file, issues: issues) }
        return Spec(name: name, seed: seed, nodes: nodes, digest: SHA256.hash(document.canonicalData()), directory: directory)
    }

    private mutating func fail(_ path: JSONPath, _ message: String) {
        issues.append(SpecIssue(path: path.description, message: message))
    }

    /// `base` followed by the parts of "outputs.m" or "argv.2" (a cross-check's path).
    static func appending(dotted: String, to base: JSONPath) -> JSONPath {
        dotted.split(separator: ".").reduce(base) { path, part in Int(part).map { path.appending($0) } ?? path.appending(String(part)) }
    }

    public static func isValidNodeID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2d
        }
    }

    private mutating func parseNode(id: String, _ value: JSONValue, path: JSONPath) -> NodeSpec? {
        if !SpecParser.isValidNodeID(id) { fail(path, "node ids use letters, digits, '_' and '-' only") }
        guard let object = value.objectValue else { fail(path, "expected an object with \"op\", got \(value.typeName)"); return nil }
        for key in object.keys where !["op", "inputs", "params", "grid", "resources", "description"].contains(key) {
            fail(path.appending(key), "unknown key (allowed: op, inputs, params, grid, resources, description)")
        }
        if let r = object["resources"] {
            for (key, message) in Resources.problems(r) { fail(key.isEmpty ? path.appending("resources") : path.appending("resources").appending(key), message) }
        }
        guard let opName = object["op"]?.stringValue else {
            fail(path.appending("op"), object["op"] == nil ? "missing" : "expected a string")
            return nil
        }
        guard let op = registry[opName] else {
            fail(path.appending("op"), "unknown op \"\(opName)\" (known: \(registry.names.joined(separator: ", ")))")
            return nil
        }
        // Inputs.
        var inputs: [(name: String, references: [InputReference], isList: Bool)] = []
        var each = Set<String>()
        let inputObject: JSONObject
        if let i = object["inputs"] {
            if let o = i.objectValue { inputObject = o } else { fail(path.appending("inputs"), "expected an object of input name → node reference"); inputObject = JSONObject() }
        } else {
            inputObject = JSONObject()
        }
        for (name, ref) in inputObject {
            let p = path.appending("inputs").appending(name)
            guard let spec = op.input(name) else {
                fail(p, "op \(op.name) has no input \"\(name)\"" + (op.inputs.isEmpty ? " (it takes none)" : " (inputs: \(op.inputs.map(\.name).joined(separator: ", ")))"))
                continue
            }
            var refs: [InputReference] = []
            var isList = false
            if let object = ref.objectValue {
                // `{"each": ["general", "mix"]}`: one instance per listed node.
                guard let listed = parseEach(object, input: name, arity: spec.arity, path: p) else { continue }
                refs = listed
                each.insert(name)
            } else if let s = ref.stringValue {
                if let r = parseReference(s, path: p) { refs.append(r) }
            } else if let list = ref.arrayValue {
                isList = true
                if spec.arity == .one { fail(p, "input \"\(name)\" takes one node reference, got a list"); continue }
                if list.isEmpty { fail(p, "expected at least one node reference") }
                for (k, item) in list.enumerated() {
                    guard let s = item.stringValue else { fail(p.appending(k), "expected a node id, got \(item.typeName)"); continue }
                    if let r = parseReference(s, path: p.appending(k)) { refs.append(r) }
                }
            } else {
                fail(p, (spec.arity == .one ? "expected a node id or {\"each\": [node ids]}" : "expected a node id or a list of node ids") + ", got \(ref.typeName)")
                continue
            }
            inputs.append((name, refs, isList))
        }
        for spec in op.inputs where !spec.optional && inputObject[spec.name] == nil {
            fail(path.appending("inputs").appending(spec.name), "missing (\(op.name) needs a \(spec.kind): \(spec.help))")
        }
        // Params.
        var params = JSONObject()
        if let p = object["params"] {
            if let o = p.objectValue { params = o } else { fail(path.appending("params"), "expected an object, got \(p.typeName)") }
        }
        for (name, value) in params {
            let p = path.appending("params").appending(name)
            guard let spec = op.param(name) else {
                fail(p, "op \(op.name) has no parameter \"\(name)\" (parameters: \(op.params.map(\.name).joined(separator: ", ")))")
                continue
            }
            if let problem = spec.type.problem(with: value) { fail(p, problem) }
        }
        // Grid.
        var grid: [(param: String, values: [JSONValue])] = []
        if let g = object["grid"] {
            if let o = g.objectValue {
                for (name, values) in o {
                    let p = path.appending("grid").appending(name)
                    // `vars.lr`: one key of an object parameter (a command's vars).
                    let dotted = name.split(separator: ".", maxSplits: 1).map(String.init)
                    guard let spec = op.param(dotted[0]), dotted.count == 1 || (spec.type.isAny && !dotted[1].isEmpty) else {
                        fail(p, "grid over \"\(name)\", which is not a parameter of \(op.name)")
                        continue
                    }
                    if dotted.count == 2, params[dotted[0]]?.objectValue?[dotted[1]] != nil {
                        fail(p, "\"\(name)\" is both in params.\(dotted[0]) and in grid; keep one")
                    }
                    if params[name] != nil { fail(p, "\"\(name)\" is both in params and in grid; keep one") }
                    guard let list = values.arrayValue else { fail(p, "expected a list of values to sweep, got \(values.typeName)"); continue }
                    if list.isEmpty { fail(p, "empty grid: give at least one value"); continue }
                    // Equal values (1 and 1.0 are equal) would make instances with one id.
                    var firstIndex: [String: Int] = [:]
                    for (k, v) in list.enumerated() {
                        if let problem = spec.type.problem(with: v) { fail(p.appending(k), problem) }
                        let canonical = v.canonicalString
                        if let first = firstIndex[canonical] {
                            fail(p.appending(k), "\(canonical) repeats the value at index \(first); each grid value must be different")
                        } else {
                            firstIndex[canonical] = k
                        }
                    }
                    grid.append((name, list))
                }
            } else {
                fail(path.appending("grid"), "expected an object of parameter → list of values, got \(g.typeName)")
            }
        }
        for spec in op.params where spec.defaultValue == nil && params[spec.name] == nil && !grid.contains(where: { $0.param == spec.name }) {
            fail(path.appending("params").appending(spec.name), "missing (required: \(spec.help))")
        }
        if let check = op.crossCheck, grid.isEmpty {
            for (param, message) in check(Instance.applyDefaults(params, op: op), Set(inputs.map(\.name))) {
                fail(SpecParser.appending(dotted: param, to: path.appending("params")), message)
            }
        }
        return NodeSpec(id: id, op: op.name, inputs: inputs, params: params, grid: grid, resources: object["resources"]?.objectValue, each: each)
    }

    /// The references of an input written `{"each": [...]}`, or nil after reporting why not.
    /// Only inputs that take one node fan out this way (a list input already gathers), and a
    /// reference may be listed once (two would make instances with the same id).
    private mutating func parseEach(_ object: JSONObject, input name: String, arity: InputSpec.Arity, path p: JSONPath) -> [InputReference]? {
        var ok = true
        for key in object.keys where key != "each" { fail(p.appending(key), "unknown key (allowed: each)"); ok = false }
        guard let value = object["each"] else { fail(p.appending("each"), "missing (write {\"each\": [node ids]} to run once per node)"); return nil }
        if arity == .many {
            fail(p, "input \"\(name)\" takes a list and gathers what it is given; \"each\" fans out only inputs that take one node")
            return nil
        }
        guard let list = value.arrayValue else { fail(p.appending("each"), "expected a list of node references, got \(value.typeName)"); return nil }
        if list.isEmpty { fail(p.appending("each"), "expected at least one node reference"); return nil }
        var refs: [InputReference] = []
        var firstIndex: [String: Int] = [:]
        for (k, item) in list.enumerated() {
            guard let s = item.stringValue else { fail(p.appending("each").appending(k), "expected a node id, got \(item.typeName)"); ok = false; continue }
            guard let r = parseReference(s, path: p.appending("each").appending(k)) else { ok = false; continue }
            if let first = firstIndex[r.description] {
                fail(p.appending("each").appending(k), "\"\(r)\" repeats the reference at index \(first); list each node once")
                ok = false
                continue
            }
            firstIndex[r.description] = k
            refs.append(r)
        }
        return ok ? refs : nil
    }

    /// `node` or `node[key=value,…]`; values are JSON where they parse, else strings.
    private mutating func parseReference(_ text: String, path: JSONPath) -> InputReference? {
        guard let open = text.firstIndex(of: "[") else {
            return InputReference(node: text, selector: [])
        }
        guard text.hasSuffix("]") else { fail(path, "selector \"\(text)\" must end with ']'"); return nil }
        let node = String(text[..<open])
        let body = text[text.index(after: open)..<text.index(before: text.endIndex)]
        var selector: [InputReference.Selector] = []
        for part in SpecParser.splitTopLevel(String(body)) {
            guard let eq = part.firstIndex(of: "="), eq != part.startIndex else {
                fail(path, "selector part \"\(part)\" is not key=value"); return nil
            }
            let key = String(part[..<eq]).trimmingCharacters(in: .whitespaces)
            let raw = String(part[part.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
            if selector.contains(where: { $0.key == key }) {
                fail(path, "selector \"\(text)\" gives \"\(key)\" twice (an instance has one value per parameter)"); return nil
            }
            let parsed = try? JSONValue.parse(raw)
            // A bare word is a string (lang=en), but something that starts like a number
            // and is not one (seed=01) would silently match nothing.
            if parsed == nil, let first = raw.first, first.isNumber || first == "-" {
                fail(path, "selector value \"\(raw)\" for \"\(key)\" is not a valid number (quote it to mean a string)"); return nil
            }
            selector.append(.init(key: key, value: parsed ?? .string(raw)))
        }
        return InputReference(node: node, selector: selector)
    }

    /// Splits on commas outside brackets and quotes.
    static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = [], current = "", depth = 0, quoted = false
        for c in text {
            if c == "\"" { quoted.toggle() }
            if !quoted && (c == "[" || c == "{") { depth += 1 }
            if !quoted && (c == "]" || c == "}") { depth -= 1 }
            if c == "," && depth == 0 && !quoted { parts.append(current); current = "" } else { current.append(c) }
        }
        parts.append(current)
        return parts
    }

    /// References to one output of a command, `sft.model`: to the command itself when it
    /// declares only that output; else to an `output` node of that id (added once), which
    /// reads the command's result and gives the output's artifact. A dotted reference to
    /// anything else, or to an output the command does not declare, is reported here.
    private mutating func resolveOutputs(_ nodes: [NodeSpec]) -> [NodeSpec] {
        var byID: [String: NodeSpec] = [:]
        for n in nodes { byID[n.id] = n }
        var added: [NodeSpec] = [], addedIDs = Set<String>()
        let resolved = nodes.map { node -> NodeSpec in
            var changed = false
            let inputs = node.inputs.map { input -> (name: String, references: [InputReference], isList: Bool) in
                let refs = input.references.enumerated().map { k, ref -> InputReference in
                    guard let (target, output) = SpecParser.splitOutput(ref.node) else { return ref }
                    var p = JSONPath.root.appending("nodes").appending(node.id).appending("inputs").appending(input.name)
                    if input.isList { p = p.appending(k) }
                    if node.each.contains(input.name) { p = p.appending("each").appending(k) }
                    guard let command = byID[target] else { return ref }  // reported as a missing node
                    guard let outputs = registry[command.op]?.declaredOutputs?(command.params) else {
                        fail(p, "\"\(ref.node)\": only a command's outputs are named node.output, and \(target) is a \(command.op) node")
                        reportedReferences.insert(p.description)
                        return ref
                    }
                    guard let kind = outputs[output]?.stringValue else {
                        fail(p, "command \(target) declares no output \"\(output)\" (outputs: \(outputs.keys.joined(separator: ", ")))")
                        reportedReferences.insert(p.description)
                        return ref
                    }
                    changed = true
                    if outputs.count == 1 { return InputReference(node: target, selector: ref.selector) }
                    if addedIDs.insert(ref.node).inserted {
                        added.append(NodeSpec(id: ref.node, op: OpRegistry.outputOpName,
                                              inputs: [("outputs", [InputReference(node: target, selector: [])], false)],
                                              params: JSONObject([("name", .string(output)), ("kind", .string(kind))]), grid: []))
                    }
                    return ref
                }
                return (input.name, refs, input.isList)
            }
            guard changed else { return node }
            return NodeSpec(id: node.id, op: node.op, inputs: inputs, params: node.params, grid: node.grid, resources: node.resources, each: node.each)
        }
        return resolved + added
    }

    /// `node.output` → (node, output), for a reference's node part; nil without a dot.
    static func splitOutput(_ node: String) -> (node: String, output: String)? {
        guard let dot = node.firstIndex(of: ".") else { return nil }
        return (String(node[..<dot]), String(node[node.index(after: dot)...]))
    }

    /// Every reference names a node, and that node produces the artifact kind the input wants.
    private mutating func checkReferences(_ nodes: [NodeSpec]) {
        var byID: [String: NodeSpec] = [:]
        for n in nodes { byID[n.id] = n }
        for node in nodes {
            guard let op = registry[node.op] else { continue }
            for input in node.inputs {
                guard let spec = op.input(input.name) else { continue }
                for (k, ref) in input.references.enumerated() {
                    var p = JSONPath.root.appending("nodes").appending(node.id).appending("inputs").appending(input.name)
                    if input.isList { p = p.appending(k) }
                    if node.each.contains(input.name) { p = p.appending("each").appending(k) }
                    if reportedReferences.contains(p.description) { continue }
                    guard let target = byID[ref.node] else {
                        fail(p, "reference to a missing node \"\(ref.node)\"")
                        continue
                    }
                    guard let targetOp = registry[target.op] else { continue }
                    let produced = targetOp.kind(producedWith: target.params)
                    if produced == .commandOutputs && spec.kind != .commandOutputs {
                        let names = target.params["outputs"]?.objectValue?.keys ?? []
                        fail(p, "command \(ref.node) declares several outputs (\(names.joined(separator: ", "))): name one, e.g. \"\(ref.node).\(names.first ?? "x")\"")
                        continue
                    }
                    if spec.kind != InputSpec.anyKind && produced != spec.kind {
                        fail(p, "input \"\(input.name)\" expects a \(spec.kind), but node \"\(ref.node)\" (\(target.op)) produces a \(produced)")
                    }
                    if ref.node == node.id { fail(p, "a node cannot take its own output") }
                }
            }
        }
    }

    /// Reports each cycle once, naming its nodes in order.
    private mutating func checkCycles(_ nodes: [NodeSpec]) {
        var edges: [String: [String]] = [:]
        let ids = Set(nodes.map(\.id))
        for n in nodes { edges[n.id] = n.inputs.flatMap { $0.references.map(\.node) }.filter { ids.contains($0) && $0 != n.id } }
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var stack: [String] = []
        var reported = Set<String>()
        func visit(_ id: String) {
            state[id] = 1
            stack.append(id)
            for next in edges[id] ?? [] {
                if state[next] == 1 {
                    let cycle = Array(stack[stack.lastIndex(of: next)!...]) + [next]
                    let key = Set(cycle).sorted().joined(separator: ",")
                    if reported.insert(key).inserted {
                        // Reported at the first node of the cycle, as it reads in the file.
                        fail(JSONPath.root.appending("nodes").appending(next).appending("inputs"),
                             "cycle: " + cycle.joined(separator: " → "))
                    }
                } else if state[next] == nil {
                    visit(next)
                }
            }
            stack.removeLast()
            state[id] = 2
        }
        for n in nodes where state[n.id] == nil { visit(n.id) }
    }
}
