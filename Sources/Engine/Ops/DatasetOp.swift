import Datasets
import Foundation
import JSON
import Store

/// `dataset`: examples from a JSON Lines file (see `JSONLines` for the schema), filtered by
/// language and objective and split into train / test by id.
enum DatasetOp {
    static let operation = OpDefinition(
        name: "dataset", version: 1,
        summary: "examples (prompt, answer, lang, objective) from a JSON Lines file, filtered and split",
        inputs: [],
        params: [
            ParamSpec("source", .string(choices: ["jsonl"]), default: "jsonl", help: "where the examples come from"),
            ParamSpec("path", .string(), help: "the .jsonl file, relative to the spec's folder"),
            ParamSpec("languages", .stringList(), default: .null, help: "keep only these languages (default: all)"),
            ParamSpec("objectives", .stringList(), default: .null, help: "keep only these objectives (default: all)"),
            ParamSpec("split", .string(choices: Split.allCases.map(\.rawValue)), default: "all",
                      help: "train or test by a hash of the id (translations share an id), or all"),
            ParamSpec("test_fraction", .number(0...1), default: 0.1, help: "share of ids in the test split"),
        ],
        produces: Store.datasetKind,
        externalFingerprint: { params, directory in
            try ImportOp.fingerprint(OpContext.resolve(params["path"]?.stringValue ?? "", in: directory))
        },
        run: { context in
            let path = context.path("path")!
            guard let data = FileManager.default.contents(atPath: path) else {
                throw OpError("\(path): cannot read the dataset file")
            }
            var examples: [Example]
            do { examples = try JSONLines.parse([UInt8](data), source: path) } catch { throw OpError("\(error)") }
            examples = filter(examples, context.params)
            if examples.isEmpty { throw OpError("\(path): no examples left after the language, objective and split filters") }
            return try context.store.datasetWriter(examples)
        }
    )

    static func filter(_ examples: [Example], _ params: JSONObject) -> [Example] {
        let languages = params["languages"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) }
        let objectives = params["objectives"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) }
        let split = Split(rawValue: params["split"]?.stringValue ?? "all") ?? .all
        let fraction = params["test_fraction"]?.doubleValue ?? 0.1
        return examples.filter { e in
            (languages?.contains(e.lang) ?? true) && (objectives?.contains(e.objective) ?? true)
                && split.contains(id: e.id, testFraction: fraction)
        }
    }
}
