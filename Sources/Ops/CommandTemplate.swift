import Engine
import JSON

/// The placeholders of a `command` node's argv: `{inputs.X}`, `{outputs.X}`, `{vars.X}` and
/// `{workdir}`. Other braces are left alone, so an argument may hold JSON.
enum CommandTemplate {
    /// What placeholders stand for when the program starts.
    struct Bindings {
        var inputs: [String: String]
        var outputs: [String: String]
        var vars: JSONObject
        var workdir: String
    }

    /// Each placeholder in `argument`, as (kind, name): ("inputs", "model"), ("workdir", "").
    static func placeholders(in argument: String) -> [(kind: String, name: String)] {
        var out: [(String, String)] = []
        var rest = Substring(argument)
        while let open = rest.firstIndex(of: "{") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else { break }
            let body = after[..<close]
            if body == "workdir" {
                out.append(("workdir", ""))
            } else if let dot = body.firstIndex(of: "."), ["inputs", "outputs", "vars"].contains(String(body[..<dot])) {
                out.append((String(body[..<dot]), String(body[body.index(after: dot)...])))
            }
            rest = after[after.index(after: close)...]
        }
        return out
    }

    /// `argument` with every placeholder replaced.
    static func expand(_ argument: String, _ b: Bindings) -> String {
        var text = argument.replacingOccurrences(of: "{workdir}", with: b.workdir)
        for (kind, name) in placeholders(in: argument) where kind != "workdir" {
            let value: String
            switch kind {
            case "inputs": value = b.inputs[name] ?? ""
            case "outputs": value = b.outputs[name] ?? ""
            default: value = b.vars[name].map(render) ?? ""
            }
            text = text.replacingOccurrences(of: "{\(kind).\(name)}", with: value)
        }
        return text
    }

    /// A var as the program reads it: strings bare, numbers in their shortest form.
    static func render(_ value: JSONValue) -> String {
        if let s = value.stringValue { return s }
        return value.canonicalString
    }

    /// Problems of an argv against the node's inputs, outputs and vars, as (path under
    /// params, message).
    static func problems(argv: [JSONValue], inputs: Set<String>, outputs: Set<String>, vars: Set<String>) -> [(String, String)] {
        var out: [(String, String)] = []
        for (i, item) in argv.enumerated() {
            guard let argument = item.stringValue else {
                out.append(("argv.\(i)", "expected a string, got \(item.typeName)"))
                continue
            }
            for (kind, name) in placeholders(in: argument) {
                switch kind {
                case "inputs" where !inputs.contains(name):
                    out.append(("argv.\(i)", "{inputs.\(name)}: the node has no input \"\(name)\"" + known(inputs)))
                case "outputs" where !outputs.contains(name):
                    out.append(("argv.\(i)", "{outputs.\(name)}: params.outputs declares no \"\(name)\"" + known(outputs)))
                case "vars" where !vars.contains(name):
                    out.append(("argv.\(i)", "{vars.\(name)}: params.vars has no \"\(name)\"" + known(vars)))
                default: break
                }
            }
        }
        return out
    }

    private static func known(_ names: Set<String>) -> String {
        names.isEmpty ? " (there are none)" : " (known: \(names.sorted().joined(separator: ", ")))"
    }
}
