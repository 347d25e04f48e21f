#!/usr/bin/env bash
# The job scripts of jobs/ on a real Slurm: a private single-node Slurm
# (slurm_local.sh) runs each script with sbatch on the seedling data, and
# the results are checked against lme4 (data/seedlings/lme4.json).
# Skips (exit 77) when not root or when slurm-wlm/munge are not installed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/slurm_local.sh"
JOBS=$SRC/jobs
LME4=$SRC/data/seedlings/lme4.json
START=$(date +%s)

if ! slurm_local_check; then
  echo "SKIP: $SLURM_SKIP"
  exit 77
fi
trap 'slurm_local_stop; rm -rf "$TMP"' EXIT
# Stop (and so stop the daemons) before CTest's timeout would kill us.
trap 'fail "deadline: stopped after 400 s"; exit 1' TERM
# (its sleep must not hold CTest's output pipe open: redirect, and kill it)
sleep 400 >/dev/null 2>&1 &
WATCHDOG=$!
(wait_for=$WATCHDOG; while kill -0 "$wait_for" 2>/dev/null; do sleep 1; done
 [ -f "$TMP/.done" ] || kill -TERM $$) >/dev/null 2>&1 &
chmod 755 "$TMP" # munged runs as user munge
PORT=$((16817 + 2 * ($$ % 200)))
if ! slurm_local_start "$TMP/slurm" "$PORT"; then
  fail "could not start Slurm"
  finish
fi
pass "Slurm up on port $PORT ($(($(date +%s) - START)) s)"

# What the submitting user's environment carries into the jobs (sbatch
# exports it): the built program, and what this machine needs for mpirun.
export HLM OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
cd "$TMP"

# The jobs' #SBATCH lines ask for 2 nodes; this Slurm has one.  Command-line
# options override them, as a user's would.
ONE_NODE=(-N1 --ntasks-per-node=2)

# wait_job ID: wait (up to 90 s) until the job ends; sets STATE and XC
# (its ExitCode, "rc:signal").
wait_job() {
  local i info
  for i in $(seq 1 180); do
    info=$(scontrol show job "$1" -o 2>/dev/null)
    STATE=$(echo "$info" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    XC=$(echo "$info" | sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p')
    case $STATE in
      COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) return 0 ;;
    esac
    sleep 0.5
  done
  STATE=timeout
  return 1
}

# expect_job WHAT ID STATE EXITCODE [LOG...]
expect_job() {
  local what=$1 id=$2 state=$3 xc=$4
  shift 4
  wait_job "$id"
  if [ "$STATE" = "$state" ] && [ "$XC" = "$xc" ]; then
    pass "$what: job $id $STATE, exit $XC"
  else
    fail "$what: job $id $STATE exit $XC, expected $state exit $xc"
    local f
    for f in "$@"; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; } >&2; done
  fi
}

# check_json WHAT FILE TERM LME4-EXPR: the estimate of TERM in the JSON
# summary FILE against an expression of lme4's REML fixef (python syntax,
# f['...']), to 1e-6 relative.
check_json() {
  if python3 - "$2" "$3" "$4" "$LME4" <<'PY'
import json, sys
fit = json.load(open(sys.argv[1]))
f = json.load(open(sys.argv[4]))["REML"]["fixef"]
want, got = eval(sys.argv[3]), fit["fixef"][sys.argv[2]]
print("%s: %.10g, lme4 %.10g" % (sys.argv[2], got, want))
sys.exit(0 if abs(got - want) <= 1e-6 * abs(want) and fit["converged"] else 1)
PY
  then pass "$1"; else fail "$1"; fi
}

# A seedling config reading the shipped HDF5 file, with a JSON summary.
seed_config() { # seed_config FILE JSON [FORMULA]
  cat >"$1" <<EOT
[data]
file = "$SRC/data/seedlings/seedlings.h5"
cluster = "tray"
[model]
formula = "${3:-weight ~ genotype + (1 | tray)}"
method = "reml"
EOT
  [ -z "$2" ] || printf '[output]\nsummary = "%s"\n' "$2" >>"$1"
}

