import Checkpoint
import Datasets
import Foundation
import Model
import JSON
@testable import Engine
@testable import Ops
import Store
import XCTest

/// The training ops' failure paths: bad data, a corrupt model, impossible settings. Each
/// fails its node with a message that says what is wrong, and publishes nothing.
final class TrainingOpsTests: XCTestCase {
    func harness(data: String) throws -> EngineHarness {
        let h = try EngineHarness(registry: OpRegistry.builtin)
        try data.write(to: h.folder.appendingPathComponent("data.jsonl"), atomically: true, encoding: .utf8)
        return h
    }

    static let goodData = (0..<20).map { i in
        #"{"id": "x\#(i)", "lang": "en", "objective": "general", "prompt": "say \#(i)", "answer": "\#(i)", "rejected": "no"}"#
    }.joined(separator: "\n")

    func failure(_ h: EngineHarness, _ spec: String, node: String) throws -> String {
        let (summary, _) = try h.run(spec)
        XCTAssertFalse(summary.succeeded)
        return summary.failed.first { $0.instance == node }?.error ?? "no failure of \(node): \(summary.failed)"
    }

    func testBadDatasetLinesFailTheNodeNamingEachLine() throws {
        let h = try harness(data: Self.goodData + "\n{\"lang\": \"en\"}\nnope\n")
        let error = try failure(h, #"{"name": "t", "nodes": {"d": {"op": "dataset", "params": {"path": "data.jsonl"}}}}"#, node: "d")
        XCTAssertTrue(error.contains("line 21: missing \"objective\""), error)
        XCTAssertTrue(error.contains("line 22: invalid JSON"), error)
        XCTAssertTrue(try h.store.artifacts(withPrefix: "").isEmpty, "nothing published")
    }

    func testMissingDataFileSaysWhere() throws {
        let h = try harness(data: "")
        let error = try failure(h, #"{"name": "t", "nodes": {"d": {"op": "dataset", "params": {"path": "missing.jsonl"}}}}"#, node: "d")
        XCTAssertTrue(error.contains(h.folder.appendingPathComponent("missing.jsonl").path) && error.contains("no such file"), error)
    }

    func testAMixOfAnAbsentObjectiveFailsBeforeTraining() throws {
        let h = try harness(data: Self.goodData)
        let spec = #"""
        {"name": "t", "seed": 1, "nodes": {
          "d": {"op": "dataset", "params": {"path": "data.jsonl"}},
          "m": {"op": "init"},
          "f": {"op": "finetune", "inputs": {"model": "m", "data": "d"}, "params": {"mix": {"safety": 1}, "steps": 2}}}}
        """#
        let error = try failure(h, spec, node: "f")
        XCTAssertTrue(error.contains("objective \"safety\"") && error.contains("objectives present: general"), error)
    }

    func testSequenceLongerThanTheContextIsRefused() throws {
        let h = try harness(data: Self.goodData)
        let spec = #"""
        {"name": "t", "seed": 1, "nodes": {
          "d": {"op": "dataset", "params": {"path": "data.jsonl"}},
          "p": {"op": "pretrain", "inputs": {"data": "d"}, "params": {"model": "gpt-tiny", "steps": 2, "seq_len": 65}}}}
        """#
        let error = try failure(h, spec, node: "p")
        XCTAssertTrue(error.contains("seq_len 65 exceeds the model's context of 64"), error)
    }

    /// A checkpoint with a NaN weight is refused when loaded, before any training step.
    func testCorruptCheckpointIsRejectedBeforeTraining() throws {
        let h = try harness(data: Self.goodData)
        let folder = h.folder.appendingPathComponent("bad").path
        let writer = try ModelArtifacts.writer(for: {
            let m = GPT2(config: GPT2Config.presets["gpt-tiny"]!)
            m.parameters.tensor(named: "transformer.h.1.mlp.c_fc.weight")![3] = .nan
            return m
        }(), store: h.store)
        try h.store.exportCheckpoint(try writer.publish().digest, to: folder)
        let spec = #"""
        {"name": "t", "seed": 1, "nodes": {
          "d": {"op": "dataset", "params": {"path": "data.jsonl"}},
          "m": {"op": "import", "params": {"path": "bad"}},
          "f": {"op": "finetune", "inputs": {"model": "m", "data": "d"}, "params": {"steps": 2}}}}
        """#
        let error = try failure(h, spec, node: "f")
        XCTAssertTrue(error.contains("transformer.h.1.mlp.c_fc.weight holds NaN or infinite values"), error)
    }

    func testUnsupportedConfigsAreNamed() throws {
        var config = GPT2Config.presets["gpt-tiny"]!.huggingFaceConfig.objectValue!
        config["activation_function"] = "relu"
        config["n_inner"] = 7
        XCTAssertThrowsError(try ModelArtifacts.config(from: .object(config), source: "x")) { e in
            XCTAssertTrue("\(e)".contains("activation_function \"relu\"") && "\(e)".contains("n_inner 7"), "\(e)")
        }
        XCTAssertThrowsError(try ModelArtifacts.config(from: nil, source: "y")) { e in XCTAssertTrue("\(e)".contains("no GPT-2 config"), "\(e)") }
    }

    /// DPO with data that has no rejected answers says so.
    func testDPOWithoutRejectedAnswersFails() throws {
        let h = try harness(data: Self.goodData.replacingOccurrences(of: #", "rejected": "no""#, with: ""))
        let spec = #"""
        {"name": "t", "seed": 1, "nodes": {
          "d": {"op": "dataset", "params": {"path": "data.jsonl"}},
          "m": {"op": "init"},
          "o": {"op": "dpo", "inputs": {"model": "m", "data": "d"}, "params": {"steps": 2}}}}
        """#
        let error = try failure(h, spec, node: "o")
        XCTAssertTrue(error.contains("rejected"), error)
    }

    /// Report rows: the evaluated model's id, seeds summarised away, renamed nodes lined up.
    func testReportVariantNamesDropSeedsAndFollowRenames() throws {
        let label = try JSONValue.parse(#"""
        {"id": "eval_dpo_ties[seed=2,weights=0.5,0.5]", "node": "eval_dpo_ties",
         "coordinates": {"sft.seed": 2, "dpo_ties.weights": [0.5, 0.5]},
         "inputs": {"model": ["dpo_ties[seed=2,weights=0.5,0.5]"], "data": ["test"]}}
        """#)
        XCTAssertEqual(ReportOp.variantName(label).0, "dpo_ties[weights=0.5,0.5]")
        XCTAssertEqual(ReportOp.variantName(label).1, "seed=2")
        XCTAssertEqual(ReportOp.variantName(label, rename: ["dpo_ties": "ties"]).0, "ties[weights=0.5,0.5]")
        let plain = try JSONValue.parse(#"{"id": "e", "node": "e", "coordinates": {}, "inputs": {"model": ["general"]}}"#)
        XCTAssertEqual(ReportOp.variantName(plain, rename: ["general": "base SFT"]).0, "base SFT")
    }
}
