import Foundation

/// Slurm's command-line clients (`sbatch`, `squeue`, `scontrol`, `sacct`, `scancel`), each
/// started from `PATH` with this process's environment (so `SLURM_CONF` applies). Every
/// call to Slurm goes through this type.
struct SlurmClient: Sendable {
    struct Output: Sendable {
        let status: Subprocess.Termination
        let stdout: String
        let stderr: String
        var ok: Bool { status == .exited(0) }
    }

    /// Runs a client to the end and collects its output.
    static func run(_ argv: [String]) -> Output {
        let child: Subprocess
        do {
            child = try Subprocess(argv)
        } catch {
            return Output(status: .exited(127), stdout: "", stderr: "\(error)")
        }
        let errors = TailBuffer(limit: 64 << 10)
        let done = errors.drainInBackground(child.stderr)
        let out = child.stdout.readDataToEndOfFile()
        done.wait()
        let status = child.wait()
        return Output(status: status, stdout: String(decoding: out, as: UTF8.self), stderr: errors.lastLines(20).joined(separator: "\n"))
    }

    /// Submits `script` with `arguments`; returns the job id.
    static func sbatch(_ arguments: [String], script: String) throws -> String {
        let out = run(["sbatch", "--parsable"] + arguments + [script])
        guard out.ok, let id = out.stdout.split(separator: "\n").last?.split(separator: ";").first, Int(id) != nil else {
            throw SlurmError("sbatch \(out.status): \(out.stderr.isEmpty ? out.stdout : out.stderr)")
        }
        return String(id)
    }

    /// States of the tasks of `jobs` (array job ids) that Slurm still shows: "1234_7" →
    /// "RUNNING". Finished jobs stay listed for MinJobAge (5 min by default).
    /// Returns nil when squeue itself failed (the controller unreachable): nothing is
    /// concluded from that poll.
    static func states(of jobs: Set<String>) -> [String: String]? {
        guard !jobs.isEmpty else { return [:] }
        let out = run(["squeue", "--noheader", "--array", "--states=all", "--jobs=" + jobs.sorted().joined(separator: ","),
                       "--format=%i %T"])
        if !out.ok {
            // Every id purged: squeue refuses the list. Nothing to show is not an error.
            if out.stderr.contains("Invalid job id") { return [:] }
            return nil
        }
        var states: [String: String] = [:]
        for line in out.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { continue }
            states[String(parts[0])] = String(parts[1])
        }
        return states
    }

    /// The final state of a job from accounting, where the cluster keeps it (`sacct`); nil
    /// when accounting is disabled or restricted.
    static func accountedState(of job: String) -> String? {
        let out = run(["sacct", "--noheader", "--parsable2", "--jobs=" + job, "--format=JobID,State"])
        guard out.ok else { return nil }
        for line in out.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|")
            if parts.count == 2, parts[0] == job { return parts[1].split(separator: " ").first.map(String.init) }
        }
        return nil
    }

    /// Cancels jobs (array tasks or whole arrays).
    static func scancel(_ jobs: [String]) {
        guard !jobs.isEmpty else { return }
        _ = run(["scancel"] + jobs)
    }

    /// Slurm states in which a job may still run (or be run again).
    static let liveStates: Set<String> = ["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
                                          "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
                                          "RESV_DEL_HOLD", "SPECIAL_EXIT"]
}
