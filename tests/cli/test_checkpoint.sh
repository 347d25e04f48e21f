#!/usr/bin/env bash
# Checkpoints (docs/checkpoints.md): a fit stopped mid-way, by
# --stop-after-iterations and by a signal (SIGTERM to the ranks, as srun
# delivers it; SIGUSR1 to mpirun, which forwards it), exits 10 on every rank
# with the checkpoint written; `--resume`, at the same or another rank
# count, ends at the estimates of an uninterrupted run (1e-10; in fact bit
# for bit, since the optimizer's path is replayed exactly).  Also: a
# checkpoint of another model is refused, --resume without a checkpoint is
# a usage error, and a stop leaves no summary behind.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

# compare A.json B.json WHAT: every fit estimate within 1e-10 relative
compare() {
  if "$PY" - "$1" "$2" <<'EOF'; then pass "$3"; else fail "$3"; fi
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
bad = []
def walk(x, y, path):
    if isinstance(x, dict):
        for k in x:
            if k in ("time_seconds", "ranks", "inference"):
                continue
            walk(x[k], y.get(k) if isinstance(y, dict) else None, path + "/" + k)
    elif isinstance(x, list):
        if not isinstance(y, list) or len(x) != len(y):
            bad.append((path, "length"))
            return
        for i, (u, v) in enumerate(zip(x, y)):
            walk(u, v, "%s[%d]" % (path, i))
    elif isinstance(x, float) or isinstance(y, float):
        if y is None or abs(x - y) > 1e-10 * max(abs(x), abs(y), 1e-300):
            bad.append((path, x, y))
    elif x != y:
        bad.append((path, x, y))
walk(a, b, "")
for e in bad[:10]:
    print("differs:", *e, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
}

# config NAME DATA FORMULA CLUSTER [extra lines]
config() {
  local name=$1 data=$2 formula=$3 cluster=$4; shift 4
  {
    printf '[data]\nfile = "%s"\ncluster = "%s"\n' "$data" "$cluster"
    printf '[model]\nformula = "%s"\n' "$formula"
    printf '[output]\nsummary = "%s"\n' "$TMP/$name.json"
    for line in "$@"; do printf '%s\n' "$line"; done
  } >"$TMP/$name.toml"
}

SLEEP="Reaction ~ Days + (Days | Subject)"
SLEEPH5=$SRC/data/sleepstudy/sleepstudy.h5
config full "$SLEEPH5" "$SLEEP" Subject
run_ranks 1 --quiet "$TMP/full.toml"
expect_rcs "uninterrupted fit" "0"

# --stop-after-iterations, then --resume at another rank count.
for pair in "1 3" "3 1" "2 2"; do
  set -- $pair
  ck=$TMP/ck.$1$2
  config "part$1$2" "$SLEEPH5" "$SLEEP" Subject \
    "[checkpoint]" "path = \"$ck\"" "interval = 5"
  run_ranks "$1" "$TMP/part$1$2.toml" --stop-after-iterations 12
  expect_rcs "stop after 12 evaluations at $1 ranks" \
    "$(printf '10 %.0s' $(seq "$1") | sed 's/ $//')"
  expect_in "$ERR" "continue with --resume" "the stop says how to continue"
  expect_in "$ck" "evaluations 12" "the checkpoint holds 12 evaluations"
  if [ -e "$TMP/part$1$2.json" ]; then fail "a stopped fit wrote a summary"; fi
  run_ranks "$2" --quiet "$TMP/part$1$2.toml" --resume
  expect_rcs "resume at $2 ranks" \
    "$(printf '0 %.0s' $(seq "$2") | sed 's/ $//')"
  compare "$TMP/full.json" "$TMP/part$1$2.json" \
    "stopped at $1 ranks, resumed at $2: the uninterrupted estimates"
done

# A chain: stop at 4, resume and stop at 9, resume to the end (the
# quasi-Newton optimizer, the default, needs about 18 evaluations here).
config chain "$SLEEPH5" "$SLEEP" Subject "[checkpoint]" \
  "path = \"$TMP/chain.ck\"" "interval = 3"
run_ranks 2 "$TMP/chain.toml" --stop-after-iterations 4
expect_rcs "chain: first stop" "10 10"
run_ranks 2 "$TMP/chain.toml" --resume --stop-after-iterations 9
expect_rcs "chain: second stop" "10 10"
expect_in "$TMP/chain.ck" "evaluations 9" "chain: 9 evaluations recorded"
run_ranks 2 --quiet "$TMP/chain.toml" --resume
expect_rcs "chain: resumed to the end" "0 0"
compare "$TMP/full.json" "$TMP/chain.json" "chain: the uninterrupted estimates"

# The results file's optimizer history of a resumed fit is the
# uninterrupted one's (replayed evaluations included).
config hfull "$SLEEPH5" "$SLEEP" Subject "results = \"$TMP/hfull.h5\""
run_ranks 2 --quiet "$TMP/hfull.toml"
config hpart "$SLEEPH5" "$SLEEP" Subject "results = \"$TMP/hpart.h5\"" \
  "[checkpoint]" "path = \"$TMP/hpart.ck\""
run_ranks 3 --quiet "$TMP/hpart.toml" --stop-after-iterations 9
run_ranks 1 --quiet "$TMP/hpart.toml" --resume
if "$PY" - "$TMP/hfull.h5" "$TMP/hpart.h5" <<'EOF'; then
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["optimizer/history"][()] for p in sys.argv[1:3])
sys.exit(0 if a.shape == b.shape and a.shape[0] > 9 and np.array_equal(a, b)
         else 1)
