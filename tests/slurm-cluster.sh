#!/usr/bin/env bash
# A one-node Slurm cluster on loopback, for the tests: munged, slurmctld
# and slurmd, every file of theirs (keys, sockets, state, logs, config)
# under one directory.
#
#   tests/slurm-cluster.sh start DIR    prints the lines to eval:
#                                       SLURM_CONF=... (and PATH as is)
#   tests/slurm-cluster.sh stop DIR
#
# Needs Debian's slurmctld, slurmd, slurm-client and munge, and root (the
# daemons switch to the job's user; as root every user is this one).
set -euo pipefail
cmd=${1:?start|stop} dir=${2:?DIR}

stop() {
    for p in slurmd slurmctld munged; do
        [ -s "$dir/$p.pid" ] && kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
    done
    # each gets a few seconds to go, then it is killed
    for _ in $(seq 50); do
        alive=0
        for p in slurmd slurmctld munged; do
            [ -s "$dir/$p.pid" ] && kill -0 "$(cat "$dir/$p.pid")" 2>/dev/null && alive=1
        done
        [ $alive = 0 ] && return 0
        sleep 0.1
    done
    for p in slurmd slurmctld munged; do
        [ -s "$dir/$p.pid" ] && kill -9 "$(cat "$dir/$p.pid")" 2>/dev/null || true
    done
}

if [ "$cmd" = stop ]; then
    stop
    exit 0
fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

mkdir -p "$dir"/{state,spool,log}
chmod 700 "$dir"
dir=$(cd "$dir" && pwd)
# two free ports on loopback, one per daemon
read -r cport dport < <(python3 - <<'P'
import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))
P
)
host=$(hostname -s)
dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge.key"
munged --force --socket="$dir/munge.sock" --key-file="$dir/munge.key" \
    --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munged.seed"

cat >"$dir/slurm.conf" <<C
ClusterName=hfeval-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$cport
SlurmdPort=$dport
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
C
export SLURM_CONF=$dir/slurm.conf
slurmctld -i
slurmd
# up when the node takes jobs
for _ in $(seq 300); do
    state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
    case $state in idle* | mix* | alloc*) echo "export SLURM_CONF=$dir/slurm.conf"; exit 0 ;; esac
    sleep 0.1
done
echo "slurm-cluster: the node did not come up (state '${state:-}'); logs in $dir/log" >&2
stop
exit 1
