#!/usr/bin/env bash
# A single-host Slurm cluster on localhost, for tests and demos: munged, slurmctld and
# slurmd started by hand (no systemd), everything under one state folder, stopped by the
# pids this script recorded and nothing else.
#
#   scripts/slurm-local.sh start    install the packages if missing, start, wait until idle;
#                                   prints `export SLURM_CONF=…` (the only setting clients need)
#   scripts/slurm-local.sh stop     scancel our jobs, stop the three daemons we started
#   scripts/slurm-local.sh status   what runs, from our pid files
#   scripts/slurm-local.sh env      the `export SLURM_CONF=…` line
#
# State folder: $MERGEFLOW_SLURM_DIR (default /tmp/mergeflow-slurm). Needs root (Slurm's
# daemons run as SlurmUser=root here). Settings: ../shared/SLURM-NOTES.md.
set -euo pipefail
DIR=${MERGEFLOW_SLURM_DIR:-/tmp/mergeflow-slurm}
CONF=$DIR/slurm.conf
NAME=$(hostname -s)
PACKAGES=(slurmctld slurmd slurm-client munge)

say() { echo "slurm-local: $*" >&2; }

install_missing() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    # Debian starts services on install; a policy-rc.d that exits 101 forbids it. Ours is
    # written only when there is none, and removed afterwards.
    local policy=/usr/sbin/policy-rc.d ours=0
    if [ ! -e $policy ]; then printf '#!/bin/sh\nexit 101\n' > $policy; chmod 755 $policy; ours=1; fi
    local rc=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
    [ $ours -eq 1 ] && rm -f $policy
    return $rc
}

# The pid in FILE if that process is alive, is not a zombie, and is the named daemon.
live_pid() {
    local file=$1 comm=$2 pid state
    [ -s "$file" ] || return 1
    pid=$(cat "$file")
    [ -r "/proc/$pid/comm" ] || return 1
    [ "$(cat /proc/$pid/comm)" = "$comm" ] || return 1
    state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    [ "$state" != "Z" ] || return 1
    echo "$pid"
}

write_config() {
    mkdir -p "$DIR"/{state,spool,log,run}
    chmod 755 "$DIR" "$DIR/run"
    local cpus mem
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
    cat > "$CONF" <<EOF
# Written by scripts/slurm-local.sh: a single-host cluster on localhost.
ClusterName=mergeflow-local
SlurmctldHost=$NAME(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/run/munge.socket,cred_expire=5
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
KillWait=5
MinJobAge=3600
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,sched_interval=2,bf_interval=1
DependencyParameters=kill_invalid_depend
NodeName=$NAME NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
}

start() {
    [ "$(id -u)" -eq 0 ] || { say "needs root (the daemons run as root)"; exit 1; }
    install_missing
    if live_pid "$DIR/run/slurmctld.pid" slurmctld >/dev/null && live_pid "$DIR/run/slurmd.pid" slurmd >/dev/null; then
        say "already running"; echo "export SLURM_CONF=$CONF"; return 0
    fi
    write_config
    if ! live_pid "$DIR/run/munged.pid" munged >/dev/null; then
        [ -s "$DIR/munge.key" ] || { head -c 1024 /dev/urandom > "$DIR/munge.key"; }
        chmod 400 "$DIR/munge.key"
        munged --key-file="$DIR/munge.key" --socket="$DIR/run/munge.socket" --pid-file="$DIR/run/munged.pid" \
               --log-file="$DIR/log/munged.log" --seed-file="$DIR/run/munge.seed" --force </dev/null >/dev/null 2>&1
    fi
    export SLURM_CONF=$CONF
    # Lowest CPU priority, inherited by every job: the cluster shares the machine with
    # whatever else runs on it. The daemons' own output goes to their logs: they must not
    # hold our caller's pipes open.
    live_pid "$DIR/run/slurmctld.pid" slurmctld >/dev/null || nice -n 19 slurmctld -f "$CONF" </dev/null >/dev/null 2>&1
    live_pid "$DIR/run/slurmd.pid" slurmd >/dev/null || nice -n 19 slurmd -f "$CONF" -N "$NAME" </dev/null >/dev/null 2>&1
    local state=""
    for _ in $(seq 1 150); do
        state=$(sinfo -h -n "$NAME" -o %T 2>/dev/null | head -1 || true)
        case "$state" in
            idle|mixed|allocated) echo "export SLURM_CONF=$CONF"; return 0 ;;
            down*|drain*) scontrol update NodeName="$NAME" State=RESUME 2>/dev/null || true ;;
        esac
        sleep 0.2
    done
    say "node $NAME did not become idle (state '$state'); logs in $DIR/log"
    stop
    exit 1
}

stop() {
    export SLURM_CONF=$CONF
    if live_pid "$DIR/run/slurmctld.pid" slurmctld >/dev/null; then
        # Every job of this private cluster is ours.
        scancel --quiet --user="$(id -un)" 2>/dev/null || true
    fi
    local name pid
    for name in slurmd slurmctld munged; do
        pid=$(live_pid "$DIR/run/$name.pid" "$name") || continue
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do live_pid "$DIR/run/$name.pid" "$name" >/dev/null || break; sleep 0.1; done
        if live_pid "$DIR/run/$name.pid" "$name" >/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
        say "stopped $name ($pid)"
    done
}

status() {
    local name pid rc=0
    for name in munged slurmctld slurmd; do
        if pid=$(live_pid "$DIR/run/$name.pid" "$name"); then echo "$name running ($pid)"; else echo "$name stopped"; rc=3; fi
    done
    if [ $rc -eq 0 ]; then SLURM_CONF=$CONF sinfo -h -o "%P %T %D %C" || true; fi
    return $rc
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: scripts/slurm-local.sh start|stop|status|env" >&2; exit 2 ;;
esac
