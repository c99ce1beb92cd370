import Store

let verifyCommand = Command(
    name: "verify",
    summary: "re-hash every chunk and check every manifest and reference",
    help: """
    usage: mergeflow verify [--cache PATH] [--threads N]

    Runs SQLite's integrity_check, re-hashes every stored chunk against its digest, recomputes
    every artifact's manifest digest, and checks that every action and pin points at an
    artifact whose chunks all exist. Prints each problem; exit code 1 if there is any.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions)
        _ = try args.positionals()
        let store = try CommandSupport.openStore(args)
        let report = try store.verify()
        for problem in report.problems { print("problem: \(problem)") }
        print("checked \(report.chunksChecked) chunks (\(CommandSupport.bytes(report.bytesChecked))) and \(report.artifactsChecked) artifacts: \(report.isClean ? "ok" : "\(report.problems.count) problem(s)")")
        return report.isClean ? 0 : 1
    }
)
