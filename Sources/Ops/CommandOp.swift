import Engine
import Foundation
import JSON
import Store

/// `command`: runs an external program (a trainer, an evaluator) as a node. Its inputs are
/// materialised as files, its declared output is checked and imported, and its action key
/// covers argv, vars, env, the content of every file in `files`, the output declarations
/// and the input digests, never modification times.
enum CommandOp {
    static let operation = OpDefinition(
        name: "command", version: 1,
        summary: "run an external program on materialised inputs; import what it writes",
        inputs: [],
        params: [
            ParamSpec("argv", .any, help: "the program and its arguments; {inputs.X}, {outputs.X}, {vars.X} and {workdir} are replaced"),
            ParamSpec("files", .stringList(), default: .array([]),
                      help: "files the program reads (scripts, configs), relative to the spec: their content is part of the key"),
            ParamSpec("outputs", .any, help: "output name → kind: checkpoint (a folder), metrics or dataset (JSON Lines), files (a folder)"),
            ParamSpec("vars", .any, default: .object(JSONObject()), help: "name → value for {vars.X}; a grid sweeps vars.X"),
            ParamSpec("env", .any, default: .object(JSONObject()), help: "environment variables added to a minimal environment"),
            ParamSpec("timeout", .number(0...31_536_000), default: 0, help: "seconds before the program's process group is killed; 0 for none"),
        ],
        produces: Store.checkpointKind,
        externalFingerprint: { params, directory, store in
            .array(try (params["files"]?.arrayValue ?? []).map { item in
                let name = item.stringValue ?? ""
                let path = OpContext.resolve(name, in: directory)
                guard FileManager.default.isReadableFile(atPath: path) else { throw OpError("files: \(path) cannot be read") }
                return .array([.string(name), .string(try store.fileDigest(path: path).hex)])
            })
        },
        crossCheck: { params, inputs in problems(params, inputs: inputs) },
        run: { context in try run(context) }
    )
    .reusingWorkers()
    .acceptingAnyInputs()
    .declaring { params in params["outputs"]?.objectValue }
    .producing { params in
        guard let outputs = params["outputs"]?.objectValue, !outputs.isEmpty else { return nil }
        if outputs.count > 1 { return .commandOutputs }
        guard let kind = outputs[outputs.keys[0]]?.stringValue, CommandOutputs.kinds.contains(kind) else { return nil }
        return CommandOutputs.artifactKind(kind)
    }

    /// Problems of a command node's params, as (path under params, message).
    static func problems(_ params: JSONObject, inputs: Set<String>) -> [(String, String)] {
        var out: [(String, String)] = []
        let argv = params["argv"]?.arrayValue ?? []
        if params["argv"]?.arrayValue == nil || argv.isEmpty {
            out.append(("argv", "expected a non-empty list of strings: the program and its arguments"))
        }
        var outputNames = Set<String>()
        if let outputs = params["outputs"]?.objectValue {
            if outputs.isEmpty {
                out.append(("outputs", "declare at least one output (name → kind: \(CommandOutputs.kinds.joined(separator: ", ")))"))
            }
            for (name, kind) in outputs {
                outputNames.insert(name)
                if !SpecParser.isValidNodeID(name) { out.append(("outputs.\(name)", "output names use letters, digits, '_' and '-' only")) }
                if !CommandOutputs.kinds.contains(kind.stringValue ?? "") {
                    out.append(("outputs.\(name)", "expected one of \(CommandOutputs.kinds.joined(separator: ", ")), got \(ParamType.describe(kind))"))
                }
            }
        } else {
            out.append(("outputs", "expected an object of output name → kind (\(CommandOutputs.kinds.joined(separator: ", ")))"))
        }
        var varNames = Set<String>()
        if let vars = params["vars"]?.objectValue {
            for (name, value) in vars {
                varNames.insert(name)
                switch value {
                case .string, .number, .bool: break
                default: out.append(("vars.\(name)", "expected a string, number or boolean, got \(value.typeName)"))
                }
            }
        } else if let v = params["vars"] {
            out.append(("vars", "expected an object of name → value, got \(v.typeName)"))
        }
        if let env = params["env"]?.objectValue {
            for (name, value) in env where value.stringValue == nil {
                out.append(("env.\(name)", "expected a string, got \(value.typeName)"))
            }
        } else if let e = params["env"] {
            out.append(("env", "expected an object of name → string, got \(e.typeName)"))
        }
        for (i, file) in (params["files"]?.arrayValue ?? []).enumerated() where (file.stringValue ?? "").isEmpty {
            out.append(("files.\(i)", "expected a path relative to the spec"))
        }
        out += CommandTemplate.problems(argv: argv, inputs: inputs, outputs: outputNames, vars: varNames)
        return out
    }

