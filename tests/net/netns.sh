# Two emulated hosts for the tests of issue 17 (source after lib.sh).
#
# Two network namespaces joined by a veth pair, each with one address of
# 198.18.17.0/24 (RFC 2544's benchmark range, made here and only inside
# these namespaces), and `mpirun` started in the first with a hostfile of
# the two addresses.  Open MPI reaches the second "host" through
# $TMP/agent.sh (its plm_rsh_agent), which runs the daemon there with
# `ip netns exec`.  The ranks talk over TCP across the veth pair (btl
# tcp,self: no shared memory, even between ranks of one host).  Each host
# has its own host name (a UTS namespace): with one name for both, Open
# MPI's MPI-IO (OMPIO) took them for one node and hung in MPI_File_close
# at 2 + 1 ranks.  Both hosts see the same file system.  ../shared/notes/mpi-across-namespaces.md says
# what was seen to work.
#
# hosts_up makes them (or exits 77, a CTest skip, when not root or when
# namespaces cannot be made); an EXIT trap kills every process left in them
# and removes them on every way out.
NET=198.18.17
NS_A=hlm17a-$$ NS_B=hlm17b-$$
VETH_A=h17a$$ VETH_B=h17b$$
HOST_A=$NET.1 HOST_B=$NET.2
# Open MPI's daemons notice a lost peer by TCP keepalive: after 4 s idle,
# 3 probes 1 s apart (the defaults, 300 s and 9 x 20 s, would leave mpirun
# waiting 8 minutes for a daemon behind a dead link; docs/failures.md).
# Each host has as many slots as ranks, so Open MPI would not know the
# machine is oversubscribed: yield when idle (4 ranks polling TCP on 2
# cores took 8 s for a fit that takes 1 s with it).
NET_MCA=(--mca plm_rsh_agent "$TMP/agent.sh" --mca btl tcp,self
  --mca btl_tcp_if_include "$NET.0/24" --mca oob_tcp_if_include "$NET.0/24"
  --mca oob_tcp_keepalive_time 4 --mca oob_tcp_keepalive_intvl 1
  --mca oob_tcp_keepalive_probes 3 --mca mpi_yield_when_idle 1)

# ns_pids NS: the processes in NS (all started by this test)
ns_pids() { ip netns pids "$1" 2>/dev/null; }

net_cleanup() {
  local ns pid
  for ns in "$NS_A" "$NS_B"; do
    ip netns list 2>/dev/null | grep -qw "^$ns" || continue
    for pid in $(ns_pids "$ns"); do kill -9 "$pid" 2>/dev/null; done
    for _ in $(seq 50); do [ -z "$(ns_pids "$ns")" ] && break; sleep 0.1; done
    ip netns del "$ns" 2>/dev/null
  done
}

skip() { echo "SKIP: $*"; exit 77; }

# Namespaces left by an earlier run of these tests that was killed before
# its trap ran (a CTest timeout): their test process is gone.
stale_cleanup() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | grep -oE '^hlm17[ab]-[0-9]+'); do
    kill -0 "${ns#hlm17?-}" 2>/dev/null && continue
    for pid in $(ns_pids "$ns"); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
}

hosts_up() {
  [ "$(id -u)" -eq 0 ] || skip "not root: network namespaces need root"
  command -v ip >/dev/null || skip "no ip command (iproute2)"
  command -v unshare >/dev/null || skip "no unshare command (util-linux)"
  stale_cleanup
  trap 'net_cleanup; rm -rf "$TMP"' EXIT
  trap 'exit 130' INT TERM
  ip netns add "$NS_A" 2>/dev/null || skip "cannot make a network namespace"
  ip netns add "$NS_B" || skip "cannot make a second network namespace"
  ip link add "$VETH_A" type veth peer name "$VETH_B" \
    || skip "cannot make a veth pair"
  ip link set "$VETH_A" netns "$NS_A" && ip link set "$VETH_B" netns "$NS_B" \
    && ip -n "$NS_A" addr add "$HOST_A/24" dev "$VETH_A" \
    && ip -n "$NS_B" addr add "$HOST_B/24" dev "$VETH_B" \
    && ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up \
    && ip -n "$NS_A" link set "$VETH_A" up && ip -n "$NS_B" link set "$VETH_B" up \
    || skip "cannot set up the veth pair"
  cat >"$TMP/agent.sh" <<EOF
#!/bin/sh
# Open MPI's plm_rsh_agent: agent [options] HOST COMMAND...
while [ \$# -gt 0 ]; do case \$1 in -*) shift ;; *) break ;; esac; done
host=\$1; shift
case \$host in
  $HOST_A) ns=$NS_A ;;
  $HOST_B) ns=$NS_B ;;
  *) echo "agent.sh: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec \$ns unshare --uts /bin/sh -c "hostname \$ns; \$*"
EOF
  chmod +x "$TMP/agent.sh"
  ip -n "$NS_A" route get "$HOST_B" 2>/dev/null | grep -q "dev $VETH_A" \
    || skip "host A has no route to host B"
}

# link_bytes: bytes sent by host A over the veth pair so far
link_bytes() { ip netns exec "$NS_A" cat "/sys/class/net/$VETH_A/statistics/tx_bytes"; }

# start_hosts NP ARGS...: hlm-mpi on NP ranks, the first ceil(NP/2) on
# host A, the rest on host B, in the background (PID: mpirun's timeout,
# 60 s).  Each rank records its exit code and its network namespace in
# $TMP/rank.R.
start_hosts() {
  local np=$1; shift
  rm -f "$TMP"/rank.*
  OUT=$TMP/out ERR=$TMP/err
  printf '%s slots=%d\n%s slots=%d\n' "$HOST_A" $(((np + 1) / 2)) \
    "$HOST_B" $((np / 2)) >"$TMP/hosts"
  timeout --signal=KILL 60 ip netns exec "$NS_A" unshare --uts \
    sh -c 'hostname "$0" && exec "$@"' "$NS_A" "$MPIEXEC" -n "$np" \
    --hostfile "$TMP/hosts" "${NET_MCA[@]}" \
    sh -c '"$0" "$@"; rc=$?; echo "$rc $(readlink /proc/self/ns/net)" > "'"$TMP"'/rank.$OMPI_COMM_WORLD_RANK"; exit $rc' \
    "$HLM" "$@" >"$OUT" 2>"$ERR" &
  PID=$!
}

# run_hosts NP ARGS...: start_hosts and wait; sets RC, RANK_RCS (as
# run_ranks) and NSES (the number of distinct namespaces the ranks ran in).
run_hosts() {
  local np=$1 r
  start_hosts "$@"
  wait "$PID"
  RC=$?
  RANK_RCS=""
  for r in $(seq 0 $((np - 1))); do
    if [ -f "$TMP/rank.$r" ]; then
      RANK_RCS="$RANK_RCS $(cut -d' ' -f1 "$TMP/rank.$r")"
    else
      RANK_RCS="$RANK_RCS missing"
    fi
  done
  RANK_RCS=${RANK_RCS# }
  NSES=$(cat "$TMP"/rank.* 2>/dev/null | cut -d' ' -f2 | sort -u | wc -l)
}

# zeros NP: "0 0 ... 0"
zeros() { printf '0 %.0s' $(seq "$1") | sed 's/ $//'; }
