import Foundation

/// One `mergeflow run` as recorded in the cache.
public struct RunRecord: Sendable {
    public let id: Int64
    public let specName: String
    public let specDigest: String
    public let command: String
    public let host: String
    public let pid: Int
    public let started: Double
    public let finished: Double?
    public let status: String
    public let engineVersion: String
    /// Node runs by status (succeeded, cached, failed, skipped, running).
    public var counts: [String: Int] = [:]
}

/// How one instance's node run ended (or that it is still running): the `node_runs.status`
/// column, written by the scheduler and by a publishing child, read by `runs`, `explain`,
/// `logs` and the `node_metrics` view.
public enum NodeRunStatus: String, Sendable, CaseIterable {
    /// Leased and computing (or its process died: `runs` shows "interrupted").
    case running
    /// Computed and published by this run.
    case succeeded
    /// Found in the cache.
    case cached
    /// Failed; nothing was published.
    case failed
    /// Not attempted: an input failed.
    case skipped

    /// SQL list of statuses, e.g. `'succeeded', 'cached'`, for queries.
    static func sql(_ statuses: NodeRunStatus...) -> String { statuses.map { "'\($0.rawValue)'" }.joined(separator: ", ") }
}

/// A node run recorded after the fact in one batch (cache hits, skips, failures to key):
/// what the scheduler collects during a run and `recordNodeRuns` writes at its end.
public struct NodeRunRow: Sendable {
    public var node: String
    public var op: String
    public var actionKey: Digest?
    public var status: NodeRunStatus
    public var artifact: Digest?
    public var error: String?

    public init(node: String, op: String, actionKey: Digest?, status: NodeRunStatus, artifact: Digest? = nil, error: String? = nil) {
        self.node = node
        self.op = op
        self.actionKey = actionKey
        self.status = status
        self.artifact = artifact
        self.error = error
    }
}

/// One instance's execution (or cache hit) within a run.
public struct NodeRunRecord: Sendable {
    public let id: Int64
    public let run: Int64
    public let node: String
    public let op: String
    public let actionKey: String
    public let status: NodeRunStatus
    public let started: Double
    public let finished: Double?
    public let artifact: String?
    public let error: String?
    public let host: String
    public let pid: Int
    public let detail: String?
}

/// The outcome of asking to compute an action.
public enum LeaseOutcome: Sendable, Equatable {
    /// This process now owns the key until the lease expires (renew it while working);
    /// with the id of the node run record started with it, if one was asked for.
    case acquired(nodeRun: Int64?)
    /// Someone already published the result.
    case cached(Digest)
    /// Another live process is computing it.
    case heldBy(String)
}

extension Store {
    /// This machine's name, for run records and lease owners.
    public static var hostName: String { ProcessInfo.processInfo.hostName }

    // MARK: Runs

    public func beginRun(specName: String, specDigest: String, command: String, engineVersion: String) throws -> Int64 {
        try locked {
            let s = try db.prepare("""
                INSERT INTO runs(spec_name, spec_digest, command, host, pid, started, status, engine_version)
                VALUES (?, ?, ?, ?, ?, ?, 'running', ?)
                """)
            s.bind(1, specName).bind(2, specDigest).bind(3, command).bind(4, Store.hostName)
                .bind(5, Int(getpid())).bind(6, Date().timeIntervalSince1970).bind(7, engineVersion)
            try s.run()
            return db.lastInsertRowID
        }
    }

    public func finishRun(_ id: Int64, status: String) throws {
        try locked {
            let s = try db.prepare("UPDATE runs SET finished = ?, status = ? WHERE id = ?")
            s.bind(1, Date().timeIntervalSince1970).bind(2, status).bind(3, id)
            try s.run()
        }
    }

