import JSON
import XCTest
@testable import Engine
import EngineTestSupport

/// The engine's part of the JSON Schema: each `ParamType`'s schema agrees with the parser;
/// and the test validator (Tests/EngineTestSupport) itself. The built-in ops' schema and the
/// shipped pipelines: OpsTests.SchemaTests (these tests were split from it).
final class SpecSchemaTests: XCTestCase {
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
