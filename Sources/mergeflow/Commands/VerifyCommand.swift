import Checkpoint
import Store

let verifyCommand = Command(
    name: "verify",
    summary: "re-hash every chunk and check every manifest and reference",
    help: """
    usage: mergeflow verify [--repair] [--cache PATH] [--threads N]

    Runs SQLite's integrity_check, re-hashes every stored chunk against its digest, recomputes
    every artifact's manifest digest, and checks that every action and pin points at an
    artifact whose chunks all exist. Prints each problem; exit code 1 if there is any.

      --repair   delete corrupt chunks and every artifact that uses a corrupt or missing
                 chunk, with the cached results (actions), pins and saved progress that
                 name them, so the next `run` recomputes them. Checkpoints imported with
                 `mergeflow import` are imported again from their files when the files
                 still hold the same content. Exit code 0 if the cache is sound afterwards.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions, flags: ["--repair"])
        _ = try args.positionals()
        let store = try CommandSupport.openStore(args)
        let report = try store.verify()
        for problem in report.problems { print("problem: \(problem)") }
        print("checked \(report.chunksChecked) chunks (\(CommandSupport.bytes(report.bytesChecked))) and \(report.artifactsChecked) artifacts: \(report.isClean ? "ok" : "\(report.problems.count) problem(s)")")
        guard args.has("--repair"), !report.isClean else { return report.isClean ? 0 : 1 }
        let repaired = try store.repair()
        print("repair: removed \(repaired.chunksRemoved) corrupt chunk(s), \(repaired.artifactsRemoved.count) artifact(s), \(repaired.actionsRemoved) cached result(s), \(repaired.pinsRemoved.count) pin(s), \(repaired.partialStatesRemoved) saved progress state(s)")
        for artifact in repaired.artifactsRemoved { print("removed artifact \(artifact)") }
        for pin in repaired.pinsRemoved {
            let prefix = "import:"
            guard pin.label.hasPrefix(prefix) else { continue }
            let file = String(pin.label.dropFirst(prefix.count))
            do {
                let manifest = try store.importCheckpoint(at: file)
                if manifest.digest.hex == pin.artifact {
                    print("re-imported \(file) (\(manifest.digest.short), as before)")
                } else {
                    // Not the content that was imported: keep nothing in its place.
                    try store.unpin(label: pin.label)
                    print("not re-imported: \(file) now holds other content (artifact \(manifest.digest.short)); import it again if you want it")
                }
            } catch {
                print("not re-imported: \(file): \(error)")
            }
        }
        let after = try store.verify()
        for problem in after.problems { print("problem after repair: \(problem)") }
        print("after repair: \(after.isClean ? "ok" : "\(after.problems.count) problem(s)")")
        return after.isClean ? 0 : 1
    }
)
