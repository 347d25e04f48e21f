#!/usr/bin/env bash
# A node dies mid-fit (issue 17; tests/net/netns.sh, docs/failures.md), on
# two emulated hosts with 2 ranks each:
#  - host B's link goes down: the ranks on both sides wait in a collective
#    until their watchdog (2 s here) ends them with exit 11 and a message
#    naming the phase and the evaluation; mpirun, which cannot reach host
#    B's daemon, gives up when TCP does (see below).  The job must end well
#    before its 60 s timeout with status 11, no process may be left on
#    either host, and the checkpoint must be complete;
#  - host B's ranks are killed (kill -9): Open MPI ends the job at once.
# Each time `--resume` on a healthy set of ranks must end at the estimates
# of an uninterrupted fit (1e-10).  Every evaluation waits 150 ms
# (HLM_TEST_EVALUATION_DELAY_MS) so that the failure comes mid-fit.
# Skips (77) when not root or when namespaces cannot be made.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/netns.sh"
PY=/usr/bin/python3
CMP=$SRC/tests/net/compare_json.py
hosts_up
# How long TCP retransmits to a peer that stopped answering: 15 times (about
# 15 minutes) by default, so mpirun, which must tell host B's daemon to end
# the job, waits that long for a dead host.  Here 3 (a few seconds), in
# these two namespaces only: a cluster's own failure detection (Slurm's
# SlurmdTimeout, docs/failures.md) plays this part.
for ns in "$NS_A" "$NS_B"; do
  ip netns exec "$ns" sysctl -q -w net.ipv4.tcp_retries2=3 \
    || skip "cannot set net.ipv4.tcp_retries2 in a namespace"
done

# config NAME [lines]: sleepstudy, with its checkpoint NAME.ck
config() {
  local name=$1; shift
  {
    printf '[data]\nfile = "%s"\ncluster = "Subject"\n' \
      "$SRC/data/sleepstudy/sleepstudy.h5"
    printf '[model]\nformula = "Reaction ~ Days + (Days | Subject)"\n'
    printf '[output]\nsummary = "%s"\n' "$TMP/$name.json"
    printf '[checkpoint]\npath = "%s"\ninterval = 5\n' "$TMP/$name.ck"
    for line in "$@"; do printf '%s\n' "$line"; done
  } >"$TMP/$name.toml"
}

# exact NAME WHAT: NAME.json has the uninterrupted estimates (1e-10)
exact() {
  if "$PY" "$CMP" same "$TMP/full.json" "$TMP/$1.json" 1e-10 1e-10 \
       >"$TMP/cmp" 2>&1
  then pass "$2 ($(head -1 "$TMP/cmp"))"; else fail "$2: $(cat "$TMP/cmp")"; fi
}

# intact CKPT WHAT: complete (docs/checkpoints.md's format), with 5, 10 or
# 15 evaluations (interval 5); sets CK_N
intact() {
  CK_N=$("$PY" - "$1" <<'EOF'
import sys
lines = open(sys.argv[1]).read().split("\n")
n = int(lines[7].split()[1]) if lines[7].startswith("evaluations ") else -1
ok = (lines[0] == "hlm-mpi checkpoint 1" and n in (5, 10, 15)
      and len(lines) == 8 + n + 2 and lines[8 + n] == "end" and lines[-1] == "")
for rec in lines[8:8 + max(n, 0)]:
    [float.fromhex(v) for v in rec.split()]
print(n if ok else "bad")
EOF
)
  if [ "$CK_N" != bad ]; then pass "$2: complete, $CK_N evaluations"
  else fail "$2: not a complete checkpoint"; head -9 "$1" >&2; fi
}

# wait_ckpt CKPT: until it holds 5 evaluations (at most 30 s)
wait_ckpt() {
  for _ in $(seq 300); do
    grep -q '^evaluations [1-9]' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no checkpoint in 30 s"
  return 1
}

# gone NS WHAT SECONDS: no process left in NS within SECONDS
gone() {
  local i
  for i in $(seq $(($3 * 10))); do
    if [ -z "$(ns_pids "$1")" ]; then pass "$2"; return; fi
    sleep 0.1
  done
  fail "$2: processes left after $3 s:"
  ns_pids "$1" | xargs -r ps -o pid,args -p >&2
}

