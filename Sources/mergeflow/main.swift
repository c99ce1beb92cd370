// mergeflow: declarative experiment pipelines for "mix data or merge models?".
import CMalloc
import Checkpoint
import Engine
import Ops
import Foundation
import Store

/// Every subcommand, in the order `--help` lists them.
let commands: [Command] = [
    runCommand, planCommand, explainCommand, graphCommand, runsCommand, showCommand, metricsCommand, mergeCommand,
    importCommand, exportCommand, generateCommand, scoreCommand, reportCommand, logsCommand, statusCommand, verifyCommand, gcCommand, benchCommand, schemaCommand,
]

/// Subcommands `--help` does not list: the plumbing between mergeflow processes.
let hiddenCommands: [Command] = [execCommand]

func printUsage() {
    print("""
    usage: mergeflow COMMAND [ARGS] [--cache PATH] [--threads N]

    commands:
    """)
    for c in commands { print("  \(c.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(c.summary)") }
    print("""

    The cache is --cache PATH, else $MERGEFLOW_CACHE, else cache/mergeflow.sqlite.
    `mergeflow COMMAND --help` describes one command.
    Exit codes: 0 success, 1 the work failed, 2 bad usage or input.
    """)
}

func main() -> Int32 {
    // Tensors of many sizes come and go: with glibc's adaptive threshold, freed blocks of
    // up to 32 MiB would stay in the heap and inflate resident memory. Map every block
    // from 1 MiB up directly, so it goes back to the system when freed.
    _ = mallopt(M_MMAP_THRESHOLD, 1 << 20)
    // Below that, keep up to 32 MiB freed at the top of the heap rather than trimming it
    // at 128 KiB: a merge's per-piece lists grow and shrink the heap thousands of times,
    // and every page given back is a page fault (and zeroing) when it is taken again — on a
    // virtual machine whose host reclaims freed memory, a fault into the host as well.
    // Measured on a 1.1 B-parameter TIES merge: 256–265 K minor faults → 25 K, system time
    // 2.4–3.0 s → 1.9–2.1 s, peak RSS 313 → 346–349 MB.
    _ = mallopt(M_TRIM_THRESHOLD, 32 << 20)
    let argv = Array(CommandLine.arguments.dropFirst())
    guard let name = argv.first, name != "--help", name != "-h", name != "help" else {
        printUsage()
        return argv.isEmpty ? 2 : 0
    }
    guard let command = (commands + hiddenCommands).first(where: { $0.name == name }) else {
        print("mergeflow: unknown command \"\(name)\" (see mergeflow --help)", to: &standardError)
        return 2
    }
    let rest = Array(argv.dropFirst())
    if rest.contains("--help") || rest.contains("-h") {
        print(command.help)
        return 0
    }
    do {
        return try command.run(rest)
    } catch let error as UsageError {
        print("mergeflow \(name): \(error)", to: &standardError)
        return 2
    } catch let error as SpecError {
        print("mergeflow \(name): \(error)", to: &standardError)
        return 2
    } catch let error as CheckpointError {
        print("mergeflow \(name): \(error)", to: &standardError)
        return 2
    } catch let error as StoreError {
        print("mergeflow \(name): \(error)", to: &standardError)
        switch error {
        case .notFound, .newerSchema, .unreadableFile: return 2
        default: return 1
        }
    } catch {
        print("mergeflow \(name): \(plainErrorMessage(error))", to: &standardError)
        return 1
    }
}

exit(main())
