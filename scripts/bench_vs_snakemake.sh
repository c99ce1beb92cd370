#!/usr/bin/env bash
# Side by side with Snakemake on the same machine: N independent steps that each run a
# trivial program and write one output (mergeflow: a `command` node gridded N ways writing an
# empty `files` folder; Snakemake: one rule with N outputs, `touch`). First run, then a no-op
# rerun, with the same --cores / --jobs and --threads.
#   scripts/bench_vs_snakemake.sh [N] [CORES]     (needs snakemake on PATH or in $SNAKEMAKE)
set -euo pipefail
N=${1:-1000}
CORES=${2:-2}
MF=${MERGEFLOW:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/mergeflow}
SNAKEMAKE=${SNAKEMAKE:-snakemake}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"

python3 - "$N" <<'PY'
import json, sys
n = int(sys.argv[1])
spec = {"name": "bench-commands", "nodes": {"step": {
    "op": "command",
    "params": {"argv": ["mkdir", "{outputs.out}"], "outputs": {"out": "files"}},
    "grid": {"vars.i": list(range(n))}}}}
open("spec.json", "w").write(json.dumps(spec))
open("Snakefile", "w").write(
    "rule all:\n    input: expand('out/{i}.done', i=range(%d))\n\n"
    "rule step:\n    output: 'out/{i}.done'\n    shell: 'touch {output}'\n" % n)
PY

seconds() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
}

mf_first=$(seconds "$MF" run spec.json --jobs "$CORES" --threads "$CORES" --quiet --cache mf.sqlite)
mf_noop=$(seconds "$MF" run spec.json --jobs "$CORES" --threads "$CORES" --quiet --cache mf.sqlite)
sm_first=$(seconds "$SNAKEMAKE" --cores "$CORES" --quiet)
sm_noop=$(seconds "$SNAKEMAKE" --cores "$CORES" --quiet)
printf "%d steps, %d cores          mergeflow   snakemake   ratio\n" "$N" "$CORES"
printf "first run                %9.2f s %9.2f s %7.1fx\n" "$mf_first" "$sm_first" "$(echo "$sm_first / $mf_first" | bc -l)"
printf "no-op rerun              %9.2f s %9.2f s %7.1fx\n" "$mf_noop" "$sm_noop" "$(echo "$sm_noop / $mf_noop" | bc -l)"