    /// Starts a node run record; returns its id.
    func beginNodeRunUnlocked(run: Int64, node: String, op: String, actionKey: Digest, description: String) throws -> Int64 {
        let d = try db.prepare("INSERT OR IGNORE INTO action_descriptions(key, description) VALUES (?, ?)")
        d.bind(1, actionKey.hex).bind(2, description)
        try d.run()
        let s = try db.prepare("""
            INSERT INTO node_runs(run, node, op, action_key, status, started, host, pid)
            VALUES (?, ?, ?, ?, '\(NodeRunStatus.running.rawValue)', ?, ?, ?)
            """)
        s.bind(1, run).bind(2, node).bind(3, op).bind(4, actionKey.hex).bind(5, Date().timeIntervalSince1970)
            .bind(6, Store.hostName).bind(7, Int(getpid()))
        try s.run()
        return db.lastInsertRowID
    }

    public func finishNodeRun(_ id: Int64, status: NodeRunStatus, artifact: Digest?, error: String?, detail: String? = nil) throws {
        try locked { try finishNodeRunUnlocked(id, status: status, artifact: artifact, error: error, detail: detail) }
    }

    func finishNodeRunUnlocked(_ id: Int64, status: NodeRunStatus, artifact: Digest?, error: String?, detail: String?) throws {
        let s = try db.prepare("UPDATE node_runs SET status = ?, finished = ?, artifact = ?, error = ?, detail = ? WHERE id = ?")
        s.bind(1, status.rawValue).bind(2, Date().timeIntervalSince1970).bind(3, artifact?.hex).bind(4, error).bind(5, detail).bind(6, id)
        try s.run()
    }

