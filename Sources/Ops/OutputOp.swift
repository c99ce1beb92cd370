import Engine
import JSON
import Store

/// `output`: one output of a `command` that declares several. Specs do not write it: a
/// reference `sft.model` to such a command adds an `output` node of that id, reading the
/// command's `command-outputs` result. Its result is the output's own artifact (the same
/// digest the command published), so what reads it is keyed on that output alone: a rerun
/// that changes another output leaves it cached.
enum OutputOp {
    static let operation = OpDefinition(
        name: "output", version: 1,
        summary: "one output of a command node that declares several (written node.output in a reference)",
        inputs: [InputSpec("outputs", kind: .commandOutputs, help: "the command node")],
        params: [
            ParamSpec("name", .string(), help: "the output's name, as in the command's params.outputs"),
            ParamSpec("kind", .string(choices: CommandOutputs.kinds), help: "its declared kind"),
        ],
        produces: .files,
        run: { context in try run(context) }
    )
    .producing { params in params["kind"]?.stringValue.map(CommandOutputs.artifactKind) }

    static func run(_ context: OpContext) throws -> ArtifactWriter {
        guard let bundle = context.inputs["outputs"]?.first else { throw OpError("output: no command result to read") }
        let name = context.string("name")!
        guard let listed = bundle.metadata.objectValue?["outputs"]?.objectValue?[name]?.objectValue,
              let hex = listed["artifact"]?.stringValue, let digest = Digest(hex: hex) else {
            throw OpError("output: the command's result lists no output \"\(name)\"")
        }
        let manifest = try context.store.manifest(digest)
        let writer = context.newArtifact(kind: manifest.kind, metadata: manifest.metadata)
        for entry in manifest.tensors { try writer.add(existing: entry) }
        return writer
    }
}
