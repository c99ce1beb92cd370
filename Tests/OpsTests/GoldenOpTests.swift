import Checkpoint
import Datasets
import Foundation
import JSON
import Numerics
@testable import Engine
@testable import Ops
import Store
import XCTest

/// Cache identity that cannot silently go stale: every built-in op runs on a tiny fixed
/// input and its output digest must equal the one recorded for its *version*. Changing what
/// an op produces without bumping its version (which would leave old results cached under
/// unchanged keys) fails here; bumping the version asks for a new row.
///
/// The training and eval rows depend on OpenBLAS's kernels, which it picks by CPU
/// (DYNAMIC_ARCH; sgemm sums in a kernel-specific order), so they are recorded per kernel
/// (`BLAS.coreName`; training's products cut in two blocks, as with `threads` 2; SkylakeX and Haswell
/// recorded). On a CPU whose kernel has no rows, those ops are checked
/// for reproducibility instead (the spec run again in a second cache gives the same
/// digests) and the test says so; the ops that never call BLAS are checked everywhere.
/// `MERGEFLOW_GOLDEN_PRINT=1` prints the rows this machine gives.
final class GoldenOpTests: XCTestCase {
    /// "op@version" → the output digest of its golden node below.
    static let golden: [String: String] = [
        "command@1": "685288c9ea948aa021288bf4325e78333ce5585d4991e1d1b6e65b81399cd8a5",
        "dataset@5": "60d1151b25f3d16e384cb0467cfb852e170363fb418ee44edc3821c67a8ba09e",
        "dpo@4@SkylakeX": "47aa97f379955ab93eeb9a7af424585ff8a51fa60f0924f0e6458efb698b2a2c",
        "eval@3@SkylakeX": "ecbe57dfca2a9be40804660aef3cffd77886573eca397c7d05ab05a545dc1769",
        "finetune@3@SkylakeX": "eb57b316e07b8ad34a3fcb81ed7df474bca3ad7dfa9f1689a3d89e8c6b97147a",
        // An exported and re-imported init is the same artifact as the init.
        "import@2": "120cd9d5e7ada6ba114725284a60cc140b13ed722611afa4a7fc20deee090ec5",
        "init@1": "120cd9d5e7ada6ba114725284a60cc140b13ed722611afa4a7fc20deee090ec5",
        "merge@2": "16bc8d3a399177ba8d35aabf5a1cb1e107daaeb99b3babfcc70e302740f77ff7",
        "output@1": "8138c8cebcfb9b5ddea2eaeb566c25e2c799299024a99bf02653a359dfc39c5b",
        "pretrain@3@SkylakeX": "02f662b5446ae84eebd962f3634d2df12abeba37660941ac29f350f6d0d6bcdf",
        // The same ops with OpenBLAS's Haswell kernels (AVX2 machines; OPENBLAS_CORETYPE=Haswell here).
        "dpo@4@Haswell": "ad4e71e6cc8e4e39604c9eac5335911931114271e4bfa6979430e233040910c3",
        "eval@3@Haswell": "0cf3062fd9f96a6f464f1097850c731b8e178017323311e2e46f697fd6fc2499",
        "finetune@3@Haswell": "11f527301dfe7dc2d3e586fbfe039a65259953aef28c2d71bfe18941cc1f9986",
        "pretrain@3@Haswell": "1b9fe4c596940d8d502c3ad99f698a57c4c6384931e1a54c9b2fbd7d8ebfa913",
        "report@7@Haswell": "6f9181a5e0b305146d74f9929508bf4350c01ffb9c1a32fae96075434dd691f4",
        "tokenizer@1": "c776a4e1ecfb96df8c9d6409f0c73031c75ae3e9354dfae185fcd96464b41d07",
        "report@7@SkylakeX": "6f9181a5e0b305146d74f9929508bf4350c01ffb9c1a32fae96075434dd691f4",
    ]

    /// Ops whose output goes through sgemm (report: through eval's rows), keyed
    /// "op@version@core" in `golden`.
    static let blasDependent: Set<String> = ["pretrain", "finetune", "dpo", "eval", "report"]

    /// The node of the spec below that exercises each op.
    static let goldenNode = [
        "command": "cmd", "dataset": "data", "dpo": "dpo", "eval": "eval", "finetune": "sft", "import": "imported",
        "init": "m1", "merge": "merged", "output": "cmd2.b", "pretrain": "pre", "report": "report", "tokenizer": "tok",
    ]

