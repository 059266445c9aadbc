#!/usr/bin/env bash
# Start a real single-node SLURM cluster on localhost, with accounting (slurmdbd + a private MariaDB)
# so `sacct` works, for tests/workflow/test_slurm.py (facts: ../shared/recipes/SLURM_LOCAL.md).
#
#   ci/slurm_up.sh DIR      # DIR holds state, logs, PID files and the database; DIR/cluster.env says what runs
#   ci/slurm_down.sh DIR    # stops the daemons by the PIDs in DIR, removes DIR and the configs
#
# The configs go to /etc/slurm (slurm.conf, slurmdbd.conf, marked as ours; slurm_down.sh removes them):
# the default location is the only one that works, since the executor plugin deletes every SLURM_*
# variable, SLURM_CONF included, inside jobs before calling srun. An existing slurm.conf that is not ours
# is never touched (exit 3). munge is the system's: reused if running, else started (and then stopped
# by slurm_down.sh). Daemons run as root (CI machines and containers). Ports: 26817-26819 (slurmctld,
# slurmd, slurmdbd) and 23306 (MariaDB, 127.0.0.1 only), so a real cluster's defaults are not in the way.
# Packages (Debian): munge slurmctld slurmd slurm-client slurmdbd mariadb-server (.ci/run installs them).
# Without slurmdbd/mariadb the cluster starts without accounting (ACCOUNTING=0 in DIR/cluster.env);
# the test then uses the plugin's squeue status command and the slurmctld log instead of sacct.
# Exit status: 0 up; 3 packages missing or not root (the test skips); 1 a daemon failed (logs printed).
set -uo pipefail

DIR=${1:?usage: slurm_up.sh DIR}
mkdir -p "$DIR"/{log,state/ctld,state/d}
DIR=$(cd "$DIR" && pwd)
ACCOUNTING=${ENTANGLE_SLURM_ACCOUNTING:-1}
CTLD_PORT=${ENTANGLE_SLURMCTLD_PORT:-26817}
SLURMD_PORT=${ENTANGLE_SLURMD_PORT:-26818}
DBD_PORT=${ENTANGLE_SLURMDBD_PORT:-26819}
DB_PORT=${ENTANGLE_MARIADB_PORT:-23306}

missing=()
for bin in /usr/sbin/munged /usr/bin/munge /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/bin/sinfo; do
    [ -x "$bin" ] || missing+=("$bin")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "SLURM packages not installed (missing: ${missing[*]}); install: apt-get install munge slurmctld slurmd slurm-client slurmdbd mariadb-server" >&2
    exit 3
fi
if [ "$(id -u)" != 0 ]; then
    echo "starting SLURM daemons needs root (uid $(id -u))" >&2
    exit 3
fi
ETC=/etc/slurm
MARK="# written by entangle ci/slurm_up.sh"
if [ -f "$ETC/slurm.conf" ] && ! grep -qF "$MARK" "$ETC/slurm.conf"; then
    echo "$ETC/slurm.conf exists and is not ours (a real SLURM installation?); not touching it" >&2
    exit 3
fi
mkdir -p "$ETC"
if [ "$ACCOUNTING" = 1 ]; then
    for bin in /usr/sbin/slurmdbd /usr/sbin/mariadbd /usr/bin/mariadb-install-db /usr/bin/mariadb /usr/bin/sacctmgr; do
        [ -x "$bin" ] || { echo "note: $bin missing, starting SLURM without accounting (no sacct)" >&2; ACCOUNTING=0; break; }
    done
fi

fail() {
    echo "slurm_up: $*" >&2
    for f in "$DIR"/log/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
    exit 1
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local seconds=$1 what=$2; shift 2
    for _ in $(seq $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    fail "timed out after ${seconds}s waiting for $what"
}

# --- munge (the system's key and socket) -------------------------------------------------------------
if ! (munge -n | unmunge) >/dev/null 2>&1; then
    install -d -o munge -g munge -m 0755 /run/munge
    [ -f /etc/munge/munge.key ] || { /usr/sbin/mungekey --create >/dev/null 2>&1 || fail "no munge key"; chown munge:munge /etc/munge/munge.key; }
    su -s /bin/sh munge -c /usr/sbin/munged || fail "munged did not start"
    wait_for 10 munge sh -c 'munge -n | unmunge'
    cp /run/munge/munged.pid "$DIR/munged.pid"  # we started it, so slurm_down.sh stops it
fi

HOST=$(hostname -s)
CPUS=${ENTANGLE_SLURM_CPUS:-$(nproc)}
MEM=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024 ))

# --- accounting: a private MariaDB on 127.0.0.1:DB_PORT and slurmdbd -------------------------------------
if [ "$ACCOUNTING" = 1 ]; then
    mariadb-install-db --no-defaults --user=root --datadir="$DIR/mysql" --auth-root-authentication-method=socket \
        --skip-test-db >"$DIR/log/mariadb-install.log" 2>&1 || fail "mariadb-install-db failed"
    setsid /usr/sbin/mariadbd --no-defaults --user=root --datadir="$DIR/mysql" --socket="$DIR/mysql.sock" \
        --pid-file="$DIR/mariadbd.pid" --port="$DB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
        --innodb-buffer-pool-size=64M --innodb-lock-wait-timeout=900 --log-error="$DIR/log/mariadb.log" </dev/null >/dev/null 2>&1 &
    wait_for 30 MariaDB mariadb --no-defaults -S "$DIR/mysql.sock" -u root -e "SELECT 1"
    mariadb --no-defaults -S "$DIR/mysql.sock" -u root -e "
        CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm-local';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" || fail "cannot create the slurm database user"
    cat >"$ETC/slurmdbd.conf" <<EOF
$MARK
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$DIR/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm-local
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$ETC/slurmdbd.conf"
    ACCOUNTING_CONF="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
AccountingStoreFlags=job_comment"
else
    ACCOUNTING_CONF="AccountingStorageType=accounting_storage/none"
fi

cat >"$ETC/slurm.conf" <<EOF
$MARK (cluster state in $DIR)
ClusterName=localcluster
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state/ctld
SlurmdSpoolDir=$DIR/state/d
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
$ACCOUNTING_CONF
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
MinJobAge=300
KillWait=5
DefMemPerCPU=1024
SlurmdParameters=config_overrides
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$ETC/slurm.conf"

if [ "$ACCOUNTING" = 1 ]; then
    /usr/sbin/slurmdbd || fail "slurmdbd did not start"
    wait_for 30 slurmdbd sacctmgr -n list cluster
    sacctmgr -i add cluster localcluster >/dev/null
    sacctmgr -i add account none Cluster=localcluster Description=local Organization=local >/dev/null
    sacctmgr -i add user "$(id -un)" Account=none Cluster=localcluster >/dev/null
    sacctmgr -n -P list assoc format=cluster,account,user | grep -q "localcluster|none|$(id -un)" \
        || fail "the accounting association was not created"
fi
/usr/sbin/slurmctld || fail "slurmctld did not start"
/usr/sbin/slurmd || fail "slurmd did not start"
wait_for 30 "the node to be idle" sh -c '[ "$(sinfo -h -o %t | head -n1)" = idle ]'
srun -t 1 hostname >/dev/null 2>&1 || fail "srun hostname failed"

cat >"$DIR/cluster.env" <<EOF
SLURM_CONF=$SLURM_CONF
ACCOUNTING=$ACCOUNTING
CPUS=$CPUS
EOF
echo "export SLURM_CONF=$SLURM_CONF   # accounting: $ACCOUNTING"
