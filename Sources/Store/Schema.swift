/// The cache's tables, as a list of migrations. `PRAGMA user_version` records how many have
/// been applied; opening an older cache applies the rest, and a cache written by a newer
/// mergeflow is refused rather than misread.
enum Schema {
    /// Migration i brings the database from version i to i + 1.
    static let migrations: [String] = [
        // 1: content-addressed chunks, artifact manifests, the action cache, run records.
        """
        CREATE TABLE chunks(
            id INTEGER PRIMARY KEY,
            digest BLOB NOT NULL UNIQUE,          -- SHA-256 of data (32 bytes)
            size INTEGER NOT NULL,
            created REAL NOT NULL,                -- unix seconds; gc spares young orphans
            data BLOB NOT NULL
        );
        CREATE TABLE artifacts(
            digest TEXT PRIMARY KEY,              -- SHA-256 of the canonical manifest
            kind TEXT NOT NULL,
            metadata TEXT NOT NULL,               -- JSON object
            byte_size INTEGER NOT NULL,
            tensor_count INTEGER NOT NULL,
            created REAL NOT NULL
        );
        CREATE TABLE tensors(
            artifact TEXT NOT NULL REFERENCES artifacts(digest) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            name TEXT NOT NULL,
            dtype TEXT NOT NULL,
            shape TEXT NOT NULL,                  -- JSON array of dimensions
            byte_size INTEGER NOT NULL,
            PRIMARY KEY(artifact, ordinal),
            UNIQUE(artifact, name)
        ) WITHOUT ROWID;
        CREATE TABLE tensor_chunks(
            artifact TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            chunk BLOB NOT NULL,                  -- chunks.digest
            PRIMARY KEY(artifact, ordinal, seq),
            FOREIGN KEY(artifact, ordinal) REFERENCES tensors(artifact, ordinal) ON DELETE CASCADE
        ) WITHOUT ROWID;
        CREATE INDEX tensor_chunks_by_chunk ON tensor_chunks(chunk);
        CREATE TABLE actions(
            key TEXT PRIMARY KEY,                 -- SHA-256 of the canonical action
            artifact TEXT NOT NULL REFERENCES artifacts(digest),
            created REAL NOT NULL
        );
        CREATE INDEX actions_by_artifact ON actions(artifact);
        CREATE TABLE pins(
            label TEXT PRIMARY KEY,               -- e.g. "import:/path/to/model"
            artifact TEXT NOT NULL REFERENCES artifacts(digest),
            created REAL NOT NULL
        );
        CREATE INDEX pins_by_artifact ON pins(artifact);
        CREATE TABLE runs(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            spec_name TEXT NOT NULL,
            spec_digest TEXT NOT NULL,
            command TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started REAL NOT NULL,
            finished REAL,
            status TEXT NOT NULL                  -- running | succeeded | failed | interrupted
        );
        CREATE TABLE node_runs(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run INTEGER NOT NULL REFERENCES runs(id),
            node TEXT NOT NULL,                   -- instance id, e.g. merged[method=ties]
            op TEXT NOT NULL,
            action_key TEXT NOT NULL,
            status TEXT NOT NULL,                 -- running | succeeded | failed | cached
            started REAL NOT NULL,
            finished REAL,
            artifact TEXT,
            error TEXT,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL
        );
        CREATE INDEX node_runs_by_key ON node_runs(action_key);
        CREATE INDEX node_runs_by_run ON node_runs(run);
        """,
        // 2: what the engine needs to resume, share a cache and explain itself.
        """
        CREATE TABLE action_descriptions(
            key TEXT PRIMARY KEY,                 -- actions.key
            description TEXT NOT NULL             -- canonical JSON: op, version, params, input digests
        );
        CREATE TABLE leases(
            key TEXT PRIMARY KEY,                 -- action key being computed
            owner TEXT NOT NULL,                  -- host:pid:nonce of the computing process
            expires REAL NOT NULL                 -- unix seconds; renewed while the owner lives
        );
        CREATE TABLE partial_states(
            key TEXT PRIMARY KEY,                 -- action key of the unfinished node
            step INTEGER NOT NULL,                -- progress the state corresponds to
            artifact TEXT NOT NULL REFERENCES artifacts(digest),
            updated REAL NOT NULL
        );
        CREATE INDEX partial_states_by_artifact ON partial_states(artifact);
        ALTER TABLE runs ADD COLUMN engine_version TEXT NOT NULL DEFAULT '';
        ALTER TABLE node_runs ADD COLUMN detail TEXT;      -- e.g. "resumed from step 400"
        """,
        // 3: content digests of external files (datasets, checkpoints to import), so a file
        // is hashed again only when its identity or change times move.
        """
        CREATE TABLE file_digests(
            path TEXT PRIMARY KEY,                -- absolute path
            stamp TEXT NOT NULL,                  -- device:inode:size:mtime_ns:ctime_ns
            digest TEXT NOT NULL                  -- SHA-256 of the content
        );
        """,
        // 4: eval results as queryable rows (views over the metrics artifacts' metadata, so
        // nothing is stored twice): `metrics` per artifact; `node_metrics` for the latest
        // result of each node of each spec (a node rerun with other params replaces its rows).
        // The columns come from `MetricRow` (the one row codec); a field added there needs a
        // new migration that drops and recreates both views.
        """
        CREATE VIEW metrics AS
            SELECT a.digest AS artifact, json_extract(a.metadata, '$.stage') AS stage, \(MetricRow.viewColumns)
            FROM artifacts a, json_each(a.metadata, '$.rows') r
            WHERE a.kind = '\(MetricRow.artifactKind.rawValue)';
        CREATE VIEW node_metrics AS
            SELECT s.spec_name AS spec, nr.node AS node, m.stage, m.lang, m.objective, m.metric, m.value, m.n, m.artifact
            FROM node_runs nr JOIN runs s ON s.id = nr.run JOIN metrics m ON m.artifact = nr.artifact
            WHERE nr.id = (SELECT max(latest.id) FROM node_runs latest JOIN runs ls ON ls.id = latest.run
                           WHERE latest.node = nr.node AND ls.spec_name = s.spec_name
                             AND latest.status IN (\(NodeRunStatus.sql(.succeeded, .cached))));
        """,
        // 5: jobs handed to a batch system (Slurm) and not yet imported, so a coordinator that
        // was killed re-attaches to them instead of submitting them again.
        """
        CREATE TABLE remote_jobs(
            key TEXT PRIMARY KEY,                 -- action key the job computes
            job_id TEXT NOT NULL,                 -- e.g. "1234_7" (array job 1234, task 7)
            task_dir TEXT NOT NULL,               -- its folder in the spool
            submitted REAL NOT NULL               -- unix seconds
        );
        """,
    ]

    static var currentVersion: Int { migrations.count }
}
