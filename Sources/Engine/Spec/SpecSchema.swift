import JSON

/// The JSON Schema (draft 2020-12) of pipeline specs, generated from an op registry.
///
/// Generated rather than written by hand so it cannot drift from the ops: every input,
/// parameter, range, choice and help text comes from the same `InputSpec`s and `ParamSpec`s
/// that `SpecParser` checks against. Editors use it for completion and early red squiggles;
/// `SpecParser` stays the authority, because some rules do not fit a schema (references to
/// existing nodes of the right kind, cycles, a parameter both in `params` and in `grid`,
/// selectors that match nothing, an op's cross-parameter checks).
///
/// A node is checked by an `if`/`then` chain on its `"op"` rather than a `oneOf`: once `op`
/// is typed, editors complete and check only that op's inputs and parameters, and errors
/// name the one sub-schema that applies instead of "matches none of 3 alternatives".
/// Output is deterministic: ops in name order, inputs and parameters in declaration order,
/// so the committed `pipelines/schema.json` only changes when an op does.
public enum SpecSchema {
    /// The id pattern `SpecParser.isValidNodeID` accepts.
    static let nodeIDPattern = "^[A-Za-z0-9_-]+$"

    /// A node id (or `command.output`), optionally followed by a selector. Looser than the parser (which also
    /// checks each selector part is `key=value` and that the node exists), never stricter.
    static let referencePattern = "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)?(\\[.+\\])?$"

    /// The schema of a spec whose nodes use the ops in `registry`.
    public static func make(registry: OpRegistry) -> JSONValue {
        var defs = JSONObject()
        defs["node"] = nodeSchema(registry: registry)
        defs["reference"] = [
            "description": "a node id, or a node id with a selector that keeps matching instances: \"models[seed=1]\"",
            "type": "string",
            "pattern": .string(referencePattern),
        ]
        defs["each"] = [
            "description": "run the node once per listed node (and per instance of it): {\"each\": [\"general\", \"mix\"]}",
            "type": "object",
            "required": ["each"],
            "properties": ["each": ["type": "array", "minItems": 1, "items": ["$ref": "#/$defs/reference"]]],
            "additionalProperties": false,
        ]
        for name in registry.names {
            let op = registry[name]!
            defs[definitionName(name)] = opSchema(name: name, summary: op.summary, produces: op.produces.rawValue,
                                                  inputs: op.inputs, params: op.params, anyInputs: op.acceptsAnyInputs)
        }
        return [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "mergeflow pipeline spec",
            "description": "A DAG of nodes; each node runs one op on its inputs, once per combination of its grid values.",
            "type": "object",
            "required": ["name", "nodes"],
            "properties": [
                "name": ["description": "the pipeline's name", "type": "string", "minLength": 1],
                "seed": [
                    "description": "the seed random ops use unless a node sets its own",
                    "type": "integer", "minimum": 0, "maximum": .number(Double(Int32.max)), "default": 0,
                ],
                "description": ["description": "what the pipeline is for", "type": "string"],
                "nodes": [
                    "description": "node id → node; ids use letters, digits, '_' and '-'",
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": ["pattern": .string(nodeIDPattern)],
                    "additionalProperties": ["$ref": "#/$defs/node"],
                ],
            ],
            "additionalProperties": false,
            "$defs": .object(defs),
        ]
    }

    /// A node's `resources`: what one instance needs of the machine (not part of its key).
    static let resourcesSchema: JSONValue = [
        "description": "what one instance needs while it runs; the local executor never starts more than the machine has",
        "type": "object",
        "properties": [
            "threads": ["description": "cores (default: the run's --threads divided by --jobs)", "type": "integer", "minimum": 1, "maximum": 4096],
            "memory_gb": ["description": "memory in GB, counted against --memory-gb (default: the machine's)", "type": "number", "minimum": 0],
            "gpus": ["description": "GPUs, picked from run --gpus and given to commands as CUDA_VISIBLE_DEVICES", "type": "integer", "minimum": 0, "maximum": 1024],
        ],
        "additionalProperties": false,
    ]

    /// `#/$defs/` key of an op's node schema.
    static func definitionName(_ op: String) -> String { "op-" + op }

    /// Any node: the keys every node may have, `op` one of the registry's, then the chosen
    /// op's schema by `if`/`then`. The `if` requires `op`, so a node without one is not
    /// checked against every op at once.
    static func nodeSchema(registry: OpRegistry) -> JSONValue {
        let dispatch: [JSONValue] = registry.names.map { name in
            [
                "if": ["required": ["op"], "properties": ["op": ["const": .string(name)]]],
                "then": ["$ref": .string("#/$defs/" + definitionName(name))],
            ]
        }
        return [
            "type": "object",
            "required": ["op"],
            "properties": [
                "op": [
                    "description": "the operation this node runs",
                    "type": "string",
                    "enum": .array(registry.names.map { .string($0) }),
                ],
                "inputs": ["description": "input name → node reference", "type": "object"],
                "params": ["description": "parameter → value", "type": "object"],
                "grid": ["description": "parameter → list of values to sweep; the node runs once per combination", "type": "object"],
                "resources": resourcesSchema,
                "description": ["description": "what this node is for", "type": "string"],
            ],
            "additionalProperties": false,
            "allOf": .array(dispatch),
        ]
    }

