import Foundation
import JSON
import Numerics

/// The content-addressed cache: one SQLite database in WAL mode.
///
/// - Chunks (≤ `chunkSize` bytes, keyed by SHA-256) hold tensor data; identical data is
///   stored once.
/// - Artifacts are manifests over chunks, named by the digest of the manifest.
/// - Actions map an action key (what produced it) to an artifact.
///
/// Chunks are written before the artifact that uses them, in their own transactions; the
/// artifact, its tensor table and its action become visible together in one transaction
/// (`ArtifactWriter.publish`). A crash leaves at most orphan chunks, which `gc` removes.
///
/// One connection per `Store`, guarded by a lock, so a `Store` can be shared across threads.
public final class Store: @unchecked Sendable {
    /// Largest chunk: big enough that per-row overhead vanishes, small enough that no row
    /// is huge and a tensor streams through memory a piece at a time.
    public static let chunkSize = 4 << 20

    public let path: String
    let db: SQLiteConnection
    private let lock = NSLock()
    /// The device and inode of the file opened, to notice it being deleted or replaced
    /// (see `checkStillAtPath`).
    let identity: FileIdentity?

    /// Opens or creates the cache at `path` (its folder is created if needed) and brings
    /// its schema up to date.
    /// - Throws: `StoreError.newerSchema` for a cache written by a newer mergeflow,
    ///   `SQLiteError` if the file is not a usable database.
    public init(path: String) throws {
        self.path = path
        // URL, not NSString.deletingLastPathComponent: swift-corelibs-foundation traps on a
        // one-character relative path such as "c".
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        db = try Store.openConfigured(path)
        identity = FileIdentity(path: path)
        try migrate()
        ensureReserve()
    }

    /// `connect`, then the connection's settings, and the file's where they differ.
    ///
    /// Two processes creating the same new cache at once: switching it to WAL needs the
    /// file to itself, and SQLite can answer "database is locked" at once instead of
    /// waiting out the busy timeout while the other process holds it (measured: one pair in
    /// 60 of `mergeflow status` started together on a fresh path). The whole opening is
    /// then tried again after a short pause, by which time the other has switched it.
    static func openConfigured(_ path: String) throws -> SQLiteConnection {
        var attempt = 0
        while true {
            do {
                let (db, journalMode) = try connect(path)
                // Temporary tables and sorts (gc's list of doomed chunks, GROUP BY) stay in
                // memory: on a full disk they could not be written, and gc must work there.
                try db.execute("PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = ON;")
                // Opening an existing cache writes nothing (so status, verify and gc work on a
                // full disk): the file's settings are only set when they differ.
                if journalMode != "wal" {
                    // page_size and auto_vacuum only take effect on a new, empty database.
                    try db.execute("PRAGMA page_size = 16384; PRAGMA auto_vacuum = INCREMENTAL;")
                    try db.execute("PRAGMA journal_mode = WAL;")
                }
                try db.execute("PRAGMA synchronous = NORMAL;")
                return db
            } catch let error as SQLiteError where error.isBusy && attempt < 50 {
                attempt += 1
                usleep(useconds_t(10_000 * min(attempt, 10)))
            }
        }
    }

    /// Opens a connection and reads the journal mode, its first access to the database.
    ///
    /// A WAL database needs a shared-memory index file beside it (`PATH-shm`), created and
    /// sized on first access when no other process has the cache open. On a full disk that
    /// fails (an I/O error sizing it): the connection is then opened again in exclusive
    /// locking mode, where SQLite keeps the index in this process's memory. Other processes
    /// wait for it, which is acceptable for the `status`, `verify` or `gc` that frees space.
    static func connect(_ path: String) throws -> (SQLiteConnection, journalMode: String) {
        // The failed connection is closed (its locks released) before the second opens.
        func open(exclusive: Bool) throws -> (SQLiteConnection, journalMode: String) {
            let db = try SQLiteConnection(path: path)
            if exclusive { try db.execute("PRAGMA locking_mode = EXCLUSIVE") }
            return (db, try db.singleText("PRAGMA journal_mode"))
        }
        do {
            return try open(exclusive: false)
        } catch let error as SQLiteError where error.isIOError || error.isFull {
            return try open(exclusive: true)
        }
    }

    /// Throws unless the file at `path` is still the one this store opened (same device
    /// and inode). A cache deleted or replaced while a run writes to it would take the
    /// run's results with the unlinked file; the scheduler checks before publishing.
    public func checkStillAtPath() throws {
        guard let identity, FileIdentity(path: path) == identity else {
            throw StoreError.cacheFileReplaced(path: path)
        }
    }

