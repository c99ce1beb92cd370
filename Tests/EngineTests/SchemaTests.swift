import Foundation
import XCTest
@testable import Engine
@testable import Ops
import JSON

/// The generated JSON Schema: the committed copy is current, and it agrees with
/// `SpecParser` on shipped, good and bad specs (the parser may reject more, never less).
final class SchemaTests: XCTestCase {
    /// Tests/EngineTests/SchemaTests.swift → the package root.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let validator = JSONSchemaValidator(schema: SpecSchema.make())

    /// What the parser says about an inline spec, as "path: message".
    func parserProblems(_ spec: JSONValue) -> [String] {
        var parser = SpecParser()
        do {
            _ = try parser.validate(spec, file: "inline", directory: "/tmp")
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
        do {
            return try JSONValue.parse(text)
        } catch {
            XCTFail("test spec is not JSON: \(error)\n\(text)", file: file, line: line)
            return nil
        }
    }

    // MARK: The committed schema

    func testCommittedSchemaIsCurrent() throws {
        let path = Self.root.appendingPathComponent("pipelines/schema.json").path
        let committed = try String(contentsOfFile: path, encoding: .utf8)
        let generated = SpecSchema.make().serialized(pretty: true) + "\n"
        XCTAssertTrue(committed == generated,
                      "pipelines/schema.json is out of date with the ops; regenerate it with `mergeflow schema > pipelines/schema.json`")
    }

    func testSchemaIsDeterministic() {
        XCTAssertEqual(SpecSchema.make().serialized(pretty: true), SpecSchema.make().serialized(pretty: true))
    }

    // MARK: Specs through both checkers

    func testShippedPipelinesPassParserAndSchema() throws {
        let folder = Self.root.appendingPathComponent("pipelines")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".json") && $0 != "schema.json" }.sorted()
            + (try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("examples").path))
            .filter { $0.hasSuffix(".json") }.sorted().map { "examples/" + $0 }
        XCTAssertFalse(files.isEmpty, "no pipelines/*.json to check")
        XCTAssertTrue(files.contains("examples/external-trainer.json"), "the examples are checked too")
        for file in files {
            let path = folder.appendingPathComponent(file).path
            XCTAssertNoThrow(try SpecParser.load(path), file)
            let value = try JSONValue.parse(contentsOf: path)
            XCTAssertEqual(validator.errors(in: value), [], "\(file) fails the schema")
        }
    }

    func testGoodSpecsPassBoth() {
        let good: [(String, String)] = [
            ("init only", #"{"name": "a", "seed": 0, "nodes": {"m": {"op": "init"}}}"#),
            ("everything set", #"""
            {"name": "b", "seed": 2147483647, "description": "all the keys",
             "nodes": {
               "src": {"op": "import", "params": {"path": "model.safetensors"}, "description": "from disk"},
               "rand": {"op": "init", "params": {"model": "gpt-tiny", "seed": 3}},
               "m": {"op": "merge", "inputs": {"models": ["src", "rand"], "base": "src"},
                     "params": {"method": "linear", "normalize": false}, "grid": {"weights": [[1, 2], [0.5, 0.5]]}}}}
            """#),
            ("required param swept in grid", #"""
            {"name": "c", "nodes": {"src": {"op": "import", "grid": {"path": ["a.safetensors", "b"]}},
                                    "m": {"op": "merge", "inputs": {"models": "src"}}}}
            """#),
            ("selectors and integral floats", #"""
            {"name": "d", "seed": 7.0, "nodes": {
               "models": {"op": "init", "grid": {"seed": [1, 2.0], "model": ["gpt-tiny"]}},
               "pair": {"op": "merge", "inputs": {"models": ["models[seed=1]", "models[seed=2]"], "base": "models[seed=1]"},
                        "grid": {"normalize": [true, false]}}}}
            """#),
        ]
        for (label, text) in good {
            guard let spec = parse(text) else { continue }
            XCTAssertEqual(parserProblems(spec), [], "parser rejects good spec: \(label)")
            XCTAssertEqual(validator.errors(in: spec), [], "schema rejects good spec: \(label)")
        }
    }

    func testBadSpecsAreRejectedByBoth() {
        let init_ = #"{"op": "init"}"#
        let bad: [(String, String)] = [
            ("unknown op", #"{"name": "x", "nodes": {"a": {"op": "frobnicate"}}}"#),
            ("missing op", #"{"name": "x", "nodes": {"a": {"params": {}}}}"#),
            ("unknown top-level key", #"{"name": "x", "nodes": {"a": \#(init_)}, "extra": 1}"#),
            ("missing name", #"{"nodes": {"a": \#(init_)}}"#),
            ("empty name", #"{"name": "", "nodes": {"a": \#(init_)}}"#),
            ("seed out of range", #"{"name": "x", "seed": -1, "nodes": {"a": \#(init_)}}"#),
            ("seed not an integer", #"{"name": "x", "seed": "7", "nodes": {"a": \#(init_)}}"#),
            ("no nodes", #"{"name": "x", "nodes": {}}"#),
            ("bad node id", #"{"name": "x", "nodes": {"bad id!": \#(init_)}}"#),
            ("unknown node key", #"{"name": "x", "nodes": {"a": {"op": "init", "colour": "red"}}}"#),
            ("wrong param type", #"{"name": "x", "nodes": {"a": {"op": "init", "params": {"model": 3}}}}"#),
            ("param not a choice", #"{"name": "x", "nodes": {"a": {"op": "init", "params": {"model": "gpt-huge"}}}}"#),
            ("fractional integer param", #"{"name": "x", "nodes": {"a": {"op": "init", "params": {"seed": 1.5}}}}"#),
            ("unknown param", #"{"name": "x", "nodes": {"a": {"op": "init", "params": {"layers": 2}}}}"#),
            ("missing required param", #"{"name": "x", "nodes": {"a": {"op": "import"}}}"#),
            ("empty grid list", #"{"name": "x", "nodes": {"a": {"op": "init", "grid": {"seed": []}}}}"#),
            ("grid not a list", #"{"name": "x", "nodes": {"a": {"op": "init", "grid": {"seed": 3}}}}"#),
            ("grid value of the wrong type", #"{"name": "x", "nodes": {"a": {"op": "init", "grid": {"seed": [1, "two"]}}}}"#),
            ("grid over a non-parameter", #"{"name": "x", "nodes": {"a": {"op": "init", "grid": {"layers": [1, 2]}}}}"#),
            ("missing required input", #"{"name": "x", "nodes": {"a": \#(init_), "m": {"op": "merge"}}}"#),
            ("missing required input in inputs", #"{"name": "x", "nodes": {"a": \#(init_), "m": {"op": "merge", "inputs": {"base": "a"}}}}"#),
            ("input list for a one-arity input", #"{"name": "x", "nodes": {"a": \#(init_), "m": {"op": "merge", "inputs": {"models": "a", "base": ["a"]}}}}"#),
            ("empty input list", #"{"name": "x", "nodes": {"a": \#(init_), "m": {"op": "merge", "inputs": {"models": []}}}}"#),
            ("input not a reference", #"{"name": "x", "nodes": {"a": \#(init_), "m": {"op": "merge", "inputs": {"models": 1}}}}"#),
            ("unknown input", #"{"name": "x", "nodes": {"a": \#(init_), "m": {"op": "merge", "inputs": {"models": "a", "extra": "a"}}}}"#),
            ("input to an op without inputs", #"{"name": "x", "nodes": {"a": \#(init_), "b": {"op": "init", "inputs": {"from": "a"}}}}"#),
            ("empty weights list", #"{"name": "x", "nodes": {"a": \#(init_), "m": {"op": "merge", "inputs": {"models": "a"}, "params": {"weights": []}}}}"#),
            ("spec not an object", #"[1]"#),
        ]
        for (label, text) in bad {
            guard let spec = parse(text) else { continue }
            XCTAssertFalse(parserProblems(spec).isEmpty, "parser accepts bad spec: \(label)")
            XCTAssertFalse(validator.errors(in: spec).isEmpty, "schema accepts bad spec: \(label)")
        }
    }

    /// The errors point at the offending value, so an editor underlines the right place.
    func testSchemaErrorsNameTheirPath() {
        guard let spec = parse(#"{"name": "x", "nodes": {"a": {"op": "init", "params": {"model": 3}}}}"#) else { return }
        XCTAssertTrue(validator.errors(in: spec).contains { $0.hasPrefix("nodes.a.params.model: expected string") },
                      "\(validator.errors(in: spec))")
    }

    /// Every `ParamType` case maps to a schema that accepts exactly what `problem(with:)`
    /// accepts, on values at and around each rule's edge.
    func testEveryParamTypeAgreesWithTheParser() {
        let cases: [(ParamType, [JSONValue])] = [
            (.number(0...1), [0, 0.5, 1, -0.1, 1.5, "0.5", true, nil]),
            (.number(), [1e10, -3, "x", [1]]),
            (.integer(1...5), [1, 3, 3.0, 5, 0, 6, 3.5, "3"]),
            (.integer(), [-7, 0, 2.5, false]),
            (.string(choices: ["a", "b"]), ["a", "b", "c", 1, nil]),
            (.string(), ["", "anything", 1, ["a"]]),
            (.bool, [true, false, 1, "true", nil]),
            (.numberList(0...1), [[0.1], [0, 1], [], [2], ["x"], 0.5, nil]),
            (.numberList(), [[-5, 5], [], [true]]),
            (.numberOrGradient(0...1), [0.5, [0, 1], [], 2, [0.5, 2], "0.5"]),
            (.stringList(choices: ["a", "b"]), [[], ["a"], ["a", "b"], ["c"], "a", [1]]),
            (.stringList(), [[], ["x", "y"], [1], "x"]),
            (.weights, [["a": 0.5], ["a": 0, "b": 2], [:], ["a": -1], ["a": "x"], [1], 1]),
            (.any, [nil, 1, "x", ["x": [1]], []]),
        ]
        for (type, values) in cases {
            let schema = JSONSchemaValidator(schema: SpecSchema.typeSchema(type))
            for value in values {
                let parserAccepts = type.problem(with: value) == nil
                let schemaErrors = schema.errors(in: value)
                XCTAssertEqual(schemaErrors.isEmpty, parserAccepts,
                               "\(type.summary) on \(value): parser \(parserAccepts ? "accepts" : "rejects"), schema says \(schemaErrors)")
            }
        }
    }

    // MARK: The validator itself

    func validate(_ schema: JSONValue, _ value: JSONValue) -> [String] {
        JSONSchemaValidator(schema: schema).errors(in: value)
    }

    func testValidatorCatchesTypeMismatches() {
        XCTAssertEqual(validate(["type": "string"], "x"), [])
        XCTAssertEqual(validate(["type": "string"], 1), ["(root): expected string, got number"])
        XCTAssertEqual(validate(["type": "integer"], 2.0), [])
        XCTAssertEqual(validate(["type": "integer"], 2.5), ["(root): expected integer, got number"])
        XCTAssertEqual(validate(["type": "boolean"], nil), ["(root): expected boolean, got null"])
        XCTAssertEqual(validate(["items": ["type": "number"]], [1, "2"]), ["[1]: expected number, got string"])
        XCTAssertEqual(validate(["minItems": 1], []), ["(root): expected at least 1 items, got 0"])
    }

    func testValidatorCatchesMissingRequiredAndUnknownMembers() {
        let schema: JSONValue = ["type": "object", "required": ["a", "b"], "properties": ["a": ["type": "number"]], "additionalProperties": false]
        XCTAssertEqual(validate(schema, ["a": 1, "b": 2]), ["b: unknown member"])
        XCTAssertEqual(validate(schema, [:]), ["a: missing required member", "b: missing required member"])
        XCTAssertEqual(validate(["additionalProperties": ["type": "number"]], ["x": 1, "y": "no"]), ["y: expected number, got string"])
        XCTAssertEqual(validate(["propertyNames": ["pattern": "^[a-z]+$"]], ["ok": 1, "Not ok": 2]).count, 1)
        XCTAssertEqual(validate(["minProperties": 1], [:]).count, 1)
    }

    func testValidatorCatchesEnumConstAndBounds() {
        XCTAssertEqual(validate(["enum": ["x", "y"]], "y"), [])
        XCTAssertEqual(validate(["enum": ["x", "y"]], "z"), [#"(root): "z" is not one of ["x","y"]"#])
        XCTAssertEqual(validate(["const": 1], 1.0), [])
        XCTAssertEqual(validate(["const": 1], 2).count, 1)
        XCTAssertEqual(validate(["minimum": 0, "maximum": 1], 0), [])
        XCTAssertEqual(validate(["minimum": 0, "maximum": 1], -1), ["(root): -1 is less than the minimum 0"])
        XCTAssertEqual(validate(["minimum": 0, "maximum": 1], 2), ["(root): 2 is more than the maximum 1"])
        XCTAssertEqual(validate(["minLength": 1], "").count, 1)
        XCTAssertEqual(validate(["pattern": "^a+$"], "aaa"), [])
        XCTAssertEqual(validate(["pattern": "^a+$"], "ab").count, 1)
    }

    func testValidatorFollowsRefsAndCombinators() {
        let schema: JSONValue = [
            "$defs": ["positive": ["type": "number", "minimum": 0]],
            "properties": ["n": ["$ref": "#/$defs/positive"]],
        ]
        XCTAssertEqual(validate(schema, ["n": 3]), [])
        XCTAssertEqual(validate(schema, ["n": -1]), ["n: -1 is less than the minimum 0"])
        XCTAssertEqual(validate(["$ref": "#/$defs/missing"], 1).count, 1)

        let either: JSONValue = ["anyOf": [["type": "string"], ["type": "array", "minItems": 1]]]
        XCTAssertEqual(validate(either, "x"), [])
        XCTAssertEqual(validate(either, [1]), [])
        XCTAssertEqual(validate(either, []).count, 1)
        XCTAssertEqual(validate(["oneOf": [["type": "number"], ["minimum": 0]]], 1).count, 1, "matches both")
        XCTAssertEqual(validate(["allOf": [["type": "number"], ["minimum": 0]]], -1).count, 1)

        let dispatch: JSONValue = ["if": ["properties": ["op": ["const": "a"]]], "then": ["required": ["x"]], "else": ["required": ["y"]]]
        XCTAssertEqual(validate(dispatch, ["op": "a", "x": 1]), [])
        XCTAssertEqual(validate(dispatch, ["op": "a"]), ["x: missing required member"])
        XCTAssertEqual(validate(dispatch, ["op": "b"]), ["y: missing required member"])
        XCTAssertEqual(validate(false, 1).count, 1)
        XCTAssertEqual(validate(true, 1), [])
    }

    /// A keyword the validator does not implement fails loudly instead of passing silently.
    func testValidatorRejectsUnsupportedKeywords() {
        XCTAssertEqual(validate(["maxLength": 3], "abcdef"), [#"(root): unsupported schema keyword "maxLength""#])
    }
}
