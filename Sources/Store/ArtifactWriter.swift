import JSON
import Numerics

/// Builds an artifact tensor by tensor, streaming each tensor's chunks into the cache as it
/// arrives, then publishes the manifest atomically.
///
/// Memory stays at one tensor (the caller's buffer): chunks are hashed in parallel and
/// written straight from that buffer.
public final class ArtifactWriter {
    private let store: Store
    public let kind: ArtifactKind
    public var metadata: JSONValue
    private var entries: [TensorEntry] = []
    private var names: Set<String> = []
    /// Small tensors' chunks, held back to be written in the publish transaction: an
    /// artifact of small tensors then costs one transaction, not one per tensor.
    private var deferred: [(digest: Digest, bytes: [UInt8])] = []
    private var deferredBytes = 0
    static let deferLimit = 1 << 20

    /// Bytes per chunk transaction: bounds the WAL's growth during a large write.
    static let transactionBytes = 64 << 20

    init(store: Store, kind: ArtifactKind, metadata: JSONValue) {
        self.store = store
        self.kind = kind
        self.metadata = metadata
    }

    /// Names added so far.
    public var tensorNames: [String] { entries.map(\.name) }

    /// Adds a tensor of another artifact whose chunks the cache already holds, without
    /// copying its bytes: re-publishing an artifact costs one manifest.
    /// - Throws: `StoreError.invalidTensor` for a duplicate name or chunks not in the cache.
    public func add(existing entry: TensorEntry) throws {
        guard !names.contains(entry.name) else { throw StoreError.invalidTensor(name: entry.name, reason: "added twice") }
        guard try store.missingChunkCount(entry.chunks) == 0 else {
            throw StoreError.invalidTensor(name: entry.name, reason: "its chunks are not in the cache")
        }
        names.insert(entry.name)
        entries.append(entry)
    }

    /// Adds a file's bytes (a dataset's JSON Lines, a report page) as a one-dimensional U8 tensor.
    public func add(name: String, fileBytes bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try add(name: name, dtype: .u8, shape: [bytes.count], bytes: $0) }
    }

    /// Adds a tensor from raw little-endian bytes of `dtype`.
    /// - Throws: `StoreError.invalidTensor` for a duplicate name, a negative dimension, a
    ///   shape whose size overflows, or a byte count that does not match the shape.
    public func add(name: String, dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) throws {
        guard !names.contains(name) else { throw StoreError.invalidTensor(name: name, reason: "added twice") }
        guard let expected = ArtifactWriter.byteCount(shape: shape, dtype: dtype) else {
            throw StoreError.invalidTensor(name: name, reason: "shape \(shape) is negative or too large")
        }
        guard expected == bytes.count else {
            throw StoreError.invalidTensor(name: name, reason: "shape \(shape) × \(dtype.rawValue) needs \(expected) bytes, got \(bytes.count)")
        }
        let digests = ArtifactWriter.hashChunks(bytes)
        if bytes.count <= ArtifactWriter.deferLimit - deferredBytes {
            deferred.append((digests[0], Array(bytes)))
            deferredBytes += bytes.count
            names.insert(name)
            entries.append(TensorEntry(name: name, dtype: dtype, shape: shape, byteCount: bytes.count, chunks: digests))
            return
        }
        var pieces: [(digest: Digest, bytes: UnsafeRawBufferPointer)] = []
        var pending = 0
        for (i, d) in digests.enumerated() {
            let start = i * Store.chunkSize
            let piece = UnsafeRawBufferPointer(rebasing: bytes[start..<min(bytes.count, start + Store.chunkSize)])
            pieces.append((d, piece))
            pending += piece.count
            if pending >= ArtifactWriter.transactionBytes {
                try store.putChunks(pieces)
                pieces.removeAll(keepingCapacity: true)
                pending = 0
            }
        }
        try store.putChunks(pieces)
        names.insert(name)
        entries.append(TensorEntry(name: name, dtype: dtype, shape: shape, byteCount: bytes.count, chunks: digests))
    }

    /// Adds a Float32 tensor.
    public func add(name: String, tensor: Tensor) throws {
        try tensor.withUnsafeBufferPointer { try add(name: name, dtype: .f32, shape: tensor.shape, bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Publishes the artifact (and its action and pin, if given) in one transaction.
    /// Publishing content that already exists is a no-op that returns the same manifest.
    ///
    /// - Parameters:
    ///   - actionKey: the action that produced it (the engine's cache entry).
    ///   - pin: a label that keeps it alive through `gc`.
    ///   - releasingLeaseOf: drops this owner's lease on `actionKey` in the same transaction.
    ///   - clearingPartialState: forgets saved in-node progress of `actionKey` in the same transaction.
    @discardableResult
    ///   - finishing: marks this node run succeeded, in the same transaction.
    public func publish(actionKey: Digest? = nil, pin: String? = nil, releasingLeaseOf owner: String? = nil,
                        clearingPartialState: Bool = false, finishing: (id: Int64, detail: String?)? = nil) throws -> ArtifactManifest {
        let manifest = ArtifactManifest(kind: kind, metadata: metadata, tensors: entries)
        try store.publish(manifest, actionKey: actionKey, pin: pin, smallChunks: deferred) { [store] in
            if let key = actionKey, let owner { try store.releaseLeaseUnlocked(key, owner: owner) }
            if let key = actionKey, clearingPartialState { try store.clearPartialStateUnlocked(key) }
            if let finishing { try store.finishNodeRunUnlocked(finishing.id, status: .succeeded, artifact: manifest.digest, error: nil, detail: finishing.detail) }
        }
        return manifest
    }

    /// Publishes this artifact as the saved progress of an unfinished action at `step`
    /// (replacing earlier progress), in one transaction.
    @discardableResult
    public func publishProgress(of actionKey: Digest, step: Int) throws -> ArtifactManifest {
        let manifest = ArtifactManifest(kind: kind, metadata: metadata, tensors: entries)
        try store.publish(manifest, actionKey: nil, pin: nil, smallChunks: deferred) { [store] in
            try store.recordPartialStateUnlocked(actionKey, step: step, artifact: manifest.digest)
        }
        return manifest
    }

    /// product(shape) × dtype.size, or nil on a negative dimension or overflow.
    public static func byteCount(shape: [Int], dtype: DType) -> Int? {
        var n = dtype.size
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// SHA-256 of each `Store.chunkSize` piece, hashed in parallel. An empty tensor has one
    /// empty chunk, so every tensor has at least one.
    static func hashChunks(_ bytes: UnsafeRawBufferPointer) -> [Digest] {
        let count = max(1, (bytes.count + Store.chunkSize - 1) / Store.chunkSize)
        if count == 1 { return [SHA256.hash(bytes)] }
        let source = SendableBytes(bytes)
        let results = DigestSlots(count: count)
        Parallel.forEach(count) { i in
            let start = i * Store.chunkSize
            let piece = UnsafeRawBufferPointer(rebasing: source.bytes[start..<min(source.bytes.count, start + Store.chunkSize)])
            results.set(i, SHA256.hash(piece))
        }
        return results.values
    }
}

/// Read-only bytes shared with hashing workers.
struct SendableBytes: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
}

/// One slot per worker result; workers write disjoint slots. Raw memory, not an array
/// property: concurrent mutating access to a class's array would break Swift's
/// exclusivity rule even on disjoint indices.
final class DigestSlots: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Digest?>
    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }
    deinit {
        slots.deinitialize()
        slots.deallocate()
    }
    func set(_ i: Int, _ d: Digest) { slots[i] = d }
    var values: [Digest] { slots.map { $0! } }
}
