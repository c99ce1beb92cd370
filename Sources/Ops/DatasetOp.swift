import Engine
import Datasets
import Foundation
import JSON
import Store

/// `dataset`: examples from a source file, filtered and split (see `Selection` for the order
/// of the filters).
///
/// Sources:
/// - "jsonl": a JSON Lines file of examples (see `JSONLines`); `path` is required.
/// - "xsafety": XSafety's harmful prompts in six languages answered by our refusals
///   (see `XSafety`), objective "safety" (and "safe-advice" for advice categories asked by name);
/// - "parallel": translation instructions from gettext parallel text (see `ParallelText`),
///   objective "general";
/// - "tasks": instruction-following tasks of graded difficulty on the same parallel text
///   (see `InstructionTasks`), objective "general".
///
/// `lookalikes` (xsafety) makes the safety objective teach when to refuse (see
/// `XSafety.Design.whenToRefuse`); `pretraining_text` turns any source into raw text for
/// `pretrain` (see `PretrainingText`).
///
/// For "xsafety" and "parallel", `path` may be left out: the shipped file is looked up by
/// name (see `locate`). Its size and modification time are part of the key either way.
enum DatasetOp {
    static let sources = ["jsonl", "xsafety", "parallel", "tasks"]

    static let operation = OpDefinition(
        name: "dataset", version: 5,
        summary: "examples (prompt, answer, lang, objective) from a JSON Lines file, XSafety or parallel text, filtered and split",
        inputs: [],
        params: [
            ParamSpec("source", .string(choices: sources), default: "jsonl",
                      help: "jsonl: a file of examples; xsafety: harmful prompts answered by refusals (objective safety); parallel: translation instructions (objective general); tasks: instruction tasks of graded difficulty on the parallel text (objective general)"),
            ParamSpec("path", .string(), default: .null,
                      help: "the file, relative to the spec's folder; required for jsonl; for xsafety, parallel and tasks the shipped file is found in $MERGEFLOW_DATA or ../shared/data when absent"),
            ParamSpec("languages", .stringList(), default: .null, help: "keep only these languages (default: all)"),
            ParamSpec("objectives", .stringList(), default: .null, help: "keep only these objectives (default: all)"),
            ParamSpec("refusal_templates", .integer(1...4), default: 4,
                      help: "xsafety only: how many of each language's refusal templates the answers use (1: always the first, easiest for small models to learn)"),
            ParamSpec("categories", .stringList(choices: XSafety.categories), default: .null,
                      help: "xsafety only: keep these categories (default: all but Mental_Health and commonsense; naming those brings them in as objective safe-advice, with empty answers)"),
            ParamSpec("lookalikes", .bool, default: false,
                      help: "xsafety only: teach when to refuse: crimes, unsafe instructions, insults and goal hijacking are refused; mental health, common sense, reverse exposure, ethics and physical harm (benign prompts that look sensitive) are answered helpfully; the other categories are left out"),
            ParamSpec("rejected", .string(choices: XSafety.RejectedAnswer.allCases.map(\.rawValue)), default: "compliance",
                      help: "xsafety with lookalikes only: the rejected answer of a refused prompt, for dpo: compliance (a compliant opener) or helpful (the look-alikes' helpful answer, the mistake a safety-tuned model makes)"),
            ParamSpec("refusal_weight", .integer(1...100), default: 1,
                      help: "xsafety with lookalikes only: each refused (harmful) prompt appears this many times, so training draws refusals this many times as often as with 1; the look-alikes once (trades missed refusals for false refusals)"),
            ParamSpec("pretraining_text", .bool, default: false,
                      help: "raw text for pretrain instead of instructions (objective text): parallel/tasks give every sentence alone plus one bilingual pair per row, xsafety every prompt of every category, jsonl prompt and answer"),
            ParamSpec("tasks", .stringList(choices: InstructionTasks.Task.allCases.map(\.rawValue)),
                      default: .null,
                      help: "tasks only: which instruction tasks, each row and language getting one of them by a hash of its id (default language, complete, translate; program asks which kind of program a text comes from, for rows whose catalog is one of ProgramKinds'; repeat, first_words and last_word need a model that copies from its context)"),
            ParamSpec("repetitions", .integer(0...6), default: 0,
                      help: "parallel/tasks pretraining_text only: per row, this many documents (in different languages) that say a sentence twice, so a base learns to copy from its context (one-line strings never repeat themselves)"),
            ParamSpec("max_bytes", .integer(1...1_000_000), default: .null,
                      help: "drop examples whose prompt + longer answer exceed this many UTF-8 bytes (context − 3 tokens; default: no limit)"),
            ParamSpec("max_prompt_bytes", .integer(1...1_000_000), default: .null,
                      help: "drop examples whose prompt exceeds this many UTF-8 bytes (for test sets that are only answered; default: no limit)"),
            ParamSpec("split", .string(choices: Split.allCases.map(\.rawValue)), default: "all",
                      help: "train or test by a hash of the id (translations share an id), or all"),
            ParamSpec("test_fraction", .number(0...1), default: 0.1, help: "share of ids in the test split"),
            ParamSpec("max_items", .integer(1...100_000_000), default: .null,
                      help: "after the split, keep at most this many ids (those with the smallest SHA-256; default: all)"),
            ParamSpec("items_per_language", .integer(1...100_000_000), default: .null,
                      help: "then keep at most this many ids in each language, chosen the same way among the ids that language has (equal test sets per language; default: all)"),
        ],
        produces: Store.datasetKind,
        externalFingerprint: { params, directory, store in
            // One file, not a folder: a folder's fingerprint would list (and blame) what is
            // inside it.
            let path = try locate(params, directory: directory)
            if let problem = FileKind.problem(path) { throw OpError("\(path): \(problem) (a dataset is one file)") }
            return try ImportOp.fingerprint(path, store: store)
        },
        crossCheck: { params, _ in
            var problems: [(String, String)] = []
            let source = params["source"]?.stringValue ?? "jsonl"
            if source == "jsonl" && params["path"] == nil {
                problems.append(("path", "missing (required for source jsonl: the .jsonl file of examples)"))
            }
            if params["path"]?.stringValue == "" {
                problems.append(("path", "expected a file path, got an empty string"))
            }
            if source != "xsafety" && params["categories"] != nil {
                problems.append(("categories", "applies to source xsafety only"))
            }
            if source != "xsafety" && params["lookalikes"]?.boolValue == true {
                problems.append(("lookalikes", "applies to source xsafety only"))
            }
            if let rejected = params["rejected"]?.stringValue, rejected != "compliance",
               source != "xsafety" || params["lookalikes"]?.boolValue != true {
                problems.append(("rejected", "applies to source xsafety with lookalikes only"))
            }
            if (params["refusal_weight"]?.intValue ?? 1) != 1, source != "xsafety" || params["lookalikes"]?.boolValue != true {
                problems.append(("refusal_weight", "applies to source xsafety with lookalikes only"))
            }
            if let tasks = params["tasks"]?.arrayValue {
                if source != "tasks" { problems.append(("tasks", "applies to source tasks only")) }
                else if tasks.isEmpty { problems.append(("tasks", "expected at least one task")) }
                else if params["pretraining_text"]?.boolValue == true { problems.append(("tasks", "pretraining_text has no tasks: it is the sentences alone")) }
            }
            if (params["repetitions"]?.intValue ?? 0) > 0 && (params["pretraining_text"]?.boolValue != true || !["parallel", "tasks"].contains(source)) {
                problems.append(("repetitions", "applies to pretraining_text of source parallel or tasks only"))
            }
            if params["pretraining_text"]?.boolValue == true && params["lookalikes"]?.boolValue == true {
                problems.append(("lookalikes", "pretraining_text keeps prompts only: there is nothing to answer"))
            }
            if source != "jsonl", let languages = params["languages"]?.arrayValue {
                let unknown = languages.compactMap(\.stringValue).filter { !Refusals.languages.contains($0) }
                if !unknown.isEmpty {
                    problems.append(("languages", "source \(source) has \(Refusals.languages.joined(separator: ", ")); not \(unknown.joined(separator: ", "))"))
                }
            }
            return problems
        },
        run: { context in
            let path = try locate(context.params, directory: context.directory)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw OpError("\(path): cannot read the dataset file")
            }
            let source = context.string("source") ?? "jsonl"
            var examples: [Example]
            do {
                let text = context.params["pretraining_text"]?.boolValue == true
                switch source {
                case "xsafety":
                    let design: XSafety.Design = text ? .promptsOnly : context.params["lookalikes"]?.boolValue == true ? .whenToRefuse : .refuseAll
                    let named = context.params["categories"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) }
                    examples = try XSafety.parse([UInt8](data), source: path, categories: named,
                                                 refusalVariety: context.integer("refusal_templates")!, design: design,
                                                 rejected: XSafety.RejectedAnswer(rawValue: context.params["rejected"]?.stringValue ?? "compliance")!,
                                                 refusalWeight: context.integer("refusal_weight") ?? 1)
                    if text { examples = PretrainingText.text(of: examples) }
                case "parallel", "tasks":
                    if text {
                        examples = PretrainingText.parallel(try ParallelText.rows([UInt8](data), source: path),
                                                            repetitions: context.integer("repetitions") ?? 0)
                    } else if source == "tasks" {
                        let tasks = (context.params["tasks"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(InstructionTasks.Task.init(rawValue:)) }
                        examples = try InstructionTasks.parse([UInt8](data), source: path, tasks: tasks.isEmpty ? InstructionTasks.standard : tasks)
                    } else {
                        examples = try ParallelText.parse([UInt8](data), source: path)
                    }
                default:
                    examples = try JSONLines.parse([UInt8](data), source: path)
                    if text { examples = PretrainingText.text(of: examples) }
                }
            } catch {
                throw OpError("\(error)")
            }
            examples = selection(context.params).apply(examples)
            if examples.isEmpty {
                throw OpError("\(path): no examples left after the language, objective, max_bytes, max_prompt_bytes and split filters")
            }
            return try context.store.datasetWriter(examples, metadata: [("source", .string(source)), ("file", .string((path as NSString).lastPathComponent))])
        }
    )

    /// The shared filters, from the node's params.
    static func selection(_ params: JSONObject) -> Selection {
        Selection(languages: params["languages"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) },
                  objectives: params["objectives"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) },
                  maxBytes: params["max_bytes"]?.intValue,
                  maxPromptBytes: params["max_prompt_bytes"]?.intValue,
                  split: Split(rawValue: params["split"]?.stringValue ?? "all") ?? .all,
                  testFraction: params["test_fraction"]?.doubleValue ?? 0.1,
                  maxItems: params["max_items"]?.intValue,
                  itemsPerLanguage: params["items_per_language"]?.intValue)
    }

    /// The file a dataset node reads: `path` resolved against the spec's folder when given;
    /// else, for xsafety and parallel, the first existing file of `candidates`.
    /// - Throws: for jsonl without a path, or when no candidate exists (listing them and
    ///   saying how to point mergeflow at the file).
    static func locate(_ params: JSONObject, directory: String,
                       environment: [String: String] = ProcessInfo.processInfo.environment,
                       currentDirectory: String = FileManager.default.currentDirectoryPath) throws -> String {
        if let path = params["path"]?.stringValue { return OpContext.resolve(path, in: directory) }
        let source = params["source"]?.stringValue ?? "jsonl"
        guard let name = defaultFileName(source) else {
            throw OpError("source \(source) needs a path: the .jsonl file, relative to the spec's folder")
        }
        let places = candidates(name, directory: directory, environment: environment, currentDirectory: currentDirectory)
        var isDirectory: ObjCBool = false
        if let found = places.first(where: { FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && !isDirectory.boolValue }) {
            return found
        }
        let dataVariable = environment["MERGEFLOW_DATA"].map { $0.isEmpty ? "MERGEFLOW_DATA is empty" : "MERGEFLOW_DATA is \($0)" } ?? "MERGEFLOW_DATA is not set"
        throw OpError("""
            source \(source): no path given, and \(name) is not in any of the places looked at (\(dataVariable)):
            \(places.map { "  \($0)" }.joined(separator: "\n"))
            Give the file as params.path (relative to the spec's folder), or set MERGEFLOW_DATA to the folder that holds \(name).
            """)
    }

    /// The shipped file a source reads when no path is given.
    static func defaultFileName(_ source: String) -> String? {
        switch source {
        case "xsafety": return XSafety.fileName
        case "parallel", "tasks": return ParallelText.fileName
        default: return nil
        }
    }

    /// Where the shipped file `name` is looked for, in order: $MERGEFLOW_DATA, then the
    /// `shared/data` folder beside the project (specs live in `<project>/pipelines` and the
    /// data in `<project>/../shared/data`): `<spec folder>/../../shared/data`,
    /// `<spec folder>/../shared/data`, `<current folder>/../shared/data`. Duplicates removed.
    static func candidates(_ name: String, directory: String, environment: [String: String], currentDirectory: String) -> [String] {
        var folders: [String] = []
        if let data = environment["MERGEFLOW_DATA"], !data.isEmpty { folders.append(OpContext.resolve(data, in: currentDirectory)) }
        folders += [OpContext.resolve("../../shared/data", in: directory), OpContext.resolve("../shared/data", in: directory),
                    OpContext.resolve("../shared/data", in: currentDirectory)]
        var seen: Set<String> = []
        return folders.map { OpContext.resolve(name, in: $0) }.filter { seen.insert($0).inserted }
    }
}
