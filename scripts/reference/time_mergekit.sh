#!/usr/bin/env bash
# Times mergekit on the very checkpoints `mergeflow bench --only merge` uses, for the
# speed ratio in the README. Not run by CI.
#
#   python3 -m venv /tmp/mk && /tmp/mk/bin/pip install mergekit==0.1.5
#   .build/release/mergeflow bench --only merge --keep --dir /tmp/mb
#   scripts/reference/time_mergekit.sh /tmp/mb-merge [/tmp/mk]
#
# At 1.1 B parameters (issue 15; TinyLlama-shaped bf16 checkpoints in 1 GB shards, merged
# into 1 GB output shards by both tools):
#
#   .build/release/mergeflow bench --only merge --scale 1b --keep --dir /tmp/mb
#   scripts/reference/time_mergekit.sh /tmp/mb-merge1b /tmp/ref 1B
#
# METHODS="linear slerp" limits the methods timed (mergekit takes ~19 min for TIES at 1.1 B);
# MERGEFLOW=PATH times another mergeflow binary (default: this checkout's release build).
#
# For each of linear, ties, slerp it rewrites the benchmark's config with absolute model
# paths (JSON is valid YAML), runs mergekit-yaml (CPU, all threads it wants), and prints
# wall time and peak RSS from GNU time, then the same for `mergeflow merge --direct`.
# Each run starts after `sync`, so the previous run's output is not still being written
# back to disk underneath it (on the machine measured, that alone moved timings by 2x).
# And each run starts right after writing and deleting a 2.2 GB file: on the virtual
# machines this was measured on, memory left free for a second or two goes back to the host
# and costs several times more to use again (scripts/probes/write_pace.c), so the tool run
# right after mergekit's exit (which frees 4-5 GB) paid for it, not the tool run first.
# Both tools now start with the same just-used free memory.
set -euo pipefail
dir=${1:?usage: time_mergekit.sh BENCH_MERGE_DIR [VENV]}
venv=${2:-/tmp/mk}
shard=${3:-}
extra=()
if [ -n "$shard" ]; then extra=(--out-shard-size "$shard"); fi
here=$(cd "$(dirname "$0")/../.." && pwd)
settle() {
    dd if=/dev/zero of="$dir/settle.tmp" bs=16M count=140 status=none
    rm -f "$dir/settle.tmp"
    sync
}
for m in ${METHODS:-linear ties slerp}; do
    sed -e "s#\"model\": \"\([a-z]*\)\"#\"model\": \"$dir/\1\"#g" \
        -e "s#\"base_model\": \"\([a-z]*\)\"#\"base_model\": \"$dir/\1\"#" "$dir/$m.json" > "$dir/mk-$m.yml"
    rm -rf "$dir/mk-out-$m" "$dir/mf-out-$m"
    settle
    HF_HUB_OFFLINE=1 /usr/bin/time -f "mergekit  $m %e s, peak RSS %M KB" \
        "$venv/bin/mergekit-yaml" "$dir/mk-$m.yml" "$dir/mk-out-$m" --no-copy-tokenizer "${extra[@]}" > /dev/null 2> "$dir/mk-$m.log" || true
    tail -1 "$dir/mk-$m.log"
    settle
    /usr/bin/time -f "mergeflow $m %e s, peak RSS %M KB" \
        "${MERGEFLOW:-$here/.build/release/mergeflow}" merge "$dir/$m.json" "$dir/mf-out-$m" --direct "${extra[@]}" > /dev/null
    rm -rf "$dir/mk-out-$m" "$dir/mf-out-$m"
done