    static let data: String = {
        var lines: [String] = []
        for lang in ["en", "fr"] {
            for i in 0..<4 {
                lines.append(#"{"id": "g\#(i)", "lang": "\#(lang)", "objective": "general", "prompt": "say \#(i)", "answer": "\#(i) \#(lang)", "rejected": "no"}"#)
                lines.append(#"{"id": "s\#(i)", "lang": "\#(lang)", "objective": "safety", "prompt": "harm \#(i)", "answer": "\#(Refusals.templates(for: lang)[0])", "rejected": "Sure"}"#)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    static let spec = #"""
    {"name": "golden", "seed": 3, "nodes": {
      "data": {"op": "dataset", "params": {"path": "data.jsonl"}},
      "tok": {"op": "tokenizer", "inputs": {"data": "data"}, "params": {"vocabulary": 270}},
      "m1": {"op": "init", "params": {"model": "gpt-tiny", "seed": 1}},
      "m2": {"op": "init", "params": {"model": "gpt-tiny", "seed": 2}},
      "imported": {"op": "import", "params": {"path": "m1-folder"}},
      "merged": {"op": "merge", "inputs": {"models": ["m1", "m2"]}, "params": {"method": "linear", "weights": [0.3, 0.7]}},
      "pre": {"op": "pretrain", "inputs": {"data": "data"}, "params": {"model": "gpt-tiny", "steps": 2, "batch_size": 2, "threads": 2}},
      "sft": {"op": "finetune", "inputs": {"model": "m1", "data": "data"}, "params": {"steps": 2, "batch_size": 2, "threads": 2}},
      "dpo": {"op": "dpo", "inputs": {"model": "m1", "data": "data"}, "params": {"steps": 2, "batch_size": 2, "threads": 2}},
      "eval": {"op": "eval", "inputs": {"model": "m1", "reference": "m2", "data": ["data"]}, "params": {"max_items": 2, "max_new_tokens": 4}},
      "report": {"op": "report", "inputs": {"scores": "eval"}, "params": {"title": "golden"}},
      "cmd": {"op": "command", "inputs": {"data": "data"},
              "params": {"argv": ["sh", "-c", "wc -l < {inputs.data} | sed 's/ //g; s/.*/{\"lang\": \"en\", \"objective\": \"general\", \"metric\": \"lines\", \"value\": &, \"n\": 1}/' > {outputs.rows}"],
                         "outputs": {"rows": "metrics"}}},
      "cmd2": {"op": "command", "params": {"argv": ["sh", "-c", "mkdir {outputs.a} {outputs.b} && echo a > {outputs.a}/f && echo b > {outputs.b}/f"],
                                          "outputs": {"a": "files", "b": "files"}}},
      "read_b": {"op": "command", "inputs": {"b": "cmd2.b"}, "params": {"argv": ["cp", "-r", "{inputs.b}", "{outputs.copy}"], "outputs": {"copy": "files"}}}
    }}
    """#

    func testEveryOpsOutputMatchesTheDigestRecordedForItsVersion() throws {
        let h = try EngineHarness(registry: OpRegistry.builtin)
        try Self.data.write(to: h.folder.appendingPathComponent("data.jsonl"), atomically: true, encoding: .utf8)
        // The import reads a checkpoint folder: m1's, exported.
        let (first, g1) = try h.run(#"{"name": "golden", "nodes": {"m1": {"op": "init", "params": {"model": "gpt-tiny", "seed": 1}}}}"#)
        XCTAssertTrue(first.succeeded)
        try h.store.exportCheckpoint(first.artifacts[g1.byNode["m1"]![0]]!, to: h.folder.appendingPathComponent("m1-folder").path)

        let (summary, graph) = try h.run(Self.spec)
        XCTAssertTrue(summary.succeeded, "\(summary.failed)")
        let core = BLAS.coreName
        let kernelHasRows = Self.golden.keys.contains { $0.hasSuffix("@" + core) }
        var rows: [String] = []
        var reproducibilityOnly: [String] = []
        for name in OpRegistry.builtin.names {
            let op = OpRegistry.builtin[name]!
            let label = Self.blasDependent.contains(name) ? "\(name)@\(op.version)@\(core)" : "\(name)@\(op.version)"
            guard let node = Self.goldenNode[name] else {
                XCTFail("op \(name) has no golden node: add one to GoldenOpTests.spec and goldenNode")
                continue
            }
            let digest = try XCTUnwrap(summary.artifacts[graph.byNode[node]![0]], node).hex
            rows.append("\"\(label)\": \"\(digest)\",")
            if Self.blasDependent.contains(name) && !kernelHasRows {
                reproducibilityOnly.append(node)
                continue
            }
            guard let recorded = Self.golden[label] else {
                XCTFail("no golden digest for \(label): add \"\(label)\": \"\(digest)\" to GoldenOpTests.golden")
                continue
            }
            XCTAssertEqual(digest, recorded, """
                \(label) now produces \(digest), not the \(recorded) recorded for this version: \
                results cached by version \(op.version) would be reused although the output changed. \
                Bump \(name)'s version and record "\(name)@\(op.version + 1)": "\(digest)"
                """)
        }
        if ProcessInfo.processInfo.environment["MERGEFLOW_GOLDEN_PRINT"] != nil { print(rows.joined(separator: "\n")) }
        if !reproducibilityOnly.isEmpty {
            print("GoldenOpTests: no golden digests for OpenBLAS kernel \(core); \(reproducibilityOnly.sorted().joined(separator: ", ")) checked for reproducibility only")
            let again = try EngineHarness(registry: OpRegistry.builtin)
            try Self.data.write(to: again.folder.appendingPathComponent("data.jsonl"), atomically: true, encoding: .utf8)
            try FileManager.default.copyItem(at: h.folder.appendingPathComponent("m1-folder"), to: again.folder.appendingPathComponent("m1-folder"))
            let (second, g2) = try again.run(Self.spec)
            XCTAssertTrue(second.succeeded, "\(second.failed)")
            for node in reproducibilityOnly {
                XCTAssertEqual(second.artifacts[g2.byNode[node]![0]], summary.artifacts[graph.byNode[node]![0]], "\(node) differs between two runs")
            }
        }
    }

    /// The table is checked against the ops themselves: a version without a row (bumped
    /// without recording its digest) fails above; a row for an op that no longer exists here.
    func testEveryGoldenRowNamesAnOp() {
        for label in Self.golden.keys {
            let name = String(label.split(separator: "@")[0])
            XCTAssertEqual(label.split(separator: "@").count, Self.blasDependent.contains(name) ? 3 : 2, "\(label): BLAS-dependent rows name their kernel")
            XCTAssertNotNil(OpRegistry.builtin[name], "golden row \(label) names no op")
        }
    }
}
