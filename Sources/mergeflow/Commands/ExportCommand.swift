import Checkpoint
import Store

let exportCommand = Command(
    name: "export",
    summary: "write a checkpoint artifact as model.safetensors (+ config.json)",
    help: """
    usage: mergeflow export DIGEST OUT_DIR [--cache PATH] [--threads N]

    DIGEST is a full artifact digest or a unique prefix of at least 6 hex digits. Writes
    OUT_DIR/model.safetensors (tensors in name order, each in its stored dtype) and
    OUT_DIR/config.json when the artifact has one. Importing the output gives back the same
    digest.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions)
        let p = try args.positionals("DIGEST", "OUT_DIR")
        let store = try CommandSupport.openStore(args)
        let digest = try CommandSupport.resolveArtifact(p[0], in: store)
        let manifest = try store.manifest(digest)
        guard manifest.kind == Store.checkpointKind else {
            throw UsageError("artifact \(digest.short) is a \(manifest.kind), not a checkpoint")
        }
        try store.exportCheckpoint(digest, to: p[1])
        print("wrote \(p[1])/model.safetensors (\(manifest.tensors.count) tensors, \(CommandSupport.bytes(manifest.byteCount)))")
        return 0
    }
)
