#!/usr/bin/env bash
# bench/absorb_nested.sh: time of a REML fit of y ~ x1 + (1 | school/class)
# on 4 schools (the clusters) as the classes per school grow, with the
# level-by-level absorption (default) and with each school's whole C_jj
# factored densely (HLM_ABSORB=dense, a testing knob).  The dense cost per
# evaluation grows with the cube of the classes per school, the tree's
# linearly.
#
#   bench/absorb_nested.sh [RANKS] [CLASSES...]
#
# Prints: classes_per_school rows path seconds evaluations
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RANKS=${1:-1}
shift || true
CLASSES=${*:-100 200 400 800 1600 6400 25600}
HLM=${HLM:-build/hlm-mpi}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/hlm-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
run() { # classes path
  local toml=$DIR/fit-$1.toml
  printf '[data]\nfile = "%s"\ncluster = "school"\n[model]\n' "$DIR/sim-$1.h5" >"$toml"
  printf 'formula = "y ~ x1 + (1 | school/class)"\n' >>"$toml"
  local env=()
  [ "$2" = dense ] && env=(env HLM_ABSORB=dense)
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$("${env[@]}" mpirun --allow-run-as-root --oversubscribe -n "$RANKS" \
    "$HLM" --quiet "$toml" 2>/dev/null)
  t1=$(date +%s.%N)
  local ev
  ev=$(printf '%s\n' "$out" | sed -n 's/.*, \([0-9]*\) evaluations.*/\1/p')
  printf '%s %s %s %.3f %s\n' "$1" "$((20 * $1 * 4))" "$2" \
    "$(echo "$t1 - $t0" | bc)" "$ev"
}
for c in $CLASSES; do
  printf '[simulate]\nrows = %d\nclusters = 4\nsubclusters = %d\nsubcluster_sd = 0.5\nsize_sd = 0\nseed = 3\n' \
    "$((20 * c * 4))" "$c" >"$DIR/sim-$c.toml"
  mpirun --allow-run-as-root --oversubscribe -n "$RANKS" "$HLM" simulate \
    "$DIR/sim-$c.toml" "$DIR/sim-$c.h5" >/dev/null 2>&1
  run "$c" tree
  if [ "$c" -le 1600 ]; then run "$c" dense; fi
done
