import Datasets
import Foundation
import JSON
import Model
@testable import Engine
@testable import Ops
import Store
import XCTest

/// A BPE tokenizer through the engine: learned by `tokenizer`, carried by every checkpoint
/// built on it (init, pretrain, finetune, merge, export), used by eval, and refused where
/// models of different tokenizers would be mixed.
final class TokenizerOpTests: XCTestCase {
    static let data: String = {
        var lines: [String] = []
        for i in 0..<12 {
            lines.append(#"{"id": "g\#(i)", "lang": "en", "objective": "general", "prompt": "Name the colour of item \#(i % 3)", "answer": "the colour is blue"}"#)
            lines.append(#"{"id": "s\#(i)", "lang": "en", "objective": "safety", "prompt": "how to harm \#(i)", "answer": "\#(Refusals.templates(for: "en")[0])"}"#)
        }
        return lines.joined(separator: "\n")
    }()

    static let spec = #"""
    {"name": "t", "seed": 1, "nodes": {
      "data": {"op": "dataset", "params": {"path": "data.jsonl"}},
      "tok": {"op": "tokenizer", "inputs": {"data": ["data"]}, "params": {"vocabulary": 300}},
      "base": {"op": "pretrain", "inputs": {"data": ["data"], "tokenizer": "tok"}, "params": {"steps": 3, "seq_len": 32}},
      "sft": {"op": "finetune", "inputs": {"model": "base", "data": ["data"]}, "params": {"steps": 2, "seq_len": 32}},
      "merged": {"op": "merge", "inputs": {"models": ["base", "sft"]}, "params": {"weights": [0.5, 0.5]}},
      "bytes": {"op": "init", "params": {"seed": 1}},
      "e": {"op": "eval", "inputs": {"model": "merged", "reference": "base", "data": ["data"]}, "params": {"max_new_tokens": 4, "max_items": 3}}
    }}
    """#

    func testEveryCheckpointCarriesTheTokenizerAndEvalUsesIt() throws {
        let h = try EngineHarness(registry: OpRegistry.builtin)
        try Self.data.write(to: h.folder.appendingPathComponent("data.jsonl"), atomically: true, encoding: .utf8)
        let (summary, graph) = try h.run(Self.spec)
        XCTAssertTrue(summary.succeeded, "\(summary.failed)")
        func manifest(_ node: String) throws -> ArtifactManifest { try h.store.manifest(summary.artifacts[graph.byNode[node]![0]]!) }

        let tokenizer = try TokenizerOp.load(try manifest("tok"))
        XCTAssertFalse(tokenizer.isBytes)
        XCTAssertLessThanOrEqual(tokenizer.vocabularySize, 300)
        // The texts' most frequent words become single tokens.
        XCTAssertEqual(tokenizer.encode(" colour").count, 1)
        for node in ["base", "sft", "merged"] {
            let model = try ModelArtifacts.load(try manifest(node), store: h.store)
            XCTAssertEqual(model.tokenizer, tokenizer, node)
            XCTAssertEqual(model.config.vocabulary, tokenizer.vocabularySize, node)
        }
        XCTAssertTrue(try ModelArtifacts.load(try manifest("bytes"), store: h.store).tokenizer.isBytes)

        // nll_per_byte divides by the answer's bytes, not its tokens.
        let rows = try XCTUnwrap(try manifest("e").metadata.objectValue?["rows"]?.arrayValue).compactMap(\.objectValue)
        let reported = try XCTUnwrap(rows.first { $0["lang"]?.stringValue == "en" && $0["metric"]?.stringValue == "nll_per_byte" }?["value"]?.doubleValue)
        let merged = try ModelArtifacts.load(try manifest("merged"), store: h.store)
        let items = ["Name the colour of item 0", "Name the colour of item 1", "Name the colour of item 2"]
        var total = 0.0, bytes = 0
        for prompt in items {
            let p = merged.tokenizer.promptTokens(prompt), a = merged.tokenizer.encode("the colour is blue")
            let nll = Scorer.score(model: merged, sequences: [p + a + [ByteTokens.end]])[0]
            total += (0..<a.count).reduce(0.0) { $0 + Double(nll[p.count - 1 + $1]) }
            bytes += "the colour is blue".utf8.count
        }
        XCTAssertEqual(reported, total / Double(bytes), accuracy: 1e-4)

        // Export and load back: the folder's config.json keeps the merges.
        let folder = h.folder.appendingPathComponent("exported").path
        let base = try ModelArtifacts.load(try manifest("base"), store: h.store)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let config = ModelArtifacts.configJSON(base.config, tokenizer: base.tokenizer)
        try config.serialized().write(toFile: folder + "/config.json", atomically: true, encoding: .utf8)
        XCTAssertEqual(try ModelArtifacts.tokenizer(from: try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/config.json")))),
                                                     config: base.config, source: "t"), tokenizer)
    }

    func testModelsOfDifferentTokenizersAreNotMerged() throws {
        let h = try EngineHarness(registry: OpRegistry.builtin)
        try Self.data.write(to: h.folder.appendingPathComponent("data.jsonl"), atomically: true, encoding: .utf8)
        let (summary, _) = try h.run(#"""
        {"name": "t", "seed": 1, "nodes": {
          "data": {"op": "dataset", "params": {"path": "data.jsonl"}},
          "tok1": {"op": "tokenizer", "inputs": {"data": ["data"]}, "params": {"vocabulary": 280}},
          "tok2": {"op": "tokenizer", "inputs": {"data": ["data"]}, "params": {"vocabulary": 279}},
          "a": {"op": "init", "inputs": {"tokenizer": "tok1"}},
          "b": {"op": "init", "inputs": {"tokenizer": "tok2"}},
          "c": {"op": "init", "inputs": {"tokenizer": "tok1"}, "params": {"seed": 5}},
          "ab": {"op": "merge", "inputs": {"models": ["a", "b"]}},
          "ac": {"op": "merge", "inputs": {"models": ["a", "c"]}}
        }}
        """#)
        XCTAssertFalse(summary.succeeded)
        // Vocabularies of 280 and 279 differ in shape already; the message names the tokenizers.
        let error = summary.failed.first { $0.instance == "ab" }?.error ?? "no failure: \(summary.failed)"
        XCTAssertTrue(error.contains("different tokenizers"), error)
        XCTAssertEqual(summary.failed.map(\.instance), ["ab"])
    }

    func testACheckpointWhoseMergesDoNotFitItsVocabularyIsRefused() throws {
        let config = GPT2Config.presets["gpt-tiny"]!
        var json = try XCTUnwrap(ModelArtifacts.configJSON(config, tokenizer: .bytes).objectValue)
        json[ModelArtifacts.mergesKey] = [[97, 98]]
        XCTAssertThrowsError(try ModelArtifacts.tokenizer(from: .object(json), config: config, source: "c")) { e in
            XCTAssertTrue("\(e)".contains("vocab_size"), "\(e)")
        }
        json[ModelArtifacts.mergesKey] = [[97, 300]]
        XCTAssertThrowsError(try ModelArtifacts.tokenizer(from: .object(json), config: config, source: "c"))
        json[ModelArtifacts.mergesKey] = "nope"
        XCTAssertThrowsError(try ModelArtifacts.tokenizer(from: .object(json), config: config, source: "c"))
    }
}
