import Foundation

/// What `verify --repair` removed.
public struct RepairReport: Sendable {
    /// Chunks whose content did not match their digest (or whose size did not match).
    public var chunksRemoved = 0
    /// Artifacts that used a removed or missing chunk.
    public var artifactsRemoved: [String] = []
    /// Cached node results (actions) that named a removed or missing artifact.
    public var actionsRemoved = 0
    /// Pins (label, artifact) that named a removed artifact: imports to bring back.
    public var pinsRemoved: [(label: String, artifact: String)] = []
    public var partialStatesRemoved = 0
}

extension Store {
    /// Removes corrupt chunks and everything that needs them, so the next `run`
    /// recomputes it: every artifact that uses a corrupt or missing chunk, and the actions,
    /// pins and saved in-node progress that name such an artifact (or any missing one).
    ///
    /// Nothing valid is deleted: other chunks of the removed artifacts stay until `gc`
    /// finds them unreferenced. Results computed downstream of a removed artifact stay
    /// cached; they are keyed by its digest, which a recomputation reproduces.
    /// On a full disk it first gives back the space reserved for this (`Store+Reserve`).
    public func repair() throws -> RepairReport {
        try withReserveOnFullDisk { try repairOnce() }
    }

    private func repairOnce() throws -> RepairReport {
        var result = RepairReport()
        try locked {
            var scan = VerifyReport()
            let bad = try scanChunksUnlocked(report: &scan)
            try db.transaction {
                try db.execute("""
                    CREATE TEMP TABLE IF NOT EXISTS bad_chunks(digest BLOB PRIMARY KEY) WITHOUT ROWID;
                    CREATE TEMP TABLE IF NOT EXISTS bad_artifacts(digest TEXT PRIMARY KEY) WITHOUT ROWID;
                    DELETE FROM temp.bad_chunks; DELETE FROM temp.bad_artifacts;
                    """)
                let mark = try db.prepare("INSERT OR IGNORE INTO temp.bad_chunks(digest) VALUES (?)")
                let delete = try db.prepare("DELETE FROM chunks WHERE id = ?")
                for chunk in bad {
                    mark.reset()
                    mark.bind(1, chunk.digest)
                    try mark.run()
                    delete.reset()
                    delete.bind(1, chunk.rowID)
                    try delete.run()
                    result.chunksRemoved += db.changes
                }
                // Corrupt chunks are gone now, so "missing" covers them and chunks lost before.
                try db.execute("""
                    INSERT OR IGNORE INTO temp.bad_artifacts
                        SELECT DISTINCT tc.artifact FROM tensor_chunks tc
                        WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.digest = tc.chunk);
                    """)
                let artifacts = try db.prepare("SELECT digest FROM temp.bad_artifacts ORDER BY digest")
                while try artifacts.step() { result.artifactsRemoved.append(artifacts.text(0)) }
                let pins = try db.prepare("""
                    SELECT label, artifact FROM pins WHERE artifact IN (SELECT digest FROM temp.bad_artifacts)
                    OR artifact NOT IN (SELECT digest FROM artifacts) ORDER BY label
                    """)
                while try pins.step() { result.pinsRemoved.append((pins.text(0), pins.text(1))) }
                let gone = "artifact IN (SELECT digest FROM temp.bad_artifacts) OR artifact NOT IN (SELECT digest FROM artifacts)"
                try db.execute("DELETE FROM actions WHERE \(gone)")
                result.actionsRemoved = db.changes
                try db.execute("DELETE FROM pins WHERE \(gone)")
                try db.execute("DELETE FROM partial_states WHERE \(gone)")
                result.partialStatesRemoved = db.changes
                try db.execute("""
                    DELETE FROM artifacts WHERE digest IN (SELECT digest FROM temp.bad_artifacts);
                    DELETE FROM temp.bad_chunks; DELETE FROM temp.bad_artifacts;
                    """)
            }
        }
        return result
    }
}
