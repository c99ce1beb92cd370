import Foundation

/// What `verify` found.
public struct VerifyReport: Sendable {
    public var chunksChecked = 0
    public var bytesChecked = 0
    public var artifactsChecked = 0
    /// One line per problem; empty when the cache is sound.
    public var problems: [String] = []
    public var isClean: Bool { problems.isEmpty }
}

/// What `gc` removed.
public struct GarbageReport: Sendable {
    public var artifactsRemoved = 0
    public var chunksRemoved = 0
    public var bytesRemoved = 0
}

/// Sizes and counts, for `mergeflow status`.
public struct StoreStatus: Sendable {
    public var schemaVersion = 0
    public var chunkCount = 0
    public var chunkBytes = 0
    public var artifactsByKind: [(kind: String, count: Int, bytes: Int)] = []
    public var actionCount = 0
    public var pinCount = 0
    public var runCount = 0
    public var nodeRunCount = 0
    public var databaseBytes = 0
    public var walBytes = 0
}

extension Store {
    /// Re-hashes every chunk and checks every manifest, reference and action.
    public func verify() throws -> VerifyReport {
        var report = VerifyReport()
        try locked {
            let integrity = try db.prepare("PRAGMA integrity_check")
            while try integrity.step() {
                let line = integrity.text(0)
                if line != "ok" { report.problems.append("sqlite: \(line)") }
            }
            for bad in try scanChunksUnlocked(report: &report) { report.problems.append(bad.problem) }
            let artifacts = try db.prepare("SELECT digest FROM artifacts")
            var digests: [String] = []
            while try artifacts.step() { digests.append(artifacts.text(0)) }
            for hex in digests {
                report.artifactsChecked += 1
                guard let d = Digest(hex: hex) else { report.problems.append("artifact \(hex): not a digest"); continue }
                do {
                    let m = try manifestUnlocked(d)
                    let missing = try missingChunkCount(m.tensors.lazy.flatMap(\.chunks))
                    if missing > 0 { report.problems.append("artifact \(hex): \(missing) chunk(s) missing") }
                } catch {
                    report.problems.append("artifact \(hex): \(error)")
                }
            }
            let dangling = try db.prepare("""
                SELECT 'action ' || key || ' → ' || artifact FROM actions WHERE artifact NOT IN (SELECT digest FROM artifacts)
                UNION ALL
                SELECT 'pin ' || label || ' → ' || artifact FROM pins WHERE artifact NOT IN (SELECT digest FROM artifacts)
                """)
            while try dangling.step() { report.problems.append("\(dangling.text(0)): artifact missing") }
        }
        return report
    }

    /// A chunk row that does not hold what its digest says.
    struct BadChunk {
        let rowID: Int64
        let digest: [UInt8]
        let problem: String
    }

    /// Re-hashes every chunk; returns those whose size or content disagree with their
    /// row. Caller holds the lock.
    func scanChunksUnlocked(report: inout VerifyReport) throws -> [BadChunk] {
        var bad: [BadChunk] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Store.chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        let chunks = try db.prepare("SELECT id, digest, size, length(data) FROM chunks")
        while try chunks.step() {
            let size = Int(chunks.int(2)), stored = Int(chunks.int(3))
            let digest = chunks.blob(1)
            let name = digest.count == 32 ? Digest(bytes: digest).hex : "(bad digest of \(digest.count) bytes)"
            guard size == stored, size <= buffer.count, digest.count == 32 else {
                bad.append(BadChunk(rowID: chunks.int(0), digest: digest, problem: "chunk \(name): recorded size \(size), stored \(stored)"))
                continue
            }
            if size > 0 {
                try db.readBlob(table: "chunks", column: "data", rowID: chunks.int(0), offset: 0, count: size, into: buffer.baseAddress!)
            }
            let actual = SHA256.hash(UnsafeRawBufferPointer(rebasing: buffer[0..<size]))
            if actual != Digest(bytes: digest) {
                bad.append(BadChunk(rowID: chunks.int(0), digest: digest, problem: "chunk \(name): content hashes to \(actual.hex)"))
            }
            report.chunksChecked += 1
            report.bytesChecked += size
        }
        return bad
    }

