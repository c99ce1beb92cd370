import Engine
import Ops
import JSON

let schemaCommand = Command(
    name: "schema",
    summary: "print the JSON Schema of pipeline specs",
    help: """
    usage: mergeflow schema

    Prints a JSON Schema (draft 2020-12) for spec files, generated from the built-in ops:
    each op's inputs, parameters (types, ranges, choices, defaults, help) and grid. Point
    your editor at it for completion and inline errors, e.g. in VS Code settings:
    "json.schemas": [{"fileMatch": ["pipelines/*.json"], "url": "./pipelines/schema.json"}].
    Specs cannot name it with a "$schema" key (unknown keys are rejected).

    The schema checks shape only; `mergeflow plan SPEC` is the full check (references,
    artifact kinds, cycles, selectors). pipelines/schema.json is this output; after
    changing an op, regenerate it with `mergeflow schema > pipelines/schema.json`.
    """,
    run: { words in
        let args = try Arguments(words)
        _ = try args.positionals()
        print(SpecSchema.make().serialized(pretty: true))
        return 0
    }
)
