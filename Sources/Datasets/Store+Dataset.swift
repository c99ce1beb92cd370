import JSON
import Store

/// Datasets in the cache: one artifact of kind `dataset` whose single U8 tensor is the
/// canonical JSON Lines encoding of its examples (so equal datasets share one digest).
extension Store {
    public static let datasetKind = ArtifactKind.dataset
    static let examplesTensor = "examples.jsonl"

    /// A writer holding `examples`, with per-language and per-objective counts as metadata.
    public func datasetWriter(_ examples: [Example], metadata extra: [(String, JSONValue)] = []) throws -> ArtifactWriter {
        var counts: [String: Int] = [:]
        for e in examples { counts["\(e.objective)/\(e.lang)", default: 0] += 1 }
        let table = JSONObject(counts.keys.sorted().map { ($0, JSONValue.number(Double(counts[$0]!))) })
        let metadata = JSONObject([("examples", .number(Double(examples.count))), ("counts", .object(table))] + extra)
        let writer = newArtifact(kind: Store.datasetKind, metadata: .object(metadata))
        let bytes = JSONLines.encode(examples)
        try writer.add(name: Store.examplesTensor, fileBytes: bytes)
        return writer
    }

    /// The examples of several dataset artifacts, in order.
    public func loadDatasets(_ manifests: [ArtifactManifest]) throws -> [Example] {
        try manifests.flatMap { try loadDataset($0) }
    }

    /// The examples of a dataset artifact.
    public func loadDataset(_ manifest: ArtifactManifest) throws -> [Example] {
        guard manifest.kind == Store.datasetKind, let entry = manifest.tensor(named: Store.examplesTensor) else {
            throw StoreError.invalidTensor(name: Store.examplesTensor, reason: "artifact \(manifest.digest.short) is a \(manifest.kind), not a dataset")
        }
        let text = try bytes(of: entry)
        do { return try JSONLines.parse(text, source: "dataset \(manifest.digest.short)") } catch {
            throw StoreError.invalidTensor(name: Store.examplesTensor, reason: error.description)
        }
    }
}
