/// Keys of artifacts kept beside an action's result under a key derived from the action's
/// (so gc keeps them as long as the result), shared by whoever writes and reads them: the
/// `command` op publishes its log there, and the Slurm executor carries that log from a job's
/// cache back to the coordinator's.
public enum CompanionKey {
    /// The key a `command`'s log (stdout, stderr, exit status) is published under.
    public static func commandLog(of actionKey: Digest) -> Digest { SHA256.hash("command-log:" + actionKey.hex) }
}
