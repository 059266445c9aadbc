#!/usr/bin/env bash
# Stop the cluster ci/slurm_up.sh started in DIR: each daemon by the PID in its PID file (never by
# name), remove the configs it wrote to /etc/slurm, then remove DIR. munged is stopped only if
# slurm_up.sh started it (DIR/munged.pid).
#   ci/slurm_down.sh DIR [--keep]   # --keep leaves DIR (logs) in place
set -uo pipefail

DIR=${1:?usage: slurm_down.sh DIR [--keep]}
[ -d "$DIR" ] || exit 0

stop() {  # stop PIDFILE
    local pidfile=$1 pid
    [ -f "$pidfile" ] || return 0
    pid=$(tr -dc '0-9' <"$pidfile")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
}

stop "$DIR/slurmd.pid"
stop "$DIR/slurmctld.pid"
stop "$DIR/slurmdbd.pid"
stop "$DIR/mariadbd.pid"
if [ -f "$DIR/munged.pid" ]; then
    stop "$DIR/munged.pid"
    rm -f /run/munge/munged.pid
fi
for conf in /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf; do  # only the ones slurm_up.sh wrote
    [ -f "$conf" ] && grep -qF "# written by entangle ci/slurm_up.sh" "$conf" && rm -f "$conf"
done
[ "${2:-}" = --keep ] || rm -rf "$DIR"
