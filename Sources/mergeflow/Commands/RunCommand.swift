import Engine
import Ops
import Foundation
import Numerics
import Store

let runCommand = Command(
    name: "run",
    summary: "run a pipeline spec: every instance not already in the cache",
    help: """
    usage: mergeflow run SPEC [--jobs N] [--force NODE]... [--only NODE]... [--quiet]
                              [--gpus 0,1] [--memory-gb N] [--in-process] [--cache PATH] [--threads N]
                              [--executor slurm [--partition P] [--account A] [--slurm-arg ARG]...
                                                [--spool PATH] [--max-jobs N]]

    Validates SPEC (every problem reported at once, nothing runs if there is one), expands
    its grids, and runs instances in dependency order. An instance whose action key (op,
    op version, params, input digests) is in the cache is not run again. Independent
    instances run in parallel, up to --jobs (default 1), sharing --threads. Each result is
    published in one transaction: a run killed at any moment resumes with `run` again.
    A failing instance fails its dependents only; the rest goes on. Training, evaluation and
    large merges run in a child process (`mergeflow exec`), so a crash or an out-of-memory
    kill fails that node only, with the signal and the end of its stderr in the error.

      --force NODE   rerun NODE (a node id or an instance id) even if cached; repeatable
      --only NODE    run only NODE and what it needs; repeatable
      --quiet        print only the summary
      --in-process   run every op in this process (no child processes; for debugging)
      --gpus 0,1     GPU device ids to hand out: an instance declaring "resources": {"gpus": G}
                     gets G of them, as CUDA_VISIBLE_DEVICES for commands
      --memory-gb N  declared memory ("resources": {"memory_gb": M}) of everything running at
                     once stays under N (default: the machine's memory); --threads bounds the
                     declared threads the same way
      --executor slurm  run every instance as a Slurm job (`mergeflow exec` against a spool
                     folder; this process stays the only writer of the cache). Ready instances
                     with the same resources go in one job array; `resources` become
                     --cpus-per-task, --mem, --gres=gpu:N, and a command's timeout --time.
      --partition P, --account A  passed to sbatch
      --slurm-arg ARG  one more sbatch argument (--slurm-arg=--qos=high); repeatable
      --spool PATH   the folder the jobs exchange inputs, outputs and progress through, on a
                     filesystem every node sees (default: mergeflow-spool beside the cache)
      --max-jobs N   Slurm jobs submitted and unfinished at once (default 1000)
      --max-instances N  refuse a spec whose grids expand to more than N instances
                     (default 100000; counted before anything is expanded)

    Progress: a live status line on a terminal, one line per instance otherwise.
    Exit code 0 if everything succeeded, 1 if an instance failed, 2 if the spec is invalid.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions.union(SpecSupport.options).union(SpecSupport.runOptionNames).union(["--force", "--only"]), flags: SpecSupport.runFlags)
        let path = try args.positionals("SPEC")[0]
        let graph = try SpecSupport.load(path, args)
        let store = try CommandSupport.openStore(args)
        var options = try SpecSupport.runOptions(args, specPath: path)
        options.force = try SpecSupport.instances(args.all("--force"), in: graph)
        let only = args.all("--only")
        if !only.isEmpty { options.only = try SpecSupport.instances(only, in: graph) }
        let scheduler = Scheduler(store: store, graph: graph, options: options)
        scheduler.slurm?.cancelOnInterrupt()
        let summary = try scheduler.run()
        var line = "\(graph.spec.name): \(summary.executed) ran, \(summary.cached) cached"
        if !summary.failed.isEmpty { line += ", \(summary.failed.count) failed" }
        if summary.skipped > 0 { line += ", \(summary.skipped) skipped" }
        if summary.waitedForOthers > 0 { line += ", \(summary.waitedForOthers) computed by another process" }
        if let slurm = scheduler.slurm {
            line += ", \(slurm.submissions) sbatch call\(slurm.submissions == 1 ? "" : "s")"
            if slurm.reattached > 0 { line += ", \(slurm.reattached) re-attached" }
        }
        print(line + " in \(SpecSupport.duration(summary.seconds)) (run \(summary.runID))")
        for f in summary.failed { print("failed: \(f.instance): \(f.error)", to: &standardError) }
        return summary.succeeded ? 0 : 1
    }
)