    /// Deletes artifacts that no action, pin or saved in-node progress references, then chunks that no artifact
    /// references: those of the deleted artifacts at once, other orphans once they are older
    /// than `grace` seconds.
    ///
    /// The grace period protects a writer in another process whose chunks are stored but
    /// whose artifact is not yet published.
    ///
    /// On a full disk it first gives back the space reserved for this (`Store+Reserve`).
    public func collectGarbage(grace: TimeInterval) throws -> GarbageReport {
        try withReserveOnFullDisk { try collectGarbageOnce(grace: grace) }
    }

    private func collectGarbageOnce(grace: TimeInterval) throws -> GarbageReport {
        var report = GarbageReport()
        try locked {
            try db.transaction {
                // Chunks of the artifacts about to go were published, so no writer is
                // still adding them: they may go at once. (A writer that deduplicated
                // against one of them fails its publish cleanly and can retry.)
                try db.execute("""
                    CREATE TEMP TABLE IF NOT EXISTS doomed(chunk BLOB PRIMARY KEY) WITHOUT ROWID;
                    DELETE FROM temp.doomed;
                    INSERT OR IGNORE INTO temp.doomed
                        SELECT chunk FROM tensor_chunks WHERE artifact IN (
                            SELECT digest FROM artifacts WHERE digest NOT IN (SELECT artifact FROM actions)
                                                           AND digest NOT IN (SELECT artifact FROM pins)
                                                           AND digest NOT IN (SELECT artifact FROM partial_states));
                    DELETE FROM artifacts WHERE digest NOT IN (SELECT artifact FROM actions)
                                            AND digest NOT IN (SELECT artifact FROM pins)
                                            AND digest NOT IN (SELECT artifact FROM partial_states);
                    """)
                report.artifactsRemoved = db.changes
                let cutoff = Date().timeIntervalSince1970 - grace
                let unreferenced = """
                    FROM chunks WHERE (created <= ? OR digest IN (SELECT chunk FROM temp.doomed))
                    AND NOT EXISTS (SELECT 1 FROM tensor_chunks WHERE chunk = chunks.digest)
                    """
                let sizes = try db.prepare("SELECT count(*), coalesce(sum(size), 0) " + unreferenced)
                sizes.bind(1, cutoff)
                _ = try sizes.step()
                report.chunksRemoved = Int(sizes.int(0))
                report.bytesRemoved = Int(sizes.int(1))
                let delete = try db.prepare("DELETE " + unreferenced)
                delete.bind(1, cutoff)
                try delete.run()
                try db.execute("DELETE FROM temp.doomed")
            }
            // Return freed pages to the file system and fold the WAL back in.
            db.resetAll()
            try db.execute("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);")
        }
        return report
    }

    /// Sizes and counts of everything in the cache.
    public func status() throws -> StoreStatus {
        var s = StoreStatus()
        s.schemaVersion = try schemaVersion
        try locked {
            func count(_ sql: String) throws -> (Int, Int) {
                let q = try db.prepare(sql)
                _ = try q.step()
                return (Int(q.int(0)), Int(q.int(1)))
            }
            (s.chunkCount, s.chunkBytes) = try count("SELECT count(*), coalesce(sum(size), 0) FROM chunks")
            (s.actionCount, _) = try count("SELECT count(*), 0 FROM actions")
            (s.pinCount, _) = try count("SELECT count(*), 0 FROM pins")
            (s.runCount, _) = try count("SELECT count(*), 0 FROM runs")
            (s.nodeRunCount, _) = try count("SELECT count(*), 0 FROM node_runs")
            let kinds = try db.prepare("SELECT kind, count(*), sum(byte_size) FROM artifacts GROUP BY kind ORDER BY kind")
            while try kinds.step() { s.artifactsByKind.append((kinds.text(0), Int(kinds.int(1)), Int(kinds.int(2)))) }
        }
        let fm = FileManager.default
        s.databaseBytes = (try? fm.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        s.walBytes = (try? fm.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        return s
    }
}
