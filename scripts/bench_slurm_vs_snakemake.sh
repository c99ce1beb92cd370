#!/usr/bin/env bash
# Side by side with Snakemake on the same Slurm cluster: N independent trivial steps
# (mergeflow: a `command` node gridded N ways writing an empty `files` folder, through
# `run --executor slurm`; Snakemake: one rule with N outputs, `touch`, through
# snakemake-executor-plugin-slurm). Wall time end to end and `sbatch` calls, counted by a
# wrapper first on PATH. Snakemake runs twice: with the plugin's defaults, and tuned
# (first status check after 1 s, then every second). Its job-array mode
# (--slurm-array-jobs=all) is not used: with plugin 2.8.0 and Slurm 22.05 its array tasks
# fail ("--slurm-jobstep-array-execs: not found") and outputs go missing.
#
#   eval "$(scripts/slurm-local.sh start)"
#   scripts/bench_slurm_vs_snakemake.sh [N]     (snakemake with the plugin on PATH or in $SNAKEMAKE)
#
# Without slurmdbd `sacct` does not answer, so Snakemake is told to use squeue (the local
# cluster keeps finished jobs visible to it for an hour, MinJobAge=3600).
set -euo pipefail
N=${1:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MF=${MERGEFLOW:-$ROOT/.build/release/mergeflow}
SNAKEMAKE=${SNAKEMAKE:-snakemake}
: "${SLURM_CONF:?no SLURM_CONF: start a cluster first, eval \"\$(scripts/slurm-local.sh start)\"}"
export SLURM_CONF
# A folder every node sees: on the single-host cluster, any folder.
DIR=$(mktemp -d "${BENCH_DIR:-/tmp}/mergeflow-bench-slurm.XXXXXX")
# Inside its jobs, snakemake-executor-plugin-slurm deletes every SLURM_* variable before it
# calls srun, SLURM_CONF included: srun then finds no cluster unless the configuration is
# at Slurm's default path. For the benchmark only, a link there (when there is none),
# removed afterwards.
LINKED=""
if [ ! -e /etc/slurm/slurm.conf ]; then
    mkdir -p /etc/slurm && ln -s "$SLURM_CONF" /etc/slurm/slurm.conf && LINKED=/etc/slurm/slurm.conf
fi
trap 'rm -rf "$DIR"; [ -z "$LINKED" ] || rm -f "$LINKED"' EXIT
cd "$DIR"

REAL_SBATCH=$(command -v sbatch)
mkdir bin
cat > bin/sbatch <<EOF
#!/bin/sh
echo "\$*" >> "\$SBATCH_LOG"
exec "$REAL_SBATCH" "\$@"
EOF
chmod +x bin/sbatch
export PATH="$DIR/bin:$PATH"

python3 - "$N" <<'PY'
import json, sys
n = int(sys.argv[1])
spec = {"name": "bench-slurm", "nodes": {"step": {
    "op": "command",
    "params": {"argv": ["mkdir", "{outputs.out}"], "outputs": {"out": "files"}},
    "grid": {"vars.i": list(range(n))}}}}
open("spec.json", "w").write(json.dumps(spec))
for d in ("default", "tuned"):
    import os
    os.makedirs(d)
    open(d + "/Snakefile", "w").write(
        "rule all:\n    input: expand('out/{i}.done', i=range(%d))\n\n"
        "rule step:\n    output: 'out/{i}.done'\n    shell: 'touch {output}'\n" % n)
PY

# seconds TOOL COMMAND…: runs it with sbatch calls logged to sbatch-TOOL.log, prints wall seconds.
seconds() {
    local tool=$1 t0 t1; shift
    : > "$DIR/sbatch-$tool.log"
    t0=$(date +%s.%N)
    SBATCH_LOG="$DIR/sbatch-$tool.log" "$@" > "$DIR/$tool.out" 2>&1 || { echo "failed: $* (see below)" >&2; tail -30 "$DIR/$tool.out" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
}
calls() { wc -l < "$DIR/sbatch-$1.log" | tr -d ' '; }

mf=$(seconds mergeflow "$MF" run spec.json --executor slurm --quiet --cache mf.sqlite)
sm=$(cd default && seconds snakemake "$SNAKEMAKE" --executor slurm --jobs "$N" --quiet \
        --slurm-status-command squeue --default-resources slurm_partition=debug)
tuned=$(cd tuned && seconds tuned "$SNAKEMAKE" --executor slurm --jobs "$N" --quiet \
        --slurm-status-command squeue --default-resources slurm_partition=debug \
        --slurm-init-seconds-before-status-checks=1 --seconds-between-status-checks=1)
test "$(ls default/out | wc -l)" -eq "$N" && test "$(ls tuned/out | wc -l)" -eq "$N" || { echo "snakemake made too few outputs" >&2; exit 1; }

printf "%d trivial steps on Slurm (%s)        wall time   sbatch calls   vs mergeflow\n" "$N" "$(sinfo -h -o '%D node(s), %c cpus')"
printf "mergeflow --executor slurm              %9.2f s %14d\n" "$mf" "$(calls mergeflow)"
printf "snakemake, plugin defaults              %9.2f s %14d %13.1fx\n" "$sm" "$(calls snakemake)" "$(echo "$sm / $mf" | bc -l)"
printf "snakemake, status checks every 1 s      %9.2f s %14d %13.1fx\n" "$tuned" "$(calls tuned)" "$(echo "$tuned / $mf" | bc -l)"
