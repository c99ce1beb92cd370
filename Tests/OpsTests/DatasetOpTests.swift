import Datasets
import Foundation
import JSON
@testable import Engine
@testable import Ops
import Store
import XCTest

/// The `dataset` op over its sources: made-up files in the shipped formats (the tests never
/// read /work/shared), the default-file lookup, and round trips through the store.
final class DatasetOpTests: XCTestCase {
    static let languages = ["en", "fr", "es", "ru", "ar", "hi"]

    static func xsafetyFile(rows: Int) -> String {
        (0..<rows).map { i in
            let category = ["Insult", "Physical_Harm", "Mental_Health"][i % 3]
            let texts = languages.map { #""\#($0)": "prompt \#(i) in \#($0)""# }.joined(separator: ", ")
            return #"{"category": "\#(category)", "idx": \#(i / 3), \#(texts)}"#
        }.joined(separator: "\n") + "\n"
    }

    static func parallelFile(rows: Int) -> String {
        (0..<rows).map { i in
            let texts = languages.map { #""\#($0)": "sentence \#(i) in \#($0)\n""# }.joined(separator: ", ")
            return #"{"domain": "app", \#(texts)}"#
        }.joined(separator: "\n") + "\n"
    }

    /// Runs `spec` with the spec's folder at `directory` (the harness's folder by default).
    func run(_ h: EngineHarness, _ spec: String, directory: String? = nil) throws -> (RunSummary, ExpandedGraph) {
        var parser = SpecParser(registry: h.registry)
        let parsed = try parser.validate(try JSONValue.parse(spec), file: "test.json", directory: directory ?? h.folder.path)
        let graph = try ExpandedGraph(spec: parsed, registry: h.registry, file: "test.json")
        var options = RunOptions()
        options.computeThreads = .numerics
        options.progress = .quiet
        return (try Scheduler(store: h.store, graph: graph, options: options).run(), graph)
    }

    func examples(_ h: EngineHarness, _ summary: RunSummary, _ graph: ExpandedGraph, node: String) throws -> [Example] {
        let index = graph.instances.first { $0.id == node }!.index
        return try h.store.loadDataset(try h.store.manifest(summary.artifacts[index]!))
    }

    /// Sets (or clears) MERGEFLOW_DATA and the current folder for `body`, then restores them.
    func withEnvironment<T>(data: String?, currentDirectory: String, _ body: () throws -> T) rethrows -> T {
        let oldData = ProcessInfo.processInfo.environment["MERGEFLOW_DATA"]
        let oldDirectory = FileManager.default.currentDirectoryPath
        if let data { setenv("MERGEFLOW_DATA", data, 1) } else { unsetenv("MERGEFLOW_DATA") }
        precondition(FileManager.default.changeCurrentDirectoryPath(currentDirectory), "cannot enter \(currentDirectory)")
        defer {
            if let oldData { setenv("MERGEFLOW_DATA", oldData, 1) } else { unsetenv("MERGEFLOW_DATA") }
            _ = FileManager.default.changeCurrentDirectoryPath(oldDirectory)
        }
        return try body()
    }

    func makeFolder(_ h: EngineHarness, _ path: String) throws -> String {
        let url = h.folder.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    // MARK: The default file

    func testMissingDefaultFileSaysWhereItLookedAndHowToPointAtIt() throws {
        let h = try EngineHarness(registry: OpRegistry.builtin)
        let specFolder = try makeFolder(h, "a/b/project/pipelines"), elsewhere = try makeFolder(h, "c/d/work")
        let spec = #"{"name": "t", "nodes": {"d": {"op": "dataset", "params": {"source": "xsafety", "split": "test"}}}}"#
        let (summary, _) = try withEnvironment(data: nil, currentDirectory: elsewhere) { try run(h, spec, directory: specFolder) }
        let error = summary.failed.first { $0.instance == "d" }?.error ?? "no failure: \(summary.failed)"
        for place in ["a/b/shared/data/xsafety-6lang.jsonl", "a/b/project/shared/data/xsafety-6lang.jsonl", "c/d/shared/data/xsafety-6lang.jsonl"] {
            XCTAssertTrue(error.contains(h.folder.appendingPathComponent(place).standardizedFileURL.path), "\(place) in: \(error)")
        }
        XCTAssertTrue(error.contains("MERGEFLOW_DATA is not set"), error)
        XCTAssertTrue(error.contains("params.path") && error.contains("set MERGEFLOW_DATA to the folder that holds xsafety-6lang.jsonl"), error)
        XCTAssertTrue(try h.store.artifacts(withPrefix: "").isEmpty, "nothing published")
    }

    func testDefaultFileIsFoundInOrderAndItsChangesChangeTheKey() throws {
        let h = try EngineHarness(registry: OpRegistry.builtin)
        let specFolder = try makeFolder(h, "project/pipelines"), data = try makeFolder(h, "data"), shared = try makeFolder(h, "shared/data")
        try Self.parallelFile(rows: 5).write(toFile: shared + "/gettext-parallel-6lang.jsonl", atomically: true, encoding: .utf8)
        let params: JSONObject = ["source": "parallel"]
        let environment = ["MERGEFLOW_DATA": data]
        XCTAssertEqual(try DatasetOp.locate(params, directory: specFolder, environment: [:], currentDirectory: "/"),
                       shared + "/gettext-parallel-6lang.jsonl", "<spec folder>/../../shared/data")
        try Self.parallelFile(rows: 3).write(toFile: data + "/gettext-parallel-6lang.jsonl", atomically: true, encoding: .utf8)
        XCTAssertEqual(try DatasetOp.locate(params, directory: specFolder, environment: environment, currentDirectory: "/"),
                       data + "/gettext-parallel-6lang.jsonl", "MERGEFLOW_DATA comes first")
        XCTAssertEqual(try DatasetOp.locate(["source": "parallel", "path": "x.jsonl"], directory: specFolder, environment: environment, currentDirectory: "/"),
                       specFolder + "/x.jsonl", "a path wins, relative to the spec's folder")
        XCTAssertEqual(DatasetOp.candidates("f", directory: "/p/q/pipelines", environment: ["MERGEFLOW_DATA": "/d"], currentDirectory: "/p/q"),
                       ["/d/f", "/p/shared/data/f", "/p/q/shared/data/f"], "duplicates removed")

        let spec = #"{"name": "t", "nodes": {"d": {"op": "dataset", "params": {"source": "parallel", "languages": ["hi", "en"]}}}}"#
        let (first, graph) = try withEnvironment(data: data, currentDirectory: "/") { try run(h, spec, directory: specFolder) }
        XCTAssertTrue(first.succeeded, "\(first.failed)")
        XCTAssertEqual(try examples(h, first, graph, node: "d").count, 3 * 2)
        // A changed file is a changed key: the node runs again and reads the new rows.
        Thread.sleep(forTimeInterval: 0.01)
        try Self.parallelFile(rows: 4).write(toFile: data + "/gettext-parallel-6lang.jsonl", atomically: true, encoding: .utf8)
        let (second, graph2) = try withEnvironment(data: data, currentDirectory: "/") { try run(h, spec, directory: specFolder) }
        XCTAssertEqual(second.executed, 1)
        XCTAssertEqual(try examples(h, second, graph2, node: "d").count, 4 * 2)
        let (third, _) = try withEnvironment(data: data, currentDirectory: "/") { try run(h, spec, directory: specFolder) }
        XCTAssertEqual(third.cached, 1)
        // Keys follow content, not file times: the same rows rewritten (a new inode and new
        // times, as a fresh checkout or a copy gives) leave the node cached.
        Thread.sleep(forTimeInterval: 0.01)
        try FileManager.default.removeItem(atPath: data + "/gettext-parallel-6lang.jsonl")
        try Self.parallelFile(rows: 4).write(toFile: data + "/gettext-parallel-6lang.jsonl", atomically: true, encoding: .utf8)
        let (fourth, _) = try withEnvironment(data: data, currentDirectory: "/") { try run(h, spec, directory: specFolder) }
        XCTAssertEqual(fourth.cached, 1)
        XCTAssertEqual(fourth.executed, 0)
    }

    // MARK: Round trips

    func testXSafetyAndParallelRoundTripThroughTheStore() throws {
        let h = try EngineHarness(registry: OpRegistry.builtin)
        try Self.xsafetyFile(rows: 300).write(to: h.folder.appendingPathComponent("x.jsonl"), atomically: true, encoding: .utf8)
        try Self.parallelFile(rows: 200).write(to: h.folder.appendingPathComponent("p.jsonl"), atomically: true, encoding: .utf8)
        let spec = #"""
        {"name": "t", "nodes": {
          "safety": {"op": "dataset", "params": {"source": "xsafety", "path": "x.jsonl"}, "grid": {"split": ["train", "test"]}},
          "advice": {"op": "dataset", "params": {"source": "xsafety", "path": "x.jsonl", "categories": ["Mental_Health"], "languages": ["ar"]}},
          "general": {"op": "dataset", "params": {"source": "parallel", "path": "p.jsonl", "split": "test", "test_fraction": 0.5, "max_items": 25, "max_bytes": 60}}}}
        """#
        let (summary, graph) = try h.run(spec)
        XCTAssertTrue(summary.succeeded, "\(summary.failed)")
        let xsafety = try XSafety.parse(Array(Self.xsafetyFile(rows: 300).utf8), source: "x")
        let train = try examples(h, summary, graph, node: "safety[split=train]")
        let test = try examples(h, summary, graph, node: "safety[split=test]")
        XCTAssertEqual(train, Selection(split: .train).apply(xsafety))
        XCTAssertEqual(test, Selection(split: .test).apply(xsafety))
        XCTAssertEqual(train.count + test.count, 200 * 6, "Mental_Health left out")
        XCTAssertTrue(Set(train.map(\.id)).isDisjoint(with: Set(test.map(\.id))))

        let advice = try examples(h, summary, graph, node: "advice")
        XCTAssertEqual(advice.count, 100)
        XCTAssertTrue(advice.allSatisfy { $0.objective == "safe-advice" && $0.lang == "ar" })

        let general = try examples(h, summary, graph, node: "general")
        XCTAssertEqual(Set(general.map(\.id)).count, 25)
        XCTAssertTrue(general.allSatisfy { Selection.byteCount($0) <= 60 && $0.objective == "general" })
        XCTAssertEqual(Set(general.map(\.lang)), ["en", "fr", "es"], "ru, ar and hi take 2–3 bytes a character and do not fit 60")

        let manifest = try h.store.manifest(summary.artifacts[graph.instances.first { $0.id == "general" }!.index]!)
        let metadata = manifest.metadata.objectValue!
        XCTAssertEqual(metadata["source"], "parallel")
        XCTAssertEqual(metadata["file"], "p.jsonl")
        XCTAssertEqual(metadata["examples"]?.intValue, general.count)
    }

    func testBadSourceLinesFailTheNodeNamingFileAndLine() throws {
        let h = try EngineHarness(registry: OpRegistry.builtin)
        let file = Self.xsafetyFile(rows: 3) + #"{"category": "Insult", "idx": 7, "en": "only English"}"# + "\n"
        try file.write(to: h.folder.appendingPathComponent("x.jsonl"), atomically: true, encoding: .utf8)
        let (summary, _) = try h.run(#"{"name": "t", "nodes": {"d": {"op": "dataset", "params": {"source": "xsafety", "path": "x.jsonl"}}}}"#)
        let error = summary.failed.first { $0.instance == "d" }?.error ?? "no failure"
        XCTAssertTrue(error.contains(h.folder.appendingPathComponent("x.jsonl").path + ": 5 bad lines"), error)
        XCTAssertTrue(error.contains("line 4: missing \"fr\""), error)
    }

    // MARK: Validation

    func testParamsAreCheckedAgainstTheSourceBeforeAnythingRuns() {
        let h = try! EngineHarness(registry: OpRegistry.builtin)
        func problems(_ params: String) -> [String] {
            EngineHarness.problems { try h.spec(#"{"name": "t", "nodes": {"d": {"op": "dataset", "params": \#(params)}}}"#) }
        }
        XCTAssertEqual(problems(#"{"split": "test"}"#), ["nodes.d.params.path: missing (required for source jsonl: the .jsonl file of examples)"])
        XCTAssertEqual(problems(#"{"source": "parallel", "categories": ["Insult"]}"#), ["nodes.d.params.categories: applies to source xsafety only"])
        XCTAssertEqual(problems(#"{"source": "xsafety", "rejected": "helpful"}"#), ["nodes.d.params.rejected: applies to source xsafety with lookalikes only"])
        XCTAssertEqual(problems(#"{"source": "xsafety", "lookalikes": true, "rejected": "helpful"}"#), [])
        XCTAssertEqual(problems(#"{"source": "xsafety", "lookalikes": true, "rejected": "nice"}"#).count, 1)
        XCTAssertEqual(problems(#"{"source": "xsafety", "refusal_weight": 2}"#), ["nodes.d.params.refusal_weight: applies to source xsafety with lookalikes only"])
        XCTAssertEqual(problems(#"{"source": "xsafety", "lookalikes": true, "refusal_weight": 2}"#), [])
        XCTAssertEqual(problems(#"{"source": "xsafety", "lookalikes": true, "refusal_weight": 0}"#).count, 1)
        XCTAssertEqual(problems(#"{"source": "xsafety", "languages": ["en", "de"]}"#),
                       ["nodes.d.params.languages: source xsafety has en, fr, es, ru, ar, hi; not de"])
        XCTAssertEqual(problems(#"{"source": "xsafety", "categories": ["Insults"], "max_items": 0}"#).count, 2)
        XCTAssertEqual(problems(#"{"source": "xsafety", "max_bytes": 120, "max_items": 50, "categories": ["commonsense"]}"#), [])
        XCTAssertEqual(problems(#"{"source": "parallel", "repetitions": 2}"#),
                       ["nodes.d.params.repetitions: applies to pretraining_text of source parallel or tasks only"])
        XCTAssertEqual(problems(#"{"source": "xsafety", "pretraining_text": true, "repetitions": 1}"#),
                       ["nodes.d.params.repetitions: applies to pretraining_text of source parallel or tasks only"])
        XCTAssertEqual(problems(#"{"source": "tasks", "pretraining_text": true, "repetitions": 7}"#).count, 1, "at most one per language")
        XCTAssertEqual(problems(#"{"source": "tasks", "pretraining_text": true, "repetitions": 3}"#), [])
        XCTAssertEqual(problems(#"{"source": "parallel", "tasks": ["complete"]}"#), ["nodes.d.params.tasks: applies to source tasks only"])
        XCTAssertEqual(problems(#"{"source": "tasks", "tasks": []}"#), ["nodes.d.params.tasks: expected at least one task"])
        XCTAssertEqual(problems(#"{"source": "tasks", "tasks": ["complete", "summarise"]}"#).count, 1, "an unknown task is named")
        XCTAssertEqual(problems(#"{"source": "tasks", "tasks": ["repeat", "complete"]}"#), [])
    }
}