# elapsed T0: seconds since T0 (date +%s.%N)
elapsed() { "$PY" -c "import time; print(round(time.time() - $1, 1))"; }
within() { # within SECONDS BOUND WHAT
  if "$PY" -c "import sys; sys.exit(0 if $1 < $2 else 1)"; then
    pass "$3 in $1 s (bound $2 s)"
  else
    fail "$3 took $1 s (bound $2 s)"
  fi
}

printf '[data]\nfile = "%s"\ncluster = "Subject"\n[model]\nformula = "%s"\n[output]\nsummary = "%s"\n' \
  "$SRC/data/sleepstudy/sleepstudy.h5" "Reaction ~ Days + (Days | Subject)" \
  "$TMP/full.json" >"$TMP/full.toml"
run_ranks 1 --quiet "$TMP/full.toml"
expect_rcs "uninterrupted fit, one host" "0"

# 1. Host B's link goes down mid-fit.
config down
HLM_WATCHDOG_SECONDS=2 HLM_TEST_EVALUATION_DELAY_MS=150 \
  start_hosts 4 "$TMP/down.toml"
if wait_ckpt "$TMP/down.ck"; then
  t0=$(date +%s.%N)
  ip -n "$NS_B" link set "$VETH_B" down
  wait "$PID"
  RC=$?
  t=$(elapsed "$t0")
  if [ "$RC" -eq 11 ]; then pass "link down: mpirun's status 11 (the watchdog's)"
  else fail "link down: mpirun's status $RC, expected 11 (137: killed at the timeout)"; fi
  within "$t" 20 "link down: the job ended"
  expect_in "$ERR" "watchdog: no progress for" "link down: the watchdog's message"
  expect_in "$ERR" "in the optimizer, at evaluation" \
    "link down: it names the phase and the evaluation"
  expect_in "$ERR" "exiting with status 11" "link down: and the exit status"
  gone "$NS_A" "link down: no process left on host A" 1
  # host B's ranks end by their watchdog, its daemon by TCP keepalive
  gone "$NS_B" "link down: no process left on host B" 15
  intact "$TMP/down.ck" "link down: the checkpoint"
  if [ -e "$TMP/down.json" ]; then fail "link down: a summary was written"; fi
  ip -n "$NS_B" link set "$VETH_B" up
  run_hosts 4 --quiet "$TMP/down.toml" --resume
  expect_rcs "link down: resumed on both hosts, healthy again" "0 0 0 0"
  exact down "link down: the resumed fit has the uninterrupted estimates"
else
  kill -9 "$PID" 2>/dev/null
fi

# 2. Host B's ranks are killed mid-fit.
config killed
HLM_TEST_EVALUATION_DELAY_MS=150 start_hosts 4 "$TMP/killed.toml"
if wait_ckpt "$TMP/killed.ck"; then
  t0=$(date +%s.%N)
  for pid in $(ns_pids "$NS_B"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = hlm-mpi ] && kill -9 "$pid"
  done
  wait "$PID"
  RC=$?
  t=$(elapsed "$t0")
  # (the rank wrapper's shell reports the kill as status 137)
  if [ "$RC" -ne 0 ]; then pass "ranks killed: the job ended with status $RC"
  else fail "ranks killed: mpirun's status 0"; fi
  within "$t" 10 "ranks killed: the job ended"
  expect_in "$ERR" "detected that one or more processes exited with non-zero status" \
    "ranks killed: Open MPI's message"
  gone "$NS_A" "ranks killed: no process left on host A" 1
  gone "$NS_B" "ranks killed: no process left on host B" 5
  intact "$TMP/killed.ck" "ranks killed: the checkpoint"
  run_ranks 2 --quiet "$TMP/killed.toml" --resume
  expect_rcs "ranks killed: resumed at 2 ranks on one host" "0 0"
  exact killed "ranks killed: the resumed fit has the uninterrupted estimates"
else
  kill -9 "$PID" 2>/dev/null
fi

finish
