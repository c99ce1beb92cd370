import Store

let statusCommand = Command(
    name: "status",
    summary: "show what the cache holds: sizes and counts",
    help: """
    usage: mergeflow status [--cache PATH] [--threads N]
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions)
        _ = try args.positionals()
        let store = try CommandSupport.openStore(args)
        let s = try store.status()
        print("cache       \(store.path) (schema \(s.schemaVersion))")
        print("file        \(CommandSupport.bytes(s.databaseBytes)) + WAL \(CommandSupport.bytes(s.walBytes))")
        print("chunks      \(s.chunkCount) (\(CommandSupport.bytes(s.chunkBytes)) of data)")
        if s.artifactsByKind.isEmpty { print("artifacts   0") }
        for a in s.artifactsByKind {
            print("artifacts   \(a.count) \(a.kind) (\(CommandSupport.bytes(a.bytes)) referenced)")
        }
        print("actions     \(s.actionCount)")
        print("pins        \(s.pinCount)")
        print("runs        \(s.runCount) (\(s.nodeRunCount) node runs)")
        return 0
    }
)