    /// Records many finished node runs at once (cache hits, skips) in one transaction.
    /// (A cache hit's action description was stored when it was computed.)
    public func recordNodeRuns(run: Int64, _ rows: [NodeRunRow]) throws {
        guard !rows.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        try locked {
            try db.transaction {
                let s = try db.prepare("""
                    INSERT INTO node_runs(run, node, op, action_key, status, started, finished, artifact, error, host, pid)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for r in rows {
                    s.reset()
                    s.bind(1, run).bind(2, r.node).bind(3, r.op).bind(4, r.actionKey?.hex ?? "").bind(5, r.status.rawValue)
                        .bind(6, now).bind(7, now).bind(8, r.artifact?.hex).bind(9, r.error)
                        .bind(10, Store.hostName).bind(11, Int(getpid()))
                    try s.run()
                }
            }
        }
    }

    /// Recent runs, newest first, with per-status node counts.
    public func runs(limit: Int = 20) throws -> [RunRecord] {
        try locked {
            let s = try db.prepare("""
                SELECT id, spec_name, spec_digest, command, host, pid, started, finished, status, engine_version
                FROM runs ORDER BY id DESC LIMIT ?
                """)
            s.bind(1, limit)
            var out: [RunRecord] = []
            while try s.step() {
                out.append(RunRecord(id: s.int(0), specName: s.text(1), specDigest: s.text(2), command: s.text(3), host: s.text(4),
                                     pid: Int(s.int(5)), started: s.double(6), finished: s.isNull(7) ? nil : s.double(7),
                                     status: s.text(8), engineVersion: s.text(9)))
            }
            let c = try db.prepare("SELECT status, count(*) FROM node_runs WHERE run = ? GROUP BY status")
            for i in out.indices {
                c.reset()
                c.bind(1, out[i].id)
                while try c.step() { out[i].counts[c.text(0)] = Int(c.int(1)) }
            }
            return out
        }
    }

    /// Node runs matching a condition, newest first.
    private func nodeRuns(where condition: String, _ bind: (SQLiteStatement) -> Void, limit: Int) throws -> [NodeRunRecord] {
        let s = try db.prepare("""
            SELECT id, run, node, op, action_key, status, started, finished, artifact, error, host, pid, detail
            FROM node_runs WHERE \(condition) ORDER BY id DESC LIMIT \(limit)
            """)
        bind(s)
        var out: [NodeRunRecord] = []
        while try s.step() {
            out.append(NodeRunRecord(id: s.int(0), run: s.int(1), node: s.text(2), op: s.text(3), actionKey: s.text(4),
                                     // Only these statuses are ever written; an unknown one reads as failed.
                                     status: NodeRunStatus(rawValue: s.text(5)) ?? .failed, started: s.double(6), finished: s.isNull(7) ? nil : s.double(7),
                                     artifact: s.optionalText(8), error: s.optionalText(9), host: s.text(10),
                                     pid: Int(s.int(11)), detail: s.optionalText(12)))
        }
        return out
    }

    /// Every node run of a run, in the order they were recorded.
    public func nodeRuns(ofRun run: Int64) throws -> [NodeRunRecord] {
        try locked { try nodeRuns(where: "run = ?", { $0.bind(1, run) }, limit: 1_000_000).reversed() }
    }

    /// Every node run that executed (not a cache hit) for an action key.
    public func executions(ofKey key: Digest) throws -> [NodeRunRecord] {
        try locked { try nodeRuns(where: "action_key = ? AND status IN (\(NodeRunStatus.sql(.running, .succeeded, .failed)))", { $0.bind(1, key.hex) }, limit: 1000) }
    }

    /// The run that computed an artifact, newest first.
    public func producers(of artifact: Digest) throws -> [NodeRunRecord] {
        try locked { try nodeRuns(where: "artifact = ? AND status = '\(NodeRunStatus.succeeded.rawValue)'", { $0.bind(1, artifact.hex) }, limit: 10) }
    }

    /// The latest successful or cached run of an instance of a spec, with its action description.
    public func lastCompletion(specName: String, instance: String) throws -> (key: String, description: String)? {
        try locked {
            let s = try db.prepare("""
                SELECT nr.action_key, d.description FROM node_runs nr
                JOIN runs r ON nr.run = r.id
                JOIN action_descriptions d ON d.key = nr.action_key
                WHERE r.spec_name = ? AND nr.node = ? AND nr.status IN (\(NodeRunStatus.sql(.succeeded, .cached)))
                ORDER BY nr.id DESC LIMIT 1
                """)
            s.bind(1, specName).bind(2, instance)
            guard try s.step() else { return nil }
            return (s.text(0), s.text(1))
        }
    }

    /// The canonical description of an action, if it was ever started.
    public func actionDescription(_ key: String) throws -> String? {
        try locked {
            let s = try db.prepare("SELECT description FROM action_descriptions WHERE key = ?")
            s.bind(1, key)
            return try s.step() ? s.text(0) : nil
        }
    }

    // MARK: Leases

    /// Takes the lease on `key` unless its result is published or a live owner holds it.
    /// A lease whose owner stopped renewing it (a dead process) is taken over.
    /// With `ignoringCache` (a forced rerun) a published result does not count.
    /// With `starting`, the node run record (status running) is written in the same
    /// transaction as the lease.
    public func acquireLease(_ key: Digest, owner: String, seconds: Double, ignoringCache: Bool = false,
                             starting: (run: Int64, node: String, op: String, description: String)? = nil) throws -> LeaseOutcome {
        try locked {
            try db.transaction {
                let action = try db.prepare("SELECT artifact FROM actions WHERE key = ?")
                action.bind(1, key.hex)
                if !ignoringCache, try action.step(), let d = Digest(hex: action.text(0)) { return .cached(d) }
                let now = Date().timeIntervalSince1970
                let lease = try db.prepare("SELECT owner, expires FROM leases WHERE key = ?")
                lease.bind(1, key.hex)
                if try lease.step(), lease.text(0) != owner, lease.double(1) > now, !Store.isDeadLocalOwner(lease.text(0)) {
                    return .heldBy(lease.text(0))
                }
                let take = try db.prepare("INSERT OR REPLACE INTO leases(key, owner, expires) VALUES (?, ?, ?)")
                take.bind(1, key.hex).bind(2, owner).bind(3, now + seconds)
                try take.run()
                guard let starting else { return .acquired(nodeRun: nil) }
                return .acquired(nodeRun: try beginNodeRunUnlocked(run: starting.run, node: starting.node, op: starting.op,
                                                                   actionKey: key, description: starting.description))
            }
        }
    }

    /// Whether a lease owner ("host:pid:nonce") is a process of this host that no longer
    /// exists: a run killed with SIGKILL leaves its leases behind, and the next run on the
    /// same machine should not wait for them to expire.
    static func isDeadLocalOwner(_ owner: String) -> Bool {
        let parts = owner.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts.dropLast(2).joined(separator: ":") == Store.hostName,
              let pid = Int32(parts[parts.count - 2]), pid > 0 else { return false }
        return kill(pid, 0) == -1 && errno == ESRCH
    }

    /// Extends every lease `owner` holds.
    public func renewLeases(owner: String, seconds: Double) throws {
        try locked {
            let s = try db.prepare("UPDATE leases SET expires = ? WHERE owner = ?")
            s.bind(1, Date().timeIntervalSince1970 + seconds).bind(2, owner)
            try s.run()
        }
    }

    public func releaseLease(_ key: Digest, owner: String) throws {
        try locked {
            let s = try db.prepare("DELETE FROM leases WHERE key = ? AND owner = ?")
            s.bind(1, key.hex).bind(2, owner)
            try s.run()
        }
    }

    /// Deletes the lease inside a publish transaction. Caller holds the lock.
    func releaseLeaseUnlocked(_ key: Digest, owner: String) throws {
        let s = try db.prepare("DELETE FROM leases WHERE key = ? AND owner = ?")
        s.bind(1, key.hex).bind(2, owner)
        try s.run()
    }

    // MARK: In-node progress

    /// The last saved progress of an unfinished action: (step, state artifact).
    public func partialState(_ key: Digest) throws -> (step: Int, artifact: Digest)? {
        try locked {
            let s = try db.prepare("SELECT step, artifact FROM partial_states WHERE key = ?")
            s.bind(1, key.hex)
            guard try s.step(), let d = Digest(hex: s.text(1)) else { return nil }
            return (Int(s.int(0)), d)
        }
    }

    /// Saves progress for `key` at `step` in one transaction with the state artifact; the
    /// state it replaces is deleted at once, so a long run keeps one state, not one per save.
    func recordPartialStateUnlocked(_ key: Digest, step: Int, artifact: Digest) throws {
        let previous = try partialStateArtifactUnlocked(key)
        let s = try db.prepare("INSERT OR REPLACE INTO partial_states(key, step, artifact, updated) VALUES (?, ?, ?, ?)")
        s.bind(1, key.hex).bind(2, step).bind(3, artifact.hex).bind(4, Date().timeIntervalSince1970)
        try s.run()
        if let previous, previous != artifact { try dropIfUnreferencedUnlocked(previous) }
    }

    /// Forgets saved progress inside a publish transaction, deleting the state.
    func clearPartialStateUnlocked(_ key: Digest) throws {
        let previous = try partialStateArtifactUnlocked(key)
        try db.prepare("DELETE FROM partial_states WHERE key = ?").bind(1, key.hex).run()
        if let previous { try dropIfUnreferencedUnlocked(previous) }
    }

    private func partialStateArtifactUnlocked(_ key: Digest) throws -> Digest? {
        let s = try db.prepare("SELECT artifact FROM partial_states WHERE key = ?")
        s.bind(1, key.hex)
        return try s.step() ? Digest(hex: s.text(0)) : nil
    }

    /// Deletes an artifact and its chunks if nothing (action, pin, saved state, other
    /// artifact) still uses them. Caller holds the lock, inside a transaction.
    func dropIfUnreferencedUnlocked(_ artifact: Digest) throws {
        let used = try db.prepare("""
            SELECT (SELECT count(*) FROM actions WHERE artifact = ?1) + (SELECT count(*) FROM pins WHERE artifact = ?1)
                 + (SELECT count(*) FROM partial_states WHERE artifact = ?1)
            """)
        used.bind(1, artifact.hex)
        _ = try used.step()
        guard used.int(0) == 0 else { return }
        var chunks: [[UInt8]] = []
        let list = try db.prepare("SELECT chunk FROM tensor_chunks WHERE artifact = ?")
        list.bind(1, artifact.hex)
        while try list.step() { chunks.append(list.blob(0)) }
        try db.prepare("DELETE FROM artifacts WHERE digest = ?").bind(1, artifact.hex).run()
        let orphan = try db.prepare("DELETE FROM chunks WHERE digest = ?1 AND NOT EXISTS (SELECT 1 FROM tensor_chunks WHERE chunk = ?1)")
        for c in chunks {
            orphan.reset()
            orphan.bind(1, c)
            try orphan.run()
        }
    }
}