EOF
  pass "results file: the resumed history equals the uninterrupted one"
else
  fail "results file: the resumed history differs"
fi

# Refusals.
config other "$SLEEPH5" "Reaction ~ Days + (1 | Subject)" Subject \
  "[checkpoint]" "path = \"$TMP/ck.13\""
run_ranks 2 "$TMP/other.toml" --resume
expect_rcs "a checkpoint of another model" "5 5"
expect_in "$ERR" "is of the formula" "the mismatch is named"
config mixed "$SLEEPH5" "$SLEEP" Subject "[estimation]" \
  'optimizer = "bobyqa"' "[checkpoint]" "path = \"$TMP/ck.13\""
run_ranks 2 "$TMP/mixed.toml" --resume
expect_rcs "a checkpoint of the other optimizer" "5 5"
expect_in "$ERR" "written by the quasi-Newton optimizer" \
  "the optimizer mismatch is named"
run_ranks 2 "$TMP/full.toml" --resume
expect_rcs "--resume without [checkpoint] path" "2 2"
expect_in "$ERR" "set [checkpoint] path" "the usage error says what to set"
config gone "$SLEEPH5" "$SLEEP" Subject "[checkpoint]" \
  "path = \"$TMP/none.ck\""
run_ranks 2 "$TMP/gone.toml" --resume
expect_rcs "--resume from a missing checkpoint" "6 6"

# Signals, on simulated data large enough to be caught mid-fit.
printf '[simulate]\nrows = 200000\nclusters = 40000\nslope_sd = 0.5\ncorrelation = 0.3\ncovariates = 2\nseed = 5\n' \
  >"$TMP/sim.toml"
"$MPIEXEC" -n 2 --oversubscribe "$HLM" simulate "$TMP/sim.toml" \
  "$TMP/sim.h5" >/dev/null 2>&1 || fail "simulate"
BIG="y ~ x1 + x2 + (1 + x1 | school)"
# BOBYQA here: more evaluations, a wider window for the signal (and its
# replay is tested too).
config bigfull "$TMP/sim.h5" "$BIG" school "[inference]" 'df = "residual"' \
  "[estimation]" 'optimizer = "bobyqa"'
run_ranks 2 --quiet "$TMP/bigfull.toml"
expect_rcs "uninterrupted simulated fit" "0 0"

# signal_run NP SIGNAL TARGET NAME: start the fit, wait for its 5th
# evaluation, send SIGNAL to the ranks (TARGET ranks) or to mpirun.
signal_run() {
  local np=$1 sig=$2 target=$3 name=$4 pid i
  config "$name" "$TMP/sim.h5" "$BIG" school "[inference]" \
    'df = "residual"' "[estimation]" 'optimizer = "bobyqa"' \
    "[checkpoint]" "path = \"$TMP/$name.ck\"" "interval = 1000"
  HLM_PROGRESS_SECONDS=0 timeout --signal=KILL 120 "$MPIEXEC" -n "$np" \
    --oversubscribe "$HLM" "$TMP/$name.toml" >"$TMP/$name.out" \
    2>"$TMP/$name.err" &
  pid=$!
  for i in $(seq 600); do
    grep -q "evaluation 5:" "$TMP/$name.err" 2>/dev/null && break
    sleep 0.05
  done
  if [ "$target" = ranks ]; then
    pgrep -f -- "$HLM $TMP/$name.toml" | while read -r p; do
      [ "$(ps -o comm= -p "$p")" = hlm-mpi ] && kill "-$sig" "$p"
    done
  else
    pkill "-$sig" -f -- "^$MPIEXEC -n $np --oversubscribe $HLM $TMP/$name.toml"
  fi
  wait "$pid"
  RC=$?
  if [ "$RC" -eq 10 ]; then pass "$name: SIG$sig -> exit 10"
  else fail "$name: SIG$sig -> exit $RC"; cat "$TMP/$name.err" >&2; fi
  expect_in "$TMP/$name.err" "after" "$name: the stop is reported"
  if grep -q "^evaluations " "$TMP/$name.ck" 2>/dev/null; then
    pass "$name: checkpoint written"
  else fail "$name: no checkpoint"; fi
}
signal_run 3 TERM ranks sigterm
run_ranks 1 --quiet "$TMP/sigterm.toml" --resume
expect_rcs "resume after SIGTERM at 1 rank" "0"
compare "$TMP/bigfull.json" "$TMP/sigterm.json" \
  "SIGTERM at 3 ranks, resumed at 1: the uninterrupted estimates"
signal_run 1 USR1 mpirun sigusr1
run_ranks 3 --quiet "$TMP/sigusr1.toml" --resume
expect_rcs "resume after SIGUSR1 at 3 ranks" "0 0 0"
compare "$TMP/bigfull.json" "$TMP/sigusr1.json" \
  "SIGUSR1 to mpirun at 1 rank, resumed at 3: the uninterrupted estimates"
finish
