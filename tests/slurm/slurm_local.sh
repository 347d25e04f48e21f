# slurm_local.sh: start and stop a private single-node Slurm (munged,
# slurmctld, slurmd from Debian's munge and slurm-wlm packages) whose config,
# key, sockets, state, spool, logs and pid files all live under one folder,
# on non-default ports.  Source it, then:
#
#   slurm_local_check             returns non-zero, with SLURM_SKIP set to the
#                                 reason, when not root or a package is missing
#   slurm_local_start DIR         start the daemons; exports SLURM_CONF
#   slurm_local_stop              stop them by the pids in their pid files
#
# Nothing here installs anything; scripts/bootstrap.sh --test does (as root).
# As root, with SlurmUser=root and no cgroups (ProctrackType=linuxproc,
# TaskPlugin=task/none), following ../shared/notes/slurm-single-node.md.

SLURM_LOCAL_DIR=""

slurm_local_check() {
  SLURM_SKIP=""
  if [ "$(id -u)" -ne 0 ]; then
    SLURM_SKIP="not root: a private Slurm needs root (SlurmUser=root)"
    return 1
  fi
  local b
  for b in munged slurmctld slurmd sbatch squeue sinfo scontrol sacct; do
    if ! command -v "$b" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$b" ]; then
      SLURM_SKIP="'$b' not found: install Debian's slurm-wlm and munge packages (scripts/bootstrap.sh --test does, as root)"
      return 1
    fi
  done
  if ! id munge >/dev/null 2>&1; then
    SLURM_SKIP="no user 'munge': install Debian's munge package"
    return 1
  fi
  return 0
}

# Real memory for slurm.conf: a little under what `free -m` reports.
slurm_local_memory() {
  local total
  total=$(free -m | awk '/^Mem:/ {print $2}')
  echo $((total * 9 / 10))
}

slurm_local_conf() { # slurm_local_conf DIR PORT
  local d=$1 port=$2 node
  node=$(hostname -s)
  cat >"$d/slurm.conf" <<EOT
ClusterName=hlmtest
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
# cred_expire: how long slurmd refuses a relaunch of a requeued job (and so
# how long Slurm holds it): 5 s (the least Slurm accepts) instead of 120 for
# the requeue test.
AuthInfo=socket=$d/munge/munge.socket,cred_expire=5
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
# Run the main scheduler and backfill every second (defaults 60 and 30 s):
# a requeued job, held until its begin time, waited up to 30 s for the next
# pass; so did jobs whose dependency was just met.
SchedulerParameters=sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
KillWait=5
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
Waittime=0
NodeName=$node CPUs=$(nproc) RealMemory=$(slurm_local_memory) State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOT
}

slurm_local_munge() { # slurm_local_munge DIR: a private munged
  local d=$1/munge
  mkdir -p "$d"
  dd if=/dev/urandom of="$d/munge.key" bs=1024 count=1 status=none
  chown -R munge:munge "$d"
  chmod 700 "$d"
  chmod 400 "$d/munge.key"
  runuser -u munge -- /usr/sbin/munged --key-file="$d/munge.key" \
    --socket="$d/munge.socket" --pid-file="$d/munged.pid" \
    --log-file="$d/munged.log" --seed-file="$d/munged.seed" --force
}

# Wait up to $2 seconds for command $1 to succeed (tried 5 times a second).
slurm_local_wait() {
  local i
  for i in $(seq 1 $(($2 * 5))); do
    if eval "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

slurm_local_start() { # slurm_local_start DIR [PORT]
  SLURM_LOCAL_DIR=$1
  local d=$1 port=${2:-16817}
  mkdir -p "$d/state" "$d/spool"
  chmod 755 "$d"
  slurm_local_munge "$d" || { echo "munged did not start" >&2; return 1; }
  slurm_local_conf "$d" "$port"
  export SLURM_CONF=$d/slurm.conf
  /usr/sbin/slurmctld -f "$SLURM_CONF" -c -i || return 1
  /usr/sbin/slurmd -f "$SLURM_CONF" || return 1
  if ! slurm_local_wait "sinfo -h -o %t | grep -q idle" 60; then
    echo "the Slurm node did not become idle; logs:" >&2
    tail -n 20 "$d/slurmctld.log" "$d/slurmd.log" >&2
    return 1
  fi
}

# slurm_local_stop_pids PIDFILE...: SIGTERM to each, wait up to 10 s for
# all of them to exit, then SIGKILL to any left.
slurm_local_stop_pids() {
  local f pid pids="" i left
  for f in "$@"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null && pids="$pids $pid"
  done
  for i in $(seq 1 100); do
    left=""
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && left="$left $pid"; done
    [ -n "$left" ] || return 0
    sleep 0.1
  done
  for pid in $left; do kill -9 "$pid" 2>/dev/null || true; done
}

slurm_local_stop() {
  local d=$SLURM_LOCAL_DIR
  [ -n "$d" ] || return 0
  # the two Slurm daemons together (each takes 1-2 s), then munged
  slurm_local_stop_pids "$d/slurmd.pid" "$d/slurmctld.pid"
  slurm_local_stop_pids "$d/munge/munged.pid"
  SLURM_LOCAL_DIR=""
}
