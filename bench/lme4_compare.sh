#!/usr/bin/env bash
# Time hlm-mpi against R's lme4 on the same simulated data (docs/performance.md).
#
#   bench/lme4_compare.sh [ROWS...]        default: 10000 100000 1000000
#
# For each size: `hlm-mpi simulate` writes ROWS rows in ROWS/100 schools
# (unequal sizes), 5 covariates, a random intercept and a correlated random
# slope of x1; then the model y ~ x1 + ... + x5 + (1 + x1 | school) is fitted
#   - by `mpirun -n 1` and `mpirun -n 2 build/hlm-mpi fit.toml`: wall clock of
#     the whole command (start-up, HDF5 read, output), minimum of REPS runs;
#     peak memory per rank from the fit's footer;
#   - by lme4's lmer() (REML, default settings) in Rscript: time of the
#     lmer() call alone (reading the CSV not counted), minimum of REPS runs
#     (RREPS for ROWS >= 10^6, default 1), and the peak resident set of the
#     R process (/usr/bin/time).
# and the largest relative difference of the estimates (fixed effects, SDs,
# correlation, sigma) between the two is printed, against lme4 at its
# defaults and against lme4 with tight optimizer tolerances (bench/lme4_fit.R;
# not timed in the table: its time is in sim*/r.out).
# R is optional: install it with
#   apt-get install -y --no-install-recommends r-base-core r-cran-lme4
# Without Rscript and lme4 the R columns say "skipped".
# Environment: HLM (default build/hlm-mpi), OUT (default /tmp/hlm-bench),
# REPS (3), RREPS (1), MAX_R_ROWS (lme4 is skipped above, default 1000000),
# MODEL: slope (default, the model above), intercept
# (y ~ x1 + ... + x5 + (1 | school), data without a random slope) or
# crossed (y ~ x1 + ... + x5 + (1 | school) + (1 | rater), 50 raters crossed
# with the schools: a global term, dim S = 56).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HLM=${HLM:-$ROOT/build/hlm-mpi}
OUT=${OUT:-/tmp/hlm-bench}
REPS=${REPS:-3}
RREPS=${RREPS:-1}
MAX_R_ROWS=${MAX_R_ROWS:-1000000}
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
mkdir -p "$OUT"
sizes=${*:-10000 100000 1000000}
MODEL=${MODEL:-slope}
case $MODEL in
  slope) simx='slope_sd = 0.5\ncorrelation = 0.3\n'
    re='(1 + x1 | school)' ;;
  intercept) simx='slope_sd = 0\n' re='(1 | school)' ;;
  crossed) simx='slope_sd = 0\ncrossed_levels = 50\n' re='(1 | school) + (1 | rater)' ;;
  *) echo "MODEL must be slope, intercept or crossed" >&2; exit 2 ;;
esac
export HLM_BENCH_FORMULA="y ~ x1 + x2 + x3 + x4 + x5 + $re"
have_r=0
if command -v Rscript >/dev/null && Rscript -e 'library(lme4)' >/dev/null 2>&1; then
  have_r=1
else
  echo "# lme4 not found: R columns skipped (apt-get install -y --no-install-recommends r-base-core r-cran-lme4)" >&2
fi

# min_time CMD...: the least wall clock of REPS runs, in seconds.
min_time() {
  local best="" t
  for _ in $(seq "$REPS"); do
    /usr/bin/time -f "%e" -o "$OUT/last.time" "$@" >"$OUT/last.out" 2>"$OUT/last.err"
    t=$(tail -1 "$OUT/last.time")
    best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
  done
  echo "$best"
}

printf "%-9s %-8s %-10s %-10s %-12s %-10s %-10s %-10s %s\n" rows clusters \
  "hlm_np1_s" "hlm_np2_s" "hlm_MiB/rank" "lme4_s" "lme4_MiB" "R_total_s" "max_rel_diff"
for n in $sizes; do
  m=$((n / 100))
  d=$OUT/sim$n
  [ "$MODEL" = slope ] || d=$OUT/$MODEL$n
  mkdir -p "$d"
  if [ ! -f "$d/data.h5" ]; then
    printf "[simulate]\nrows = %d\nclusters = %d\ncovariates = 5\n${simx}seed = 42\n" \
      "$n" "$m" >"$d/sim.toml"
    mpirun -n 2 "$HLM" simulate "$d/sim.toml" "$d/data.h5" >"$d/simulate.log" || exit 1
  fi
  printf '[data]\nfile = "data.h5"\ncluster = "school"\n[model]\nformula = "%s"\n[output]\nsummary = "hlm.json"\n' \
    "$HLM_BENCH_FORMULA" >"$d/fit.toml"
  t1=$(min_time mpirun -n 1 "$HLM" "$d/fit.toml")
  t2=$(min_time mpirun -n 2 "$HLM" "$d/fit.toml")
  mem=$(sed -n 's/.*peak memory per rank: \(.*\) MiB.*/\1/p' "$OUT/last.err" "$OUT/last.out" | head -1 | tr -d ' ')
  inproc=$(sed -n 's/.*total time: \([0-9.]*\) s$/\1/p' "$OUT/last.err" "$OUT/last.out" | head -1)
  rt="skipped" rmem="skipped" rtot="skipped" diff="-"
  if [ $have_r = 1 ] && [ "$n" -le "$MAX_R_ROWS" ]; then
    [ -f "$d/data.csv" ] || "$PY" - "$d/data.h5" "$d/data.csv" <<'PY'
import sys, h5py, numpy as np
g = h5py.File(sys.argv[1], "r")["data"]
ids = ["school"] + (["rater"] if "rater" in g else [])
cols = ids + ["y"] + [f"x{k}" for k in range(1, 6)]
np.savetxt(sys.argv[2], np.column_stack([g[c][:] for c in cols]), delimiter=",",
           header=",".join(cols), comments="", fmt=["%d"] * len(ids) + ["%.17g"] * 6)
PY
    reps=$REPS; [ "$n" -ge 1000000 ] && reps=$RREPS
    /usr/bin/time -f "%e %M" -o "$d/r.time" Rscript "$ROOT/bench/lme4_fit.R" "$d/data.csv" \
      "$d/lme4.json" "$reps" "$d/lme4_tight.json" >"$d/r.out" 2>"$d/r.err"
    rt=$(sed -n 's/^lmer_seconds \(.*\)/\1/p' "$d/r.out")
    read -r rtot rkb < <(tail -1 "$d/r.time")
    rmem=$((rkb / 1024))
    diff=$("$PY" "$ROOT/bench/compare_fits.py" "$d/hlm.json" "$d/lme4.json")
    diff="$diff; tight lme4: $("$PY" "$ROOT/bench/compare_fits.py" "$d/hlm.json" "$d/lme4_tight.json")"
  fi
  printf "%-9s %-8s %-10s %-10s %-12s %-10s %-10s %-10s %s\n" "$n" "$m" "$t1" \
    "$t2" "$mem" "$rt" "$rmem" "$rtot" "$diff"
  echo "#   hlm-mpi in-process time at 2 ranks: ${inproc:-?} s" >&2
done