# ---- single fit: mpirun and srun, 2 ranks on the one node ------------------
seed_config "$TMP/seed.toml" seed.json
MEM=$("$JOBS/mem-per-rank.sh" "$SRC/data/seedlings/seedlings.h5" 2)
case $MEM in [0-9]*M) pass "mem-per-rank.sh: $MEM" ;; *) fail "mem-per-rank.sh: '$MEM'" ;; esac
id=$(sbatch --parsable -N1 --ntasks-per-node=2 --mem-per-cpu="$MEM" \
  -o mpirun.out -e mpirun.log "$JOBS/fit-mpirun.sbatch" "$TMP/seed.toml")
expect_job "fit-mpirun.sbatch" "$id" COMPLETED 0:0 mpirun.out mpirun.log
check_json "fit-mpirun: genotypeB as lme4" seed.json genotypeB "f['genotypeB']"
expect_in mpirun.out "genotypeB" "fit-mpirun: results on stdout (.out)"
expect_in mpirun.log "2 ranks" "fit-mpirun: the log (.log) names the ranks"
expect_in mpirun.log "converged" "fit-mpirun: the log's footer says converged"
rm -f seed.json
id=$(sbatch --parsable -N1 --ntasks-per-node=2 --mem-per-cpu="$MEM" \
  -o srun.out -e srun.log "$JOBS/fit-srun.sbatch" "$TMP/seed.toml")
expect_job "fit-srun.sbatch" "$id" COMPLETED 0:0 srun.out srun.log
check_json "fit-srun: genotypeB as lme4" seed.json genotypeB "f['genotypeB']"
expect_in srun.log "2 ranks" "fit-srun: 2 ranks (srun --mpi=pmix)"

# A bad config: the job fails with the configuration-error code (4).
printf '[data]\nfile = "x.h5"\n[model]\nformla = "y ~ 1"\n' >"$TMP/bad.toml"
id=$(sbatch --parsable "${ONE_NODE[@]}" -o bad.out -e bad.log \
  "$JOBS/fit-mpirun.sbatch" "$TMP/bad.toml")
expect_job "bad config" "$id" FAILED 4:0 bad.log
expect_in bad.log "did you mean \`formula\`?" "bad config: the message is in the job's log"

# ---- job array: two models from one data file ------------------------------
seed_config "$TMP/template.toml" "" "@FORMULA@"
cat >"$TMP/models.txt" <<'EOT'
treatment | weight ~ genotype + (1 | tray)

cellmeans | weight ~ 0 + genotype + (1 | tray)
EOT
id=$(sbatch --parsable --array=1-2 -n 2 "$JOBS/fit-array.sbatch" \
  "$TMP/template.toml" "$TMP/models.txt" "$TMP/array")
for t in 1 2; do
  expect_job "fit-array.sbatch task $t" "${id}_$t" COMPLETED 0:0 \
    "hlm-array-${id}_$t.txt" array/*.log
done
check_json "array task 1: genotypeB" array/treatment.json genotypeB "f['genotypeB']"
check_json "array task 2: cell mean A = lme4 intercept" array/cellmeans.json \
  genotypeA "f['(Intercept)']"
check_json "array task 2: cell mean B = lme4 intercept + genotypeB" \
  array/cellmeans.json genotypeB "f['(Intercept)'] + f['genotypeB']"

# ---- dependency chain: import -> fit -> summary ----------------------------
cat >"$TMP/chain.toml" <<EOT
[data]
file = "chain.h5"
cluster = "tray"
[model]
formula = "weight ~ genotype + (1 | tray)"
[output]
summary = "chain.json"
EOT
chain=$(SBATCH_ARGS="${ONE_NODE[*]}" "$JOBS/chain.sh" "$SRC/data/seedlings/seedlings.csv" "$TMP/chain.h5" \
  "$TMP/chain.toml" "$TMP/chain.tsv")
echo "$chain"
ids=$(echo "$chain" | sed -n 's/^import \([0-9]*\) -> fit \([0-9]*\) -> summary \([0-9]*\)$/\1 \2 \3/p')
if [ -z "$ids" ]; then
  fail "chain.sh printed '$chain'"
else
  set -- $ids
  dep=$(scontrol show job "$3" -o | sed -n 's/.*Dependency=\([^ ]*\).*/\1/p')
  expect_job "chain: import" "$1" COMPLETED 0:0 "hlm-import-$1.txt"
  expect_job "chain: fit" "$2" COMPLETED 0:0 "hlm-fit-$2.out" "hlm-fit-$2.log"
  expect_job "chain: summary" "$3" COMPLETED 0:0 "hlm-summary-$3.txt"
  case $dep in *afterok:$2*|"(null)") pass "chain: summary waited for the fit ($dep)" ;;
    *) fail "chain: summary dependency '$dep'" ;; esac
  if awk -F'\t' -v want="$(python3 -c "import json;print(json.load(open('$LME4'))['REML']['fixef']['genotypeB'])")" \
      '$2 == "genotypeB" { d = $3 - want; ok = (d < 0 ? -d : d) < 1e-6 } END { exit !ok }' \
      "$TMP/chain.tsv"; then
    pass "chain: summary table has genotypeB as lme4"
  else
    fail "chain: summary table"; cat "$TMP/chain.tsv" >&2
  fi
