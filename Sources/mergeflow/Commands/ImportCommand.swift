import Checkpoint
import Store

let importCommand = Command(
    name: "import",
    summary: "store a safetensors checkpoint in the cache and print its digest",
    help: """
    usage: mergeflow import PATH [--cache PATH] [--threads N]

    PATH is a .safetensors file, a folder with model.safetensors, or a sharded Hugging Face
    folder (model.safetensors.index.json); config.json beside it is kept. F32, F16 and BF16
    are read. The whole checkpoint is validated before anything is stored, and it becomes
    visible in one transaction: an interrupted import leaves nothing behind but orphan
    chunks that `gc` removes. Importing the same content again stores nothing new.
    Prints the artifact digest on standard output.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions)
        let path = try args.positionals("PATH")[0]
        let store = try CommandSupport.openStore(args)
        let manifest = try store.importCheckpoint(at: path)
        print(manifest.digest.hex)
        return 0
    }
)
