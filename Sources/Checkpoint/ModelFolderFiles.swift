import Foundation
import JSON
import Store

/// The files beside the weights that make a merge output a model transformers can load:
/// `config.json` and the tokenizer, taken from one input (mergekit's "donor": the base
/// model, else the first model).
public enum ModelFolderFiles {
    /// What mergekit 0.1.5 copies from the donor (`merge.py`, `_copy_tokenizer`), plus
    /// `vocab.json`, which byte-level BPE tokenizers need beside `merges.txt` (mergekit
    /// re-serializes those through transformers instead).
    public static let tokenizerFiles = [
        "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer.model", "added_tokens.json",
        "merges.txt", "vocab.json", "chat_template.jinja", "generation_config.json", "chat_template.json",
    ]

    /// Copies the donor's tokenizer files that exist (each written to a temporary name and
    /// renamed) and writes its `config.json` with `torch_dtype` set to the output dtype, and
    /// `num_hidden_layers` to `layers` when given (a slice merge changes the depth).
    /// - Returns: the names of the files written.
    @discardableResult
    public static func copy(from donor: String, to output: String, outputDType: DType?, layers: Int? = nil) throws -> [String] {
        var written: [String] = []
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: donor, isDirectory: &isDirectory), isDirectory.boolValue else { return [] }
        for name in tokenizerFiles {
            let source = (donor as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: source) else { continue }
            let target = (output as NSString).appendingPathComponent(name)
            do {
                try Data(contentsOf: URL(fileURLWithPath: source)).write(to: URL(fileURLWithPath: target), options: .atomic)
            } catch {
                throw CheckpointError(file: source, "cannot copy to \(target): \(error.localizedDescription)")
            }
            written.append(name)
        }
        let configPath = (donor as NSString).appendingPathComponent("config.json")
        if FileManager.default.fileExists(atPath: configPath) {
            let config: JSONValue
            do { config = try JSONValue.parse(contentsOf: configPath) } catch { throw CheckpointError(file: configPath, "\(error)") }
            guard var object = config.objectValue else { throw CheckpointError(file: configPath, "expected a JSON object") }
            if let outputDType {
                // transformers ≥ 4.56 writes "dtype", older ones "torch_dtype": set whichever
                // the donor has (both read either).
                let key = object["dtype"] != nil ? "dtype" : "torch_dtype"
                object[key] = .string(outputDType.torchName)
            }
            if let layers { object["num_hidden_layers"] = .number(Double(layers)) }
            let target = (output as NSString).appendingPathComponent("config.json")
            do {
                try Data((JSONValue.object(object).serialized(pretty: true) + "\n").utf8).write(to: URL(fileURLWithPath: target), options: .atomic)
            } catch {
                throw CheckpointError(file: target, "cannot write: \(error.localizedDescription)")
            }
            written.append("config.json")
        }
        return written
    }
}
