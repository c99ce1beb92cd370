import Foundation
import JSON
import Numerics

/// An artifact as one self-checking file, to move it between caches that share no database:
/// the coordinator stages a job's inputs into the spool as bundles, a worker's result comes
/// back as one. Layout:
///
///     mergeflow-bundle 1\n
///     {"digest","kind","metadata","tensors":[{name,dtype,shape,bytes,chunks}]}\n   (canonical JSON)
///     tensor data, in the header's order, each tensor's bytes in full
///
/// Written to a temporary name, synced and renamed into place, so a bundle that exists is
/// complete. Read back, every chunk is hashed against the header and the header against the
/// artifact digest before anything is published: a truncated or altered bundle is refused.
extension Store {
    static let bundleMagic = "mergeflow-bundle 1"

    /// Writes artifact `digest` to `path` (atomically: temporary file, fsync, rename).
    public func exportBundle(_ digest: Digest, to path: String) throws {
        let manifest = try self.manifest(digest)
        let table: [JSONValue] = manifest.tensors.map { t in
            .object(JSONObject([
                ("name", .string(t.name)), ("dtype", .string(t.dtype.rawValue)),
                ("shape", .array(t.shape.map { .number(Double($0)) })), ("bytes", .number(Double(t.byteCount))),
                ("chunks", .array(t.chunks.map { .string($0.hex) })),
            ]))
        }
        let header = JSONValue.object(JSONObject([
            ("digest", .string(digest.hex)), ("kind", .string(manifest.kind.rawValue)), ("metadata", manifest.metadata), ("tensors", .array(table)),
        ]))
        let temporary = path + ".partial-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
            throw StoreError.unreadableFile(path: temporary, reason: "cannot create")
        }
        guard let out = FileHandle(forWritingAtPath: temporary) else {
            throw StoreError.unreadableFile(path: temporary, reason: "cannot create")
        }
        do {
            try out.write(contentsOf: Data((Store.bundleMagic + "\n" + header.canonicalString + "\n").utf8))
            for t in manifest.tensors { try out.write(contentsOf: Data(try bytes(of: t))) }
            try out.synchronize()
            try out.close()
        } catch {
            try? out.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw StoreError.unreadableFile(path: path, reason: "cannot rename into place: \(reason)")
        }
    }

    /// What publishing an imported bundle does besides making the artifact visible.
    public enum BundlePublication {
        /// A plain artifact (a staged input).
        case artifact
        /// An artifact published under `key` (a command's log).
        case action(key: Digest)
        /// The result of `key`, releasing `owner`'s lease, clearing saved progress and
        /// finishing node run `nodeRun` with `detail`, in the same transaction.
        case result(key: Digest, owner: String, nodeRun: Int64, detail: String?)
        /// Saved in-node progress of `key` at `step`.
        case progress(key: Digest, step: Int)
    }

    /// Reads the bundle at `path`, checks it, and publishes it.
    /// - Parameter expected: the digest the bundle must hold (nil: any).
    /// - Returns: the artifact's digest.
    /// - Throws: `StoreError.corrupt` for a bundle that is truncated, altered or not the
    ///   expected artifact; nothing is published then.
    @discardableResult
    public func importBundle(at path: String, expected: Digest? = nil, as publication: BundlePublication = .artifact) throws -> Digest {
        guard let input = FileHandle(forReadingAtPath: path) else { throw StoreError.unreadableFile(path: path, reason: "cannot open") }
        defer { try? input.close() }
        func bad(_ why: String) -> StoreError { .corrupt("bundle \(path): \(why)") }
        // The two header lines.
        var head: [UInt8] = []
        var lines: [[UInt8]] = []
        while lines.count < 2 {
            guard let piece = try input.read(upToCount: 1 << 16), !piece.isEmpty else { throw bad("truncated header") }
            head.append(contentsOf: piece)
            while lines.count < 2, let nl = head.firstIndex(of: 10) {
                lines.append(Array(head[..<nl]))
                head.removeSubrange(...nl)
            }
        }
        guard String(decoding: lines[0], as: UTF8.self) == Store.bundleMagic else { throw bad("not a mergeflow bundle") }
        let header: JSONObject
        do {
            guard let object = try JSONValue.parse(lines[1]).objectValue else { throw bad("header is not an object") }
            header = object
        } catch let error as StoreError {
            throw error
        } catch {
            throw bad("header: \(error)")
        }
        guard let digestHex = header["digest"]?.stringValue, let digest = Digest(hex: digestHex),
              let kind = header["kind"]?.stringValue, let metadata = header["metadata"],
              let table = header["tensors"]?.arrayValue else { throw bad("header lacks digest, kind, metadata or tensors") }
        var entries: [TensorEntry] = []
        for value in table {
            guard let t = value.objectValue, let name = t["name"]?.stringValue,
                  let dtype = t["dtype"]?.stringValue.flatMap(DType.init(rawValue:)),
                  let shape = t["shape"]?.arrayValue?.compactMap(\.intValue), let bytes = t["bytes"]?.intValue,
                  let chunks = t["chunks"]?.arrayValue?.compactMap({ $0.stringValue.flatMap(Digest.init(hex:)) }),
                  bytes >= 0, chunks.count == max(1, (bytes + Store.chunkSize - 1) / Store.chunkSize) else {
                throw bad("malformed tensor entry \(value)")
            }
            entries.append(TensorEntry(name: name, dtype: dtype, shape: shape, byteCount: bytes, chunks: chunks))
        }
        let manifest = ArtifactManifest(kind: ArtifactKind(rawValue: kind), metadata: metadata, tensors: entries)
        guard manifest.digest == digest else { throw bad("header does not hash to \(digest.short) (got \(manifest.digest.short))") }
        if let expected, expected != digest { throw bad("holds \(digest.short), expected \(expected.short)") }
        // The data, chunk by chunk, each checked against its digest, in the header's order.
        var buffer = head
        func take(_ n: Int) throws -> [UInt8] {
            while buffer.count < n {
                guard let piece = try input.read(upToCount: max(1 << 20, n - buffer.count)), !piece.isEmpty else { throw bad("truncated data") }
                buffer.append(contentsOf: piece)
            }
            let out = Array(buffer[..<n])
            buffer.removeSubrange(..<n)
            return out
        }
        // Checked chunks waiting to be stored: one buffer, one transaction per 64 MiB.
        var pending: [(digest: Digest, start: Int, count: Int)] = [], blob: [UInt8] = []
        func flush() throws {
            guard !pending.isEmpty else { return }
            try blob.withUnsafeBytes { base in
                try putChunks(pending.map { ($0.digest, UnsafeRawBufferPointer(rebasing: base[$0.start..<($0.start + $0.count)])) })
            }
            pending.removeAll()
            blob.removeAll(keepingCapacity: true)
        }
        for entry in entries {
            var remaining = entry.byteCount
            for chunk in entry.chunks {
                let piece = try take(min(remaining, Store.chunkSize))
                remaining -= piece.count
                guard SHA256.hash(piece) == chunk else { throw bad("tensor \(entry.name): a chunk does not match its digest") }
                pending.append((chunk, blob.count, piece.count))
                blob.append(contentsOf: piece)
                if blob.count >= 64 << 20 { try flush() }
            }
        }
        if !buffer.isEmpty { throw bad("trailing bytes") }
        if let extra = try input.read(upToCount: 1), !extra.isEmpty { throw bad("trailing bytes") }
        try flush()
        switch publication {
        case .artifact:
            try publish(manifest, actionKey: nil, pin: nil)
        case .action(let key):
            try publish(manifest, actionKey: key, pin: nil)
        case let .result(key, owner, nodeRun, detail):
            try publish(manifest, actionKey: key, pin: nil) { [self] in
                try releaseLeaseUnlocked(key, owner: owner)
                try clearPartialStateUnlocked(key)
                try finishNodeRunUnlocked(nodeRun, status: .succeeded, artifact: digest, error: nil, detail: detail)
            }
        case let .progress(key, step):
            try publish(manifest, actionKey: nil, pin: nil) { [self] in
                try recordPartialStateUnlocked(key, step: step, artifact: digest)
            }
        }
        return digest
    }
}
