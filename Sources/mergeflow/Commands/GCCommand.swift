import Store

let gcCommand = Command(
    name: "gc",
    summary: "delete artifacts and chunks that nothing references",
    help: """
    usage: mergeflow gc [--grace SECONDS] [--cache PATH] [--threads N]

    Deletes artifacts that no action (cached node result) or pin (e.g. an import) refers
    to, then chunks that no remaining artifact uses. Orphan chunks younger than --grace
    seconds (default 600) are kept: another process may be about to publish them.
    Chunks of the artifacts deleted in this run go at once.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions.union(["--grace"]))
        _ = try args.positionals()
        let grace = try args.number("--grace", default: 600)
        guard grace >= 0 else { throw UsageError("--grace must be ≥ 0") }
        let store = try CommandSupport.openStore(args)
        let report = try store.collectGarbage(grace: grace)
        print("removed \(report.artifactsRemoved) artifacts, \(report.chunksRemoved) chunks (\(CommandSupport.bytes(report.bytesRemoved)))")
        return 0
    }
)
