#!/usr/bin/env bash
# bench/scalapack.sh: the cost of the global system S (issue 15) as its
# dimension grows, replicated (LAPACK) against distributed (ScaLAPACK):
# a crossed design y ~ x + (1 | school) + (1 | nbhd) partitioned by school
# (tests/data/make_crossed.py), dim S = the neighbourhoods present + 2.  For each NBHD, a few
# criterion evaluations (BOBYQA, [estimation] max_iterations = EVALS,
# accept_nonconvergence) with scalapack_threshold above dim S (LAPACK;
# skipped above its 4000-unknown limit, where it is refused) and at 0
# (ScaLAPACK); prints the time per evaluation and the footer's memory per
# rank for S.
#
#   bench/scalapack.sh [RANKS] [EVALS] [NBHD...]
#
# BUILD (default build) names the build directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
NP=${1:-2}
EVALS=${2:-4}
shift 2 || true
SIZES=${*:-500 1000 2000 4000 6000}
BUILD=${BUILD:-build}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/hlm-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
[ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "ranks=$NP evaluations=$EVALS machine: $(nproc) cores"
printf '%8s %10s %10s %14s %s\n' "dim S" path "s/eval" "MiB/rank (S)" "rc"
for nb in $SIZES; do
  # 20 students per 3 neighbourhoods, in schools of 40
  rows=$((nb * 20 / 3))
  schools=$((rows / 40))
  /usr/bin/python3 tests/data/make_crossed.py "$DIR/c.csv" "$schools" 40 "$nb"
  rm -f "$DIR/c.h5"
  "$BUILD/hlm-mpi" import "$DIR/c.csv" "$DIR/c.h5" > /dev/null
  for thr in lapack 0; do
    t=$thr
    if [ "$thr" = lapack ]; then
      [ "$nb" -le 3998 ] || continue
      t=100000
    fi
    cat > "$DIR/b.toml" <<EOT
[data]
file = "c.h5"
cluster = "school"
[model]
formula = "y ~ x + (1 | school) + (1 | nbhd)"
[estimation]
optimizer = "bobyqa"
max_iterations = $EVALS
accept_nonconvergence = true
scalapack_threshold = $t
EOT
    rc=0
    mpirun -n "$NP" --oversubscribe "$BUILD/hlm-mpi" fit "$DIR/b.toml" \
      > "$DIR/out" 2>&1 || rc=$?
    per=$(grep -E 'optimizer.*evaluation [0-9]+ \(last\)' "$DIR/out" \
      | sed -E 's/.*evaluation ([0-9]+) \(last\).*, ([0-9.]+) s,.*/\2 \1/' \
      | awk '{ if ($2 > 1) printf "%.3f", $1 / ($2 - 1) }')
    mem=$(grep -E 'global system S:' "$DIR/out" | tail -1 \
      | sed -E 's/.*: ([0-9.]+ (to [0-9.]+ )?)MiB per rank.*/\1/')
    dim=$(grep -oE 'global system S: [0-9]+' "$DIR/out" | head -1 \
      | awk '{ print $4 }')
    printf '%8s %10s %10s %14s %s\n' "${dim:-?}" \
      "$([ "$thr" = 0 ] && echo ScaLAPACK || echo LAPACK)" "${per:--}" \
      "${mem:--}" "$rc"
    [ "$rc" = 0 ] || tail -5 "$DIR/out" >&2
  done
done
