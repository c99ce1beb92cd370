#!/usr/bin/env bash
# mergeflow's one entry point on a fresh Debian machine (as root, or with sudo):
#   ./run.sh          install what is missing, build in release, run the main job (quickstart)
#   ./run.sh test     install what is missing, run the whole test suite (what CI runs)
#   ./run.sh bench    install what is missing, build in release, print the benchmark figures
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build links against; installed only when missing.
PACKAGES=(pkg-config libopenblas-dev libsqlite3-dev libssl-dev)

install_missing() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "run.sh: installing ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if ! command -v swift >/dev/null; then
        if [ -x /opt/swift/usr/bin/swift ]; then export PATH="/opt/swift/usr/bin:$PATH"
        else echo "run.sh: Swift 6 toolchain not found (expected on PATH or in /opt/swift)" >&2; exit 1; fi
    fi
}

build_release() {
    swift build -c release --product mergeflow 2>&1 | { grep -vE '^\[[0-9]+/[0-9]+\]' || true; }
    # A failed build must stop here, not leave an older binary to run.
    [ "${PIPESTATUS[0]}" -eq 0 ] && test -x .build/release/mergeflow || { echo "run.sh: build failed" >&2; exit 1; }
}

main_job() {
    build_release
    local mf=.build/release/mergeflow
    export MERGEFLOW_CACHE="${MERGEFLOW_CACHE:-cache/mergeflow.sqlite}"
    # The quickstart: pre-train, fine-tune (general, safety, a 15% mix), merge (linear, TIES),
    # evaluate per language, report. It reads the six-language data in ../shared/data (or
    # $MERGEFLOW_DATA). Results go to pipelines/results/quickstart/; a second run is a no-op.
    $mf report pipelines/quickstart.json --jobs 1
    $mf runs --limit 3
}

case "${1:-main}" in
    main) install_missing; main_job ;;
    test) install_missing
          # Tests run optimised (numeric tests are ~10x slower in debug) with @testable
          # imports, in a build folder of their own so the release binary is not rebuilt.
          # A failed build must fail the command: never run a stale test binary.
          swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path .build-test 2>&1 \
              | { grep -vE '^\[[0-9]+/[0-9]+\]' || true; }
          build_status=${PIPESTATUS[0]}
          if [ "$build_status" -ne 0 ]; then
              echo "run.sh: the test build failed (exit $build_status)" >&2
              exit "$build_status"
          fi
          # The Slurm executor's tests run against a real single-host cluster, started here
          # (packages installed if missing) and stopped afterwards. Where it cannot start,
          # those tests are skipped and say why.
          slurm_started=0
          if conf=$(scripts/slurm-local.sh status >/dev/null 2>&1 && scripts/slurm-local.sh env); then
              eval "$conf"
          elif conf=$(scripts/slurm-local.sh start); then
              eval "$conf"; slurm_started=1
          else
              echo "run.sh: the local Slurm cluster did not start; the Slurm executor's tests will be skipped" >&2
          fi
          status=0
          swift test -c release --skip-build -Xswiftc -enable-testing --scratch-path .build-test --disable-swift-testing || status=$?
          [ $slurm_started -eq 1 ] && scripts/slurm-local.sh stop
          exit $status ;;
    bench) install_missing; build_release; shift; .build/release/mergeflow bench "$@" ;;
    *) echo "usage: ./run.sh [main|test|bench [--size-mb N]]" >&2; exit 2 ;;
esac
