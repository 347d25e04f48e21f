#!/usr/bin/env bash
# bench/optimizer_compare.sh: evaluations and time of the REML and ML fits
# of every reference data set (and one larger simulated set) with NLopt's
# BOBYQA and with the quasi-Newton optimizer ([estimation] optimizer =
# "newton", issue 7).  A newton evaluation includes the analytic gradient,
# so it costs more than a BOBYQA one: compare the times too.
#
#   bench/optimizer_compare.sh [RANKS] [SIM_ROWS]
#
# RANKS: MPI ranks (1); SIM_ROWS: rows of the simulated set (200000; 0: none).
# KEEP=1 keeps the temporary directory (configs, logs, JSON summaries).
# Prints: set method bobyqa_evals newton_evals bobyqa_s newton_s
# crit_diff (newton - bobyqa), and both fits' convergence.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RANKS=${1:-1}
SIM_ROWS=${2:-200000}
HLM=${HLM:-build/hlm-mpi}
PY=/usr/bin/python3
DIR=$(mktemp -d "${TMPDIR:-/tmp}/hlm-optbench.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$DIR"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

CENTERING="y ~ cwc(ses, school) + cmean(ses, school) + cmean(ses, nbhd) + (1 + cwc(ses, school) | school) + (1 | nbhd)"
GMC="y ~ gmc(ses) + cmean(ses, school) + (1 + gmc(ses) | school)"
NESTED3="y ~ x + (1 + x | district) + (1 | district:school) + (1 | district:school:class)"
# name@file@formula@cluster@extra [data] line
CASES=(
  "dyestuff@data/dyestuff/dyestuff.h5@Yield ~ 1 + (1 | Batch)@Batch@"
  "dyestuff2@data/dyestuff2/dyestuff2.h5@Yield ~ 1 + (1 | Batch)@Batch@"
  "seedlings@data/seedlings/seedlings.h5@weight ~ genotype + (1 | tray)@tray@"
  "seedlings_weighted@data/seedlings_weighted/seedlings_weighted.h5@weight ~ genotype + (1 | tray)@tray@weights = \"w\""
  "pastes@data/pastes/pastes.h5@strength ~ 1 + (1 | batch/cask)@batch@"
  "pastes_by_sample@data/pastes/pastes.h5@strength ~ 1 + (1 | batch/cask)@sample@"
  "sleepstudy@data/sleepstudy/sleepstudy.h5@Reaction ~ Days + (Days | Subject)@Subject@"
  "sleepstudy_diag@data/sleepstudy_diag/sleepstudy_diag.h5@Reaction ~ Days + (Days || Subject)@Subject@"
  "oats@data/oats/oats.h5@yield ~ nitro * Variety + (1 | Block/Variety)@Block@"
  "cake@data/cake/cake.h5@angle ~ recipe * temp + (1 | recipe:replicate)@recipe@"
  "sectors@data/sectors/sectors.h5@logwage ~ exper + (1 | sector/firm)@sector@"
  "nested3@data/nested3/nested3.h5@$NESTED3@district@"
  "penicillin@data/penicillin/penicillin.h5@diameter ~ 1 + (1 | plate) + (1 | sample)@plate@"
  "centering_cwc@data/centering/centering.h5@$CENTERING@school@"
  "centering_gmc@data/centering/centering.h5@$GMC@school@"
  "eightschools@data/eightschools/eightschools.h5@y ~ 1 + (1 | school)@school@known_sd = \"sigma\""
)
if [ "$SIM_ROWS" -gt 0 ]; then
  printf '[simulate]\nrows = %d\nclusters = %d\ncovariates = 2\nslope_sd = 0.5\ncorrelation = 0.3\nsubclusters = 4\nseed = 7\n' \
    "$SIM_ROWS" "$((SIM_ROWS / 100))" >"$DIR/sim.toml"
  mpirun --oversubscribe -n "$RANKS" "$HLM" simulate "$DIR/sim.toml" \
    "$DIR/sim.h5" >/dev/null 2>&1
  CASES+=("simulated_$SIM_ROWS@$DIR/sim.h5@y ~ x1 + x2 + (1 + x1 | school) + (1 | school:class)@school@")
fi

fit() { # name file formula cluster extra method optimizer -> json path
  local toml=$DIR/$1-$6-$7.toml json=$DIR/$1-$6-$7.json
  {
    printf '[data]\nfile = "%s"\ncluster = "%s"\n%s\n' "$(realpath "$2")" "$4" "$5"
    printf '[model]\nformula = "%s"\nmethod = "%s"\n' "$3" "$6"
    printf '[estimation]\noptimizer = "%s"\n' "$7"
    printf '[inference]\ndf = "residual"\n[output]\nsummary = "%s"\n' "$json"
  } >"$toml"
  mpirun --oversubscribe -n "$RANKS" "$HLM" --quiet "$toml" >"$DIR/$1-$6-$7.log" 2>&1 ||
    true
  echo "$json"
}

printf '%-20s %-4s %6s %6s %9s %9s %10s %s\n' set method bobyqa newton \
  bobyqa_s newton_s crit_diff converged
for c in "${CASES[@]}"; do
  IFS='@' read -r name file formula cluster extra <<<"$c"
  for method in reml ml; do
    jb=$(fit "$name" "$file" "$formula" "$cluster" "$extra" $method bobyqa)
    jn=$(fit "$name" "$file" "$formula" "$cluster" "$extra" $method newton)
    "$PY" - "$name" "$method" "$jb" "$jn" <<'PYEOF'
import json, sys
name, method, jb, jn = sys.argv[1:5]
try:
    b, n = json.load(open(jb)), json.load(open(jn))
except (OSError, ValueError) as e:
    print(f"{name:20s} {method:4s} failed: {e}")
    sys.exit(0)
key = "deviance_or_reml_criterion"
print(f"{name:20s} {method:4s} {b['evaluations']:6d} {n['evaluations']:6d} "
      f"{b['time_seconds']:9.4f} {n['time_seconds']:9.4f} "
      f"{n[key] - b[key]:10.2g} {b['converged']}/{n['converged']}")
PYEOF
  done
done
