import Engine
import Foundation
import JSON
import Store

/// What a `command` printed, kept with its result: the last MiB of stdout and of stderr,
/// the exit status, argv and the environment it ran with. Published under a key derived
/// from the action key (so gc keeps it as long as the result) and apart from the result's
/// artifact, whose digest must not depend on what the program printed.
public enum CommandLog {
    static let kind = ArtifactKind.commandLog

    /// The key the log of `actionKey` is published under.
    public static func key(for actionKey: Digest) -> Digest { CompanionKey.commandLog(of: actionKey) }

    static func publish(_ result: CommandProcess.Result, argv: [String], environment: [String: String], key: Digest, store: Store) throws {
        var env = JSONObject()
        for name in environment.keys.sorted() { env[name] = .string(environment[name]!) }
        let status: JSONValue
        switch result.termination {
        case .exited(let code): status = .number(Double(code))
        case .signaled(let s): status = .string("signal \(s)")
        }
        let writer = store.newArtifact(kind: kind, metadata: .object(JSONObject([
            ("argv", .array(argv.map { .string($0) })), ("environment", .object(env)), ("exit_status", status),
            ("stdout", .string(result.stdout.text)), ("stderr", .string(result.stderr.text)),
        ])))
        _ = try writer.publish(actionKey: CommandLog.key(for: key))
    }

    /// The logs of an action: published with its result, else those the last failed or
    /// interrupted attempt left in its workspace. nil when there are none.
    public static func find(actionKey: Digest, store: Store) throws -> (stdout: String, stderr: String, origin: String)? {
        if let digest = try store.lookupAction(key(for: actionKey)) {
            let metadata = try store.manifest(digest).metadata.objectValue ?? JSONObject()
            let status = metadata["exit_status"].map { ParamType.describe($0) } ?? "?"
            return (metadata["stdout"]?.stringValue ?? "", metadata["stderr"]?.stringValue ?? "", "kept with the result (exit status \(status))")
        }
        let workspace = CommandWorkspace(store: store, key: actionKey)
        guard let out = try? String(contentsOfFile: workspace.stdoutLog, encoding: .utf8),
              let err = try? String(contentsOfFile: workspace.stderrLog, encoding: .utf8) else { return nil }
        return (out, err, "from the last attempt that did not publish (\(workspace.root))")
    }
}