    /// A node running one op. Takes the op's parts rather than the op, so it reads as what it
    /// uses. A required parameter may be swept instead of set, so it is required in
    /// `params` *or* in `grid`, never in `params` alone.
    static func opSchema(name: String, summary: String, produces: String,
                         inputs: [InputSpec], params: [ParamSpec], anyInputs: Bool = false) -> JSONValue {
        var inputProperties = JSONObject()
        for input in inputs { inputProperties[input.name] = inputSchema(input) }
        var inputsSchema: JSONObject = [
            "description": .string(inputs.isEmpty ? "\(name) takes no inputs" : "input name → node reference"),
            "type": "object",
            "properties": .object(inputProperties),
        ]
        let requiredInputs = inputs.filter { !$0.optional }.map { JSONValue.string($0.name) }
        if !requiredInputs.isEmpty { inputsSchema["required"] = .array(requiredInputs) }
        // A command names its inputs freely: each is one node reference (or `each`).
        inputsSchema["additionalProperties"] = anyInputs ? ["anyOf": [["$ref": "#/$defs/reference"], ["$ref": "#/$defs/each"]]] : false

        var paramProperties = JSONObject(), gridProperties = JSONObject()
        for param in params {
            paramProperties[param.name] = paramSchema(param)
            gridProperties[param.name] = [
                "description": .string("values of \(param.name) to sweep: \(param.help)"),
                "type": "array",
                "minItems": 1,
                "items": typeSchema(param.type),
            ]
        }
        let paramsSchema: JSONValue = [
            "description": .string(params.isEmpty ? "\(name) takes no parameters" : "parameter → value"),
            "type": "object",
            "properties": .object(paramProperties),
            "additionalProperties": false,
        ]
        var gridSchema: JSONObject = [
            "description": "parameter → list of values to sweep; the node runs once per combination",
            "type": "object",
            "properties": .object(gridProperties),
            "additionalProperties": false,
        ]
        // `vars.lr`: one key of an object parameter.
        let objectParams = params.filter { $0.type.isAny && $0.defaultValue?.objectValue != nil }
        if !objectParams.isEmpty {
            var patterns = JSONObject()
            for param in objectParams {
                patterns["^\(param.name)\\."] = ["description": .string("values of one key of \(param.name) to sweep"), "type": "array", "minItems": 1]
            }
            gridSchema["patternProperties"] = .object(patterns)
        }

        var schema: JSONObject = [
            "description": .string("\(name): \(summary); produces a \(produces)"),
            "type": "object",
            "required": .array(requiredInputs.isEmpty ? ["op"] : ["op", "inputs"]),
            "properties": [
                "op": ["const": .string(name)],
                "inputs": .object(inputsSchema),
                "params": paramsSchema,
                "grid": .object(gridSchema),
                "resources": resourcesSchema,
                "description": ["description": "what this node is for", "type": "string"],
            ],
            "additionalProperties": false,
        ]
        let requiredParams: [JSONValue] = params.filter { $0.defaultValue == nil }.map { param in
            [
                "anyOf": [
                    ["required": ["params"], "properties": ["params": ["required": [.string(param.name)]]]],
                    ["required": ["grid"], "properties": ["grid": ["required": [.string(param.name)]]]],
                ],
            ]
        }
        if !requiredParams.isEmpty { schema["allOf"] = .array(requiredParams) }
        return .object(schema)
    }

    /// One input: a reference, or for a gathering input also a non-empty list of them.
    static func inputSchema(_ input: InputSpec) -> JSONValue {
        let description = JSONValue.string("\(input.help) (a \(input.kind)\(input.optional ? ", optional" : ""))")
        let reference: JSONValue = ["$ref": "#/$defs/reference"]
        switch input.arity {
        case .one:
            return ["description": description, "anyOf": [reference, ["$ref": "#/$defs/each"]]]
        case .many:
            return [
                "description": description,
                "anyOf": [reference, ["type": "array", "minItems": 1, "items": reference]],
            ]
        }
    }

    /// One parameter in `params`: its type, help text and default. A `null` default means
    /// "computed when absent" (e.g. the spec's seed), which is not a value to suggest.
    static func paramSchema(_ param: ParamSpec) -> JSONValue {
        var schema: JSONObject = ["description": .string(param.help)]
        if case .object(let typed) = typeSchema(param.type) {
            for (key, value) in typed { schema[key] = value }
        }
        if let value = param.defaultValue, !value.isNull { schema["default"] = value }
        return .object(schema)
    }

    /// The values a `ParamType` accepts, as `ParamType.problem(with:)` decides them.
    static func typeSchema(_ type: ParamType) -> JSONValue {
        switch type {
        case .number(let range):
            return numberSchema(range)
        case .integer(let range):
            var schema: JSONObject = ["type": "integer"]
            if let range {
                schema["minimum"] = .number(Double(range.lowerBound))
                schema["maximum"] = .number(Double(range.upperBound))
            }
            return .object(schema)
        case .string(let choices):
            return stringSchema(choices)
        case .bool:
            return ["type": "boolean"]
        case .numberList(let range):
            return ["type": "array", "minItems": 1, "items": numberSchema(range)]
        case .numberOrGradient(let range):
            return ["anyOf": [numberSchema(range), ["type": "array", "minItems": 1, "items": numberSchema(range)]]]
        case .stringList(let choices):
            return ["type": "array", "items": stringSchema(choices)]
        case .weights:
            return ["type": "object", "minProperties": 1, "additionalProperties": ["type": "number", "minimum": 0]]
        case .custom(let c):
            return c.schema
        case .any:
            return [:]
        }
    }

    private static func numberSchema(_ range: ClosedRange<Double>?) -> JSONValue {
        var schema: JSONObject = ["type": "number"]
        if let range {
            schema["minimum"] = .number(range.lowerBound)
            schema["maximum"] = .number(range.upperBound)
        }
        return .object(schema)
    }

    private static func stringSchema(_ choices: [String]?) -> JSONValue {
        var schema: JSONObject = ["type": "string"]
        if let choices { schema["enum"] = .array(choices.map { .string($0) }) }
        return .object(schema)
    }
}
