import Foundation
import XCTest
@testable import Engine
@testable import Ops
import JSON

/// The generated JSON Schema of the built-in ops: the committed copy is current, and it agrees
/// with `SpecParser` on shipped, good and bad specs (the parser may reject more, never less).
/// The schema of each parameter type and the test validator: EngineTests.SpecSchemaTests.
final class SchemaTests: XCTestCase {
    /// Tests/OpsTests/SchemaTests.swift → the package root.
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
}