fi

# ---- checkpointed, self-requeueing fit --------------------------------------
# Slurm's warning signal (scancel --signal=USR1 --batch: what --signal=B:USR1
# delivers before a time limit) reaches the script mid-fit; it forwards it,
# hlm-mpi checkpoints and exits 10, the script requeues the job, and the
# requeued job resumes to the estimates of an uninterrupted fit.
printf '[simulate]\nrows = 400000\nclusters = 80000\nslope_sd = 0.5\ncorrelation = 0.3\ncovariates = 2\nseed = 5\n' \
  >"$TMP/sim.toml"
mpirun -n 2 "$HLM" simulate "$TMP/sim.toml" "$TMP/long.h5" >/dev/null 2>&1 ||
  fail "simulate the long fit's data"
long_config() { # long_config FILE JSON [extra lines]
  local f=$1 j=$2; shift 2
  printf '[data]\nfile = "%s"\ncluster = "school"\n[model]\nformula = "%s"\n' \
    "$TMP/long.h5" "y ~ x1 + x2 + (1 + x1 | school)" >"$f"
  # BOBYQA: more evaluations than the quasi-Newton default, a wider window
  # for the signal
  printf '[estimation]\noptimizer = "bobyqa"\n' >>"$f"
  printf '[inference]\ndf = "residual"\n[output]\nsummary = "%s"\n' "$j" >>"$f"
  for l in "$@"; do printf '%s\n' "$l" >>"$f"; done
}
long_config "$TMP/full.toml" "$TMP/full.json"
long_config "$TMP/long.toml" "$TMP/long.json" "[checkpoint]" \
  "path = \"$TMP/long.ckpt\"" "interval = 1000"
id=$(HLM_PROGRESS_SECONDS=0 sbatch --parsable "${ONE_NODE[@]}" -o long.out \
  -e long.log "$JOBS/fit-checkpointed.sbatch" "$TMP/long.toml")
# The uninterrupted fit runs meanwhile, outside Slurm: it fills the seconds
# Slurm holds the requeued job (and only slows the job, which widens the
# window for the signal).
mpirun -n 2 "$HLM" --quiet "$TMP/full.toml" >/dev/null 2>&1 &
full_pid=$!
for i in $(seq 1 240); do
  grep -q "evaluation 5:" long.log 2>/dev/null && break
  sleep 0.25
done
scancel --signal=USR1 --batch "$id"
# Slurm holds a requeued batch job until the job's credentials expire
# (slurm_local.sh sets cred_expire=5 s; the default is 120 s).
expect_job "fit-checkpointed.sbatch: signalled, requeued, resumed" "$id" \
  COMPLETED 0:0 long.log long.out
wait "$full_pid" || fail "uninterrupted long fit"
expect_in long.log "checkpoint written; requeueing" \
  "fit-checkpointed: checkpointed on the signal and requeued"
expect_in long.log "restart count 1" "fit-checkpointed: ran again"
expect_in long.log "resuming:" "fit-checkpointed: the second run resumed"
if python3 - "$TMP/full.json" "$TMP/long.json" <<'PY'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ("fixef", "fixef_se", "theta", "sigma", "deviance_or_reml_criterion")
bad = [k for k in keys if json.dumps(a[k]) != json.dumps(b[k])]
print("differ:", bad) if bad else None
sys.exit(1 if bad or a["evaluations"] != b["evaluations"] else 0)
PY
  pass "fit-checkpointed: the resumed fit equals the uninterrupted one"
else
  fail "fit-checkpointed: the resumed fit differs from the uninterrupted one"
fi

echo "slurm test took $(($(date +%s) - START)) s"
touch "$TMP/.done"
kill "$WATCHDOG" 2>/dev/null
finish
