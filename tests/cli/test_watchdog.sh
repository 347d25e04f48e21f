#!/usr/bin/env bash
# The watchdog (issue 17, docs/failures.md): one rank stops responding
# mid-fit (HLM_FAULT_INJECT="hang at evaluation N@R", as a rank on a dead
# node would), so the others wait in a collective for ever.  Every rank,
# the hung one included, must end by its own watchdog (mpirun is told not
# to kill the others) within the deadline and a second, with exit status
# 11 and a message naming the phase and the evaluation; the checkpoint
# written before stays intact (checked line by line here), and `--resume`
# on a healthy set of ranks, at another rank count, ends at the estimates
# of an uninterrupted fit (1e-10; the replay makes them equal bit for bit).
# Also: the deadline from the config and from HLM_WATCHDOG_SECONDS, and
# bad values refused.
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

# intact CKPT N WHAT: a complete checkpoint of N evaluations (the format of
# docs/checkpoints.md: 8 header lines, N records, "end"), and no leftovers
intact() {
  if "$PY" - "$1" "$2" <<'EOF'; then pass "$3"; else fail "$3"; fi
import sys
lines = open(sys.argv[1]).read().split("\n")
n = int(sys.argv[2])
ok = (lines[0] == "hlm-mpi checkpoint 1" and lines[7] == "evaluations %d" % n
      and len(lines) == 8 + n + 2 and lines[8 + n] == "end" and lines[-1] == "")
for rec in lines[8:8 + n]:
    [float.fromhex(v) for v in rec.split()]
if not ok:
    print("not a complete checkpoint of %d evaluations:" % n, lines[:9],
          file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
}

# config NAME [extra lines]: sleepstudy, 18 subjects
config() {
  local name=$1; shift
  {
    printf '[data]\nfile = "%s"\ncluster = "Subject"\n' \
      "$SRC/data/sleepstudy/sleepstudy.h5"
    printf '[model]\nformula = "Reaction ~ Days + (Days | Subject)"\n'
    printf '[output]\nsummary = "%s"\n' "$TMP/$name.json"
    for line in "$@"; do printf '%s\n' "$line"; done
  } >"$TMP/$name.toml"
}

# hang NAME NP RANK DEADLINE-SOURCE: rank RANK of NP hangs before
# evaluation 12; checkpoints every 5 evaluations
hang() {
  local name=$1 np=$2 rank=$3 secs=$4 t0 t1
  t0=$(date +%s.%N)
  HLM_FAULT_INJECT="hang at evaluation 12@$rank" run_ranks "$np" "$TMP/$name.toml"
  t1=$(date +%s.%N)
  ELAPSED=$("$PY" -c "print(round($t1 - $t0, 1))")
  expect_rcs "$name: rank $rank of $np hangs; every rank ends by its watchdog" \
    "$(printf '11 %.0s' $(seq "$np") | sed 's/ $//')"
  expect_count "$ERR" "watchdog: no progress for" "$np" \
    "$name: each rank prints the watchdog's message once"
  expect_count "$ERR" "in the optimizer, at evaluation 12 of the criterion" \
    "$np" "$name: the message names the phase and the evaluation"
  expect_in "$ERR" "(deadline $secs s" "$name: the message names the deadline"
  expect_in "$ERR" "$TMP/$name.ck keeps the last checkpoint" \
    "$name: the message names the checkpoint"
  # bound: the deadline, a quarter of it for the monitor's wake-up, and
  # the start-up of MPI and the fit (a few seconds on a loaded machine)
  if "$PY" -c "import sys; sys.exit(0 if $ELAPSED < $secs + 12 else 1)"; then
    pass "$name: ended in $ELAPSED s (deadline $secs s)"
  else
    fail "$name: took $ELAPSED s with a deadline of $secs s"
  fi
  intact "$TMP/$name.ck" 10 "$name: the checkpoint holds 10 evaluations, complete"
  if [ -e "$TMP/$name.json" ]; then fail "$name: a summary was written"; fi
}

config full
run_ranks 1 --quiet "$TMP/full.toml"
expect_rcs "uninterrupted fit" "0"

# The deadline from the environment; the last rank hangs; resumed at 3.
config env "[checkpoint]" "path = \"$TMP/env.ck\"" "interval = 5"
HLM_WATCHDOG_SECONDS=3 hang env 4 3 3
expect_in "$ERR" "HLM_WATCHDOG_SECONDS" "env: the message names the setting"
run_ranks 3 --quiet "$TMP/env.toml" --resume
expect_rcs "env: resumed at 3 healthy ranks" "0 0 0"
compare "$TMP/full.json" "$TMP/env.json" \
  "env: the resumed fit has the uninterrupted estimates"

# The deadline from the config; rank 0, which drives the optimizer, hangs;
# resumed at 1 rank.
config cfg "[estimation]" "watchdog_seconds = 2.5" \
  "[checkpoint]" "path = \"$TMP/cfg.ck\"" "interval = 5"
hang cfg 2 0 2.5
expect_in "$ERR" "[estimation] watchdog_seconds" \
  "cfg: the message names the config key"
run_ranks 1 --quiet "$TMP/cfg.toml" --resume
expect_rcs "cfg: resumed at 1 rank" "0"
compare "$TMP/full.json" "$TMP/cfg.json" \
  "cfg: the resumed fit has the uninterrupted estimates"

# A healthy fit with a short deadline is not disturbed; 0 turns it off.
config short "[estimation]" "watchdog_seconds = 2"
run_ranks 2 --quiet "$TMP/short.toml"
expect_rcs "a healthy fit with a 2 s deadline" "0 0"
compare "$TMP/full.json" "$TMP/short.json" "... has the same estimates"
config off "[estimation]" "watchdog_seconds = 0"
run_ranks 2 --quiet "$TMP/off.toml"
expect_rcs "watchdog_seconds = 0" "0 0"

# Bad deadlines.
config neg "[estimation]" "watchdog_seconds = -1"
run_ranks 2 "$TMP/neg.toml"
expect_rcs "watchdog_seconds = -1" "4 4"
expect_in "$ERR" "\`watchdog_seconds\` must be 0 (no watchdog) or a positive number" \
  "a negative deadline is refused, naming the key"
HLM_WATCHDOG_SECONDS=soon run_ranks 2 "$TMP/full.toml"
expect_rcs "HLM_WATCHDOG_SECONDS=soon" "4 4"
expect_in "$ERR" "HLM_WATCHDOG_SECONDS must be 0 (no watchdog)" \
  "a bad HLM_WATCHDOG_SECONDS is refused"

finish