    /// Runs `body` holding the connection lock.
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer {
            db.resetAll()
            lock.unlock()
        }
        return try body()
    }

    private func migrate() throws {
        // Read first: a current cache is opened without a write transaction.
        if try schemaVersion == Schema.currentVersion { return }
        try locked {
            try db.transaction {
                let version = try schemaVersionUnlocked()
                if version > Schema.currentVersion {
                    throw StoreError.newerSchema(path: path, found: version, supported: Schema.currentVersion)
                }
                for v in version..<Schema.currentVersion {
                    try db.execute(Schema.migrations[v])
                }
                if version != Schema.currentVersion {
                    try db.execute("PRAGMA user_version = \(Schema.currentVersion)")
                }
            }
        }
    }

    private func schemaVersionUnlocked() throws -> Int {
        let s = try db.prepare("PRAGMA user_version")
        _ = try s.step()
        return Int(s.int(0))
    }

    /// The schema version of the open cache.
    public var schemaVersion: Int {
        get throws { try locked { try schemaVersionUnlocked() } }
    }

    // MARK: Chunks

    /// Stores the pieces whose digests are not yet present, in one transaction.
    func putChunks(_ pieces: [(digest: Digest, bytes: UnsafeRawBufferPointer)]) throws {
        guard !pieces.isEmpty else { return }
        try locked { try db.transaction { try putChunksUnlocked(pieces) } }
    }

    /// Inserts the pieces not yet stored. Caller holds the lock, inside a transaction.
    func putChunksUnlocked(_ pieces: [(digest: Digest, bytes: UnsafeRawBufferPointer)]) throws {
        let now = Date().timeIntervalSince1970
        let exists = try db.prepare("SELECT 1 FROM chunks WHERE digest = ?")
        let insert = try db.prepare("INSERT INTO chunks(digest, size, created, data) VALUES (?, ?, ?, ?)")
        for piece in pieces {
            exists.reset()
            exists.bind(1, piece.digest.bytes)
            if try exists.step() { continue }
            insert.reset()
            insert.bind(1, piece.digest.bytes).bind(2, piece.bytes.count).bind(3, now)
            insert.bindNoCopy(4, piece.bytes)
            try insert.run()
        }
    }

    /// Whether every digest names a stored chunk. Caller holds the lock.
    func missingChunkCount(_ digests: some Sequence<Digest>) throws -> Int {
        let exists = try db.prepare("SELECT 1 FROM chunks WHERE digest = ?")
        var missing = 0
        for d in Set(digests) {
            exists.reset()
            exists.bind(1, d.bytes)
            if try !exists.step() { missing += 1 }
        }
        return missing
    }

    // MARK: Artifacts

    /// Starts writing an artifact; nothing is visible until `publish`.
    public func newArtifact(kind: ArtifactKind, metadata: JSONValue = .object(JSONObject())) -> ArtifactWriter {
        ArtifactWriter(store: self, kind: kind, metadata: metadata)
    }

    /// Makes `manifest` visible, with its action and pin, in one transaction.
    /// - Throws: `StoreError.missingChunks` if a chunk vanished (a concurrent `gc`).
    func publish(_ manifest: ArtifactManifest, actionKey: Digest?, pin: String?,
                 smallChunks: [(digest: Digest, bytes: [UInt8])] = [],
                 inTransaction extra: (() throws -> Void)? = nil) throws {
        let now = Date().timeIntervalSince1970
        try locked {
            try db.transaction {
                for piece in smallChunks {
                    try piece.bytes.withUnsafeBytes { try putChunksUnlocked([(piece.digest, $0)]) }
                }
                let missing = try missingChunkCount(manifest.tensors.lazy.flatMap(\.chunks))
                if missing > 0 { throw StoreError.missingChunks(artifact: manifest.digest.hex, count: missing) }
                let insert = try db.prepare("""
                    INSERT OR IGNORE INTO artifacts(digest, kind, metadata, byte_size, tensor_count, created)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """)
                insert.bind(1, manifest.digest.hex).bind(2, manifest.kind.rawValue).bind(3, manifest.metadata.canonicalString)
                    .bind(4, manifest.byteCount).bind(5, manifest.tensors.count).bind(6, now)
                try insert.run()
                if db.changes == 1 {
                    let tensor = try db.prepare("INSERT INTO tensors(artifact, ordinal, name, dtype, shape, byte_size) VALUES (?, ?, ?, ?, ?, ?)")
                    let chunk = try db.prepare("INSERT INTO tensor_chunks(artifact, ordinal, seq, chunk) VALUES (?, ?, ?, ?)")
                    for (ordinal, t) in manifest.tensors.enumerated() {
                        tensor.reset()
                        tensor.bind(1, manifest.digest.hex).bind(2, ordinal).bind(3, t.name).bind(4, t.dtype.rawValue)
                            .bind(5, JSONValue.array(t.shape.map { .number(Double($0)) }).canonicalString).bind(6, t.byteCount)
                        try tensor.run()
                        for (seq, d) in t.chunks.enumerated() {
                            chunk.reset()
                            chunk.bind(1, manifest.digest.hex).bind(2, ordinal).bind(3, seq).bind(4, d.bytes)
                            try chunk.run()
                        }
                    }
                }
                if let actionKey {
                    let action = try db.prepare("INSERT OR REPLACE INTO actions(key, artifact, created) VALUES (?, ?, ?)")
                    action.bind(1, actionKey.hex).bind(2, manifest.digest.hex).bind(3, now)
                    try action.run()
                }
                if let pin {
                    let p = try db.prepare("INSERT OR REPLACE INTO pins(label, artifact, created) VALUES (?, ?, ?)")
                    p.bind(1, pin).bind(2, manifest.digest.hex).bind(3, now)
                    try p.run()
                }
                try extra?()
            }
        }
    }

    /// Whether an artifact with this digest is published.
    public func contains(_ digest: Digest) throws -> Bool {
        try locked {
            let s = try db.prepare("SELECT 1 FROM artifacts WHERE digest = ?")
            s.bind(1, digest.hex)
            return try s.step()
        }
    }

    /// The manifest of a published artifact.
    /// - Throws: `StoreError.notFound` if there is none.
    public func manifest(_ digest: Digest) throws -> ArtifactManifest {
        try locked { try manifestUnlocked(digest) }
    }

    func manifestUnlocked(_ digest: Digest) throws -> ArtifactManifest {
        let a = try db.prepare("SELECT kind, metadata FROM artifacts WHERE digest = ?")
        a.bind(1, digest.hex)
        guard try a.step() else { throw StoreError.notFound("artifact \(digest.hex)") }
        let kind = a.text(0)
        let metadata = try JSONValue.parse(a.text(1))
        var entries: [TensorEntry] = []
        let t = try db.prepare("SELECT ordinal, name, dtype, shape, byte_size FROM tensors WHERE artifact = ? ORDER BY ordinal")
        t.bind(1, digest.hex)
        var ordinals: [Int] = []
        while try t.step() {
            guard let dtype = DType(rawValue: t.text(2)),
                  let shape = try JSONValue.parse(t.text(3)).arrayValue?.compactMap(\.intValue) else {
                throw StoreError.corrupt("artifact \(digest.hex): tensor \(t.text(1)) has a bad dtype or shape")
            }
            ordinals.append(Int(t.int(0)))
            entries.append(TensorEntry(name: t.text(1), dtype: dtype, shape: shape, byteCount: Int(t.int(4)), chunks: []))
        }
        let c = try db.prepare("SELECT ordinal, chunk FROM tensor_chunks WHERE artifact = ? ORDER BY ordinal, seq")
        c.bind(1, digest.hex)
        var index = 0
        while try c.step() {
            let ordinal = Int(c.int(0))
            while index < ordinals.count && ordinals[index] < ordinal { index += 1 }
            guard index < ordinals.count && ordinals[index] == ordinal else {
                throw StoreError.corrupt("artifact \(digest.hex): chunk list for a missing tensor \(ordinal)")
            }
            entries[index].chunks.append(Digest(bytes: c.blob(1)))
        }
        let manifest = ArtifactManifest(kind: ArtifactKind(rawValue: kind), metadata: metadata, tensors: entries)
        guard manifest.digest == digest else {
            throw StoreError.corrupt("artifact \(digest.hex): manifest hashes to \(manifest.digest.hex)")
        }
        return manifest
    }

    /// A tensor's bytes as stored (for U8 tensors: the file added with `add(name:fileBytes:)`).
    public func bytes(of entry: TensorEntry) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: entry.byteCount)
        try bytes.withUnsafeMutableBytes { try readBytes(of: entry, into: $0) }
        return bytes
    }

    /// Copies a tensor's bytes (as stored, little-endian `dtype`) into `destination`, and
    /// checks every chunk against its digest: corrupt data is never handed to a computation
    /// or an export (a flipped bit on disk would otherwise flow, correctly hashed, into every
    /// artifact built from it).
    /// - Precondition: `destination.count == entry.byteCount`.
    /// - Throws: `StoreError.corruptChunk` naming the chunk, the tensor and the artifacts
    ///   that use it; `StoreError.missingChunks`, `StoreError.corrupt` for a broken table.
    public func readBytes(of entry: TensorEntry, into destination: UnsafeMutableRawBufferPointer) throws {
        precondition(destination.count == entry.byteCount, "readBytes: buffer of \(destination.count) bytes for \(entry.byteCount)")
        try readUnverifiedBytes(of: entry, into: destination)
        if let bad = ChunkCheck.firstMismatch(entry.chunks, in: UnsafeRawBufferPointer(destination)) {
            throw StoreError.corruptChunk(chunk: entry.chunks[bad].hex, tensor: entry.name,
                                          artifacts: try artifactsUsing(chunk: entry.chunks[bad]))
        }
    }

    /// Artifacts whose tensors use a chunk (a few, for messages).
    func artifactsUsing(chunk: Digest) throws -> [String] {
        try locked {
            let s = try db.prepare("SELECT DISTINCT artifact FROM tensor_chunks WHERE chunk = ? LIMIT 5")
            s.bind(1, chunk.bytes)
            var out: [String] = []
            while try s.step() { out.append(s.text(0)) }
            return out
        }
    }

    private func readUnverifiedBytes(of entry: TensorEntry, into destination: UnsafeMutableRawBufferPointer) throws {
        try locked {
            let find = try db.prepare("SELECT id, size FROM chunks WHERE digest = ?")
            var offset = 0
            for d in entry.chunks {
                find.reset()
                find.bind(1, d.bytes)
                guard try find.step() else { throw StoreError.missingChunks(artifact: "tensor \(entry.name)", count: 1) }
                let size = Int(find.int(1))
                guard offset + size <= entry.byteCount else {
                    throw StoreError.corrupt("tensor \(entry.name): chunks hold more than \(entry.byteCount) bytes")
                }
                if size > 0 {
                    try db.readBlob(table: "chunks", column: "data", rowID: find.int(0), offset: 0, count: size,
                                    into: destination.baseAddress! + offset)
                }
                offset += size
            }
            guard offset == entry.byteCount else {
                throw StoreError.corrupt("tensor \(entry.name): chunks hold \(offset) bytes, expected \(entry.byteCount)")
            }
        }
    }

    /// Loads a tensor as Float32, widening F16 / BF16.
    public func loadTensor(_ entry: TensorEntry) throws -> Tensor {
        var tensor = Tensor(shape: entry.shape)
        try tensor.withUnsafeMutableBufferPointer { try readFloats(of: entry, into: $0) }
        return tensor
    }

    /// Reads a tensor as Float32 into `out` (exactly its element count), widening F16 / BF16.
    public func readFloats(of entry: TensorEntry, into out: UnsafeMutableBufferPointer<Float>) throws {
        precondition(out.count == entry.elementCount, "readFloats: buffer of \(out.count) floats for \(entry.elementCount)")
        if entry.dtype == .f32 {
            try readBytes(of: entry, into: UnsafeMutableRawBufferPointer(out))
            return
        }
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, entry.byteCount), alignment: 16)
        defer { raw.deallocate() }
        try readBytes(of: entry, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<entry.byteCount]))
        if let src = raw.baseAddress, let dst = out.baseAddress { entry.dtype.widen(src, count: entry.elementCount, into: dst) }
    }

    // MARK: Actions and pins

    /// The artifact an action produced, if it is cached and all its chunks still exist
    /// (a hit is only trusted once its blobs are confirmed).
    public func lookupAction(_ key: Digest) throws -> Digest? {
        try locked {
            let s = try db.prepare("SELECT artifact FROM actions WHERE key = ?")
            s.bind(1, key.hex)
            guard try s.step(), let artifact = Digest(hex: s.text(0)) else { return nil }
            let missing = try db.prepare("""
                SELECT count(*) FROM tensor_chunks tc WHERE tc.artifact = ?
                AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.digest = tc.chunk)
                """)
            missing.bind(1, artifact.hex)
            _ = try missing.step()
            return missing.int(0) == 0 ? artifact : nil
        }
    }

    /// Keeps `artifact` alive through `gc` under `label` (replacing an earlier pin).
    public func pin(_ artifact: Digest, label: String) throws {
        try locked {
            let p = try db.prepare("INSERT OR REPLACE INTO pins(label, artifact, created) VALUES (?, ?, ?)")
            p.bind(1, label).bind(2, artifact.hex).bind(3, Date().timeIntervalSince1970)
            try p.run()
        }
    }

    /// Removes a pin; returns whether one existed.
    @discardableResult
    public func unpin(label: String) throws -> Bool {
        try locked {
            let p = try db.prepare("DELETE FROM pins WHERE label = ?")
            p.bind(1, label)
            try p.run()
            return db.changes > 0
        }
    }

    /// Artifacts whose digest starts with `prefix` (for short digests on the command line).
    public func artifacts(withPrefix prefix: String) throws -> [Digest] {
        try locked {
            let s = try db.prepare("SELECT digest FROM artifacts WHERE digest >= ? AND digest < ? ORDER BY digest LIMIT 10")
            s.bind(1, prefix.lowercased()).bind(2, prefix.lowercased() + "g")
            var out: [Digest] = []
            while try s.step() { if let d = Digest(hex: s.text(0)) { out.append(d) } }
            return out
        }
    }
}
