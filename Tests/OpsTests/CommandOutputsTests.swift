import Foundation
import JSON
@testable import Engine
@testable import Ops
import Store
import XCTest

/// A `command` that declares several outputs: each is its own artifact, named `node.output`
/// in references, checked before any is published; mistakes in references are spec errors.
final class CommandOutputsTests: XCTestCase {
    static let data = (0..<4).map { #"{"id": "x\#($0)", "lang": "en", "objective": "general", "prompt": "say \#($0)", "answer": "\#($0)"}"# }
        .joined(separator: "\n") + "\n"

    /// Writes a dataset, a folder and metric rows (value = vars.v) unless told to skip one.
    static func producer(skip: String = "none") -> String {
        #"""
          "two": {"op": "command", "inputs": {"data": "data"},
                  "params": {"argv": ["sh", "-c", "[ \"$0\" = set ] || cp {inputs.data} {outputs.set}; [ \"$0\" = notes ] || { mkdir -p {outputs.notes} && echo hi > {outputs.notes}/a.txt; }; [ \"$0\" = rows ] || printf '{\"lang\": \"en\", \"objective\": \"general\", \"metric\": \"m\", \"value\": %s, \"n\": 1}\\n' \"$1\" > {outputs.rows}", "\#(skip)", "{vars.v}"],
                             "outputs": {"set": "dataset", "notes": "files", "rows": "metrics"}},
                  "grid": {"vars.v": [1, 2]}}
        """#
    }

    func harness() throws -> EngineHarness {
        let h = try EngineHarness(registry: OpRegistry.builtin)
        try Self.data.write(to: h.folder.appendingPathComponent("data.jsonl"), atomically: true, encoding: .utf8)
        return h
    }

    func testEachOutputIsItsOwnArtifactNamedNodeDotOutput() throws {
        let h = try harness()
        let spec = #"{"name": "t", "nodes": {"data": {"op": "dataset", "params": {"path": "data.jsonl"}},"# + Self.producer() + #"""
          ,"reader": {"op": "command", "inputs": {"rows": "two.rows", "notes": "two.notes"},
                     "params": {"argv": ["sh", "-c", "grep -q hi {inputs.notes}/a.txt && cp {inputs.rows} {outputs.copy}"], "outputs": {"copy": "metrics"}}},
          "report": {"op": "report", "inputs": {"scores": ["two.rows", "reader"]}}
        }}
        """#
        let (summary, g) = try h.run(spec)
        XCTAssertTrue(summary.succeeded, "\(summary.failed)")
        XCTAssertEqual(g.byNode["two.rows"]!.map { g.instances[$0].id }, ["two.rows[vars.v=1]", "two.rows[vars.v=2]"])
        XCTAssertEqual(g.byNode["reader"]!.map { g.instances[$0].id }, ["reader[vars.v=1]", "reader[vars.v=2]"])
        XCTAssertNil(g.byNode["two.set"], "an output nobody reads gets no node")
        // The command's result lists its outputs; `two.rows` is the listed artifact itself.
        let bundle = try h.store.manifest(summary.artifacts[g.byNode["two"]![1]]!)
        XCTAssertEqual(bundle.kind, .commandOutputs)
        let listed = try XCTUnwrap(bundle.metadata.objectValue?["outputs"]?.objectValue)
        XCTAssertEqual(listed.keys.sorted(), ["notes", "rows", "set"])
        let rows = summary.artifacts[g.byNode["two.rows"]![1]]!
        XCTAssertEqual(listed["rows"]?.objectValue?["artifact"]?.stringValue, rows.hex)
        let manifest = try h.store.manifest(rows)
        XCTAssertEqual(manifest.kind, .metrics)
        XCTAssertEqual(MetricRow.rows(inMetadata: manifest.metadata), [MetricRow(lang: "en", objective: "general", metric: "m", value: 2, n: 1)])
        XCTAssertEqual(try h.store.manifest(Digest(hex: listed["set"]!.objectValue!["artifact"]!.stringValue!)!).kind, .dataset)
        // Outputs stay cached with the command: a rerun computes nothing.
        let (again, _) = try h.run(spec)
        XCTAssertEqual(again.executed, 0)
    }

    func testAMissingOutputFailsTheNodeNamingItAndPublishesNoOutput() throws {
        let h = try harness()
        let spec = #"{"name": "t", "nodes": {"data": {"op": "dataset", "params": {"path": "data.jsonl"}},"# + Self.producer(skip: "notes") + "}}"
        let (summary, g) = try h.run(spec)
        XCTAssertEqual(summary.failed.count, 2)
        XCTAssertTrue(summary.failed[0].error.contains("output notes (files) is missing"), summary.failed[0].error)
        for i in g.byNode["two"]! {
            let key = try Action(instance: g.instances[i], inputDigests: [g.byNode["data"]![0]: summary.artifacts[g.byNode["data"]![0]]!],
                                 directory: h.folder.path, store: h.store).key
            for output in ["set", "notes", "rows"] {
                XCTAssertNil(try h.store.lookupAction(CommandOutputs.key(for: key, output: output)), "\(output) was published")
            }
            XCTAssertNil(try h.store.lookupAction(key))
        }
    }

    func testReferencesToOutputsAreCheckedAtTheirPaths() {
        let h = try! harness()
        let head = #"{"name": "t", "nodes": {"data": {"op": "dataset", "params": {"path": "data.jsonl"}},"# + Self.producer() + ","
        func problems(_ nodes: String) -> [String] { EngineHarness.problems { try h.graph(head + nodes + "}}") } }
        XCTAssertEqual(problems(#""r": {"op": "command", "inputs": {"x": "two"}, "params": {"argv": ["true"], "outputs": {"o": "files"}}}"#),
                       ["nodes.r.inputs.x: command two declares several outputs (set, notes, rows): name one, e.g. \"two.set\""])
        XCTAssertEqual(problems(#""r": {"op": "command", "inputs": {"x": "two.model"}, "params": {"argv": ["true"], "outputs": {"o": "files"}}}"#),
                       ["nodes.r.inputs.x: command two declares no output \"model\" (outputs: set, notes, rows)"])
        XCTAssertEqual(problems(#""r": {"op": "command", "inputs": {"x": "data.rows"}, "params": {"argv": ["true"], "outputs": {"o": "files"}}}"#),
                       ["nodes.r.inputs.x: \"data.rows\": only a command's outputs are named node.output, and data is a dataset node"])
        XCTAssertEqual(problems(#""r": {"op": "eval", "inputs": {"model": "two.rows", "data": ["two.set"]}}"#),
                       ["nodes.r.inputs.model: input \"model\" expects a checkpoint, but node \"two.rows\" (output) produces a metrics"])
        XCTAssertEqual(problems(#""r": {"op": "command", "params": {"argv": ["true"], "outputs": {}}}"#),
                       ["nodes.r.params.outputs: declare at least one output (name → kind: checkpoint, metrics, dataset, files)"])
        // One declared output: `node.output` is the node itself.
        let g = try! h.graph(head + #""one": {"op": "command", "params": {"argv": ["true"], "outputs": {"o": "files"}}},"#
                             + #""r": {"op": "command", "inputs": {"x": "one.o"}, "params": {"argv": ["true"], "outputs": {"p": "files"}}}}}"#)
        XCTAssertNil(g.byNode["one.o"])
        XCTAssertEqual(g.instances[g.byNode["r"]![0]].inputs[0].instances, g.byNode["one"]!)
    }
}
