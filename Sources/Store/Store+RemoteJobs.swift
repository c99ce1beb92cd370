import Foundation

/// Jobs handed to a batch system (Slurm), recorded when submitted and forgotten once their
/// result is imported: a coordinator killed in between finds them here and re-attaches.
extension Store {
    /// A submitted job of `key`: its batch-system id and its task folder in the spool.
    public struct RemoteJob: Sendable, Equatable {
        public let key: Digest
        public let jobID: String
        public let taskDirectory: String
        public let submitted: Double
    }

    /// Records (or replaces) the job computing `key`.
    public func recordRemoteJob(_ key: Digest, jobID: String, taskDirectory: String) throws {
        try locked {
            let s = try db.prepare("INSERT OR REPLACE INTO remote_jobs(key, job_id, task_dir, submitted) VALUES (?, ?, ?, ?)")
            s.bind(1, key.hex).bind(2, jobID).bind(3, taskDirectory).bind(4, Date().timeIntervalSince1970)
            try s.run()
        }
    }

    /// Records the jobs of one submission in one transaction.
    public func recordRemoteJobs(_ jobs: [(key: Digest, jobID: String, taskDirectory: String)]) throws {
        let now = Date().timeIntervalSince1970
        try locked {
            try db.transaction {
                let s = try db.prepare("INSERT OR REPLACE INTO remote_jobs(key, job_id, task_dir, submitted) VALUES (?, ?, ?, ?)")
                for j in jobs {
                    s.reset()
                    s.bind(1, j.key.hex).bind(2, j.jobID).bind(3, j.taskDirectory).bind(4, now)
                    try s.run()
                }
            }
        }
    }

    /// The job recorded for `key`, if any.
    public func remoteJob(_ key: Digest) throws -> RemoteJob? {
        try locked {
            let s = try db.prepare("SELECT job_id, task_dir, submitted FROM remote_jobs WHERE key = ?")
            s.bind(1, key.hex)
            guard try s.step() else { return nil }
            return RemoteJob(key: key, jobID: s.text(0), taskDirectory: s.text(1), submitted: s.double(2))
        }
    }

    /// Every recorded job.
    public func remoteJobs() throws -> [RemoteJob] {
        try locked {
            let s = try db.prepare("SELECT key, job_id, task_dir, submitted FROM remote_jobs ORDER BY submitted")
            var out: [RemoteJob] = []
            while try s.step() {
                guard let key = Digest(hex: s.text(0)) else { continue }
                out.append(RemoteJob(key: key, jobID: s.text(1), taskDirectory: s.text(2), submitted: s.double(3)))
            }
            return out
        }
    }

    public func forgetRemoteJob(_ key: Digest) throws {
        try locked {
            let s = try db.prepare("DELETE FROM remote_jobs WHERE key = ?")
            s.bind(1, key.hex)
            try s.run()
        }
    }
}