    /// The environment a program sees: PATH, HOME and a UTF-8 locale from this process,
    /// the node's `env`, and its GPUs. Nothing else leaks in (recorded with the logs).
    static func environment(_ context: OpContext) -> [String: String] {
        let mine = ProcessInfo.processInfo.environment
        var env: [String: String] = ["LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"]
        env["PATH"] = mine["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        env["HOME"] = mine["HOME"] ?? "/"
        if let tmp = mine["TMPDIR"] { env["TMPDIR"] = tmp }
        for (k, v) in context.params["env"]?.objectValue ?? JSONObject() { env[k] = v.stringValue }
        if !context.gpus.isEmpty { env["CUDA_VISIBLE_DEVICES"] = context.gpus.map(String.init).joined(separator: ",") }
        return env
    }

    static func run(_ context: OpContext) throws -> ArtifactWriter {
        let workspace = CommandWorkspace(store: context.store, key: context.actionKey)
        try workspace.prepare()
        var inputPaths: [String: String] = [:], before: [String: Digest] = [:]
        for (name, manifests) in context.inputs {
            guard let manifest = manifests.first else { continue }
            let path = try CommandInputs.materialize(manifest, as: name, in: workspace.inputs, store: context.store)
            CommandWorkspace.makeReadOnly(path)
            inputPaths[name] = path
            before[name] = CommandInputs.fingerprint(path)
        }
        let outputs = context.params["outputs"]!.objectValue!
        let declared = outputs.keys.map { (name: $0, kind: outputs[$0]!.stringValue!) }
        var outputPaths: [String: String] = [:]
        for o in declared { outputPaths[o.name] = CommandOutputs.path(of: o.name, kind: o.kind, in: workspace.outputs) }
        let bindings = CommandTemplate.Bindings(inputs: inputPaths, outputs: outputPaths,
                                                vars: context.params["vars"]?.objectValue ?? JSONObject(), workdir: workspace.workdir)
        let argv = (context.params["argv"]?.arrayValue ?? []).map { CommandTemplate.expand($0.stringValue ?? "", bindings) }
        let environment = environment(context)
        let timeout = context.number("timeout") ?? 0

        let result: CommandProcess.Result
        do {
            result = try CommandProcess.run(argv, environment: environment, directory: context.directory, timeout: timeout)
        } catch {
            throw OpError("\(error)")
        }
        try? Data(result.stdout.text.utf8).write(to: URL(fileURLWithPath: workspace.stdoutLog))
        try? Data(result.stderr.text.utf8).write(to: URL(fileURLWithPath: workspace.stderrLog))
        let tail = stderrTail(result)
        if result.timedOut {
            throw OpError("timed out after \(CommandTemplate.render(.number(timeout))) s (params.timeout); its process group was killed\(tail)")
        }
        switch result.termination {
        case .exited(0): break
        case .exited(let code): throw OpError("\(argv[0]) exited with status \(code)\(tail)")
        case .signaled: throw OpError("\(argv[0]) \(result.termination)\(tail)")
        }
        for (name, path) in inputPaths where CommandInputs.fingerprint(path) != before[name] {
            throw OpError("the program wrote to its input \(name) (\(path)); materialised inputs are read-only")
        }
        // Every output is checked before any is published.
        let writers = try declared.map { try CommandOutputs.read($0.name, kind: $0.kind, at: outputPaths[$0.name]!, store: context.store) }
        let writer = declared.count == 1
            ? writers[0] : try CommandOutputs.publishSeveral(declared, writers, actionKey: context.actionKey, context: context)
        try CommandLog.publish(result, argv: argv, environment: environment, key: context.actionKey, store: context.store)
        context.onPublished { workspace.remove() }
        return writer
    }

    /// "; last lines of its stderr: …", or nothing.
    static func stderrTail(_ result: CommandProcess.Result) -> String {
        let lines = result.stderr.lastLines(20)
        return lines.isEmpty ? "" : "; last lines of its stderr:\n" + lines.map { "    " + $0 }.joined(separator: "\n")
    }
}
