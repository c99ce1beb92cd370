import Store

/// What an instance's action key resolves to in the cache, once its inputs' digests are
/// known: the one code path `plan`, `explain`, `run` and `mergeflow exec` share for "key
/// from input digests, look it up, respect --force".
public enum KeyResolution: Sendable {
    /// The result is in the cache (and not forced).
    case cached(Action, Digest)
    /// It must be computed.
    case miss(Action)
    /// The key itself cannot be computed (an external file is unreadable, say).
    case unkeyable(String)

    /// Keys `instance` from `inputDigests` (which must hold every dependency) and looks the
    /// key up unless `force`.
    /// - Throws: only errors of the cache itself; a key that cannot be computed is `.unkeyable`.
    public static func resolve(_ instance: Instance, inputDigests: [Int: Digest], directory: String, store: Store,
                               force: Bool) throws -> KeyResolution {
        let action: Action
        do {
            action = try Action(instance: instance, inputDigests: inputDigests, directory: directory, store: store)
        } catch {
            return .unkeyable("\(error)")
        }
        if !force, let hit = try store.lookupAction(action.key) { return .cached(action, hit) }
        return .miss(action)
    }
}
