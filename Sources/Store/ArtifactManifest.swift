import JSON

/// One tensor of an artifact: its name, type, shape, and the chunks holding its bytes.
public struct TensorEntry: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    /// Bytes of data: product(shape) × dtype.size.
    public var byteCount: Int
    /// Chunk digests in order; their concatenation is the tensor's little-endian data.
    public var chunks: [Digest]

    public var elementCount: Int { shape.reduce(1, *) }
}

/// What an artifact is: a kind ("checkpoint", "dataset", "metrics" …), free-form metadata,
/// and a table of tensors. The artifact's digest is the SHA-256 of this manifest's
/// canonical JSON, so equal content has one name however it was produced.
public struct ArtifactManifest: Sendable {
    public let digest: Digest
    public let kind: ArtifactKind
    public let metadata: JSONValue
    /// Sorted by name (the canonical order).
    public let tensors: [TensorEntry]
    /// Name → position in `tensors`: merges look every tensor up by name in every input.
    private let positions: [String: Int]

    public init(kind: ArtifactKind, metadata: JSONValue, tensors: [TensorEntry]) {
        let sorted = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        self.kind = kind
        self.metadata = metadata
        self.tensors = sorted
        self.positions = Dictionary(sorted.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.digest = ArtifactManifest.computeDigest(kind: kind, metadata: metadata, tensors: sorted)
    }

    /// Total tensor bytes.
    public var byteCount: Int { tensors.reduce(0) { $0 + $1.byteCount } }

    public func tensor(named name: String) -> TensorEntry? {
        positions[name].map { tensors[$0] }
    }

    /// SHA-256 of `{"kind","metadata","tensors":[{name,dtype,shape,bytes,chunks}]}` in
    /// canonical JSON.
    static func computeDigest(kind: ArtifactKind, metadata: JSONValue, tensors: [TensorEntry]) -> Digest {
        let table: [JSONValue] = tensors.map { t in
            .object(JSONObject([
                ("name", .string(t.name)),
                ("dtype", .string(t.dtype.rawValue)),
                ("shape", .array(t.shape.map { .number(Double($0)) })),
                ("bytes", .number(Double(t.byteCount))),
                ("chunks", .array(t.chunks.map { .string($0.hex) })),
            ]))
        }
        let manifest = JSONValue.object(JSONObject([
            ("kind", .string(kind.rawValue)), ("metadata", metadata), ("tensors", .array(table)),
        ]))
        return SHA256.hash(manifest.canonicalData())
    }
}
