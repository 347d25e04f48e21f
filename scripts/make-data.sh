#!/usr/bin/env bash
# Build data/<name>/<name>.h5 from data/<name>/<name>.csv for every folder of
# data/, with `hlm-mpi import` (group /data).  Existing .h5 files are
# rebuilt.
#
#   scripts/make-data.sh [--build DIR] [--from-shared DIR]
#
#   --build DIR        where hlm-mpi was built (default: build)
#   --from-shared DIR  first copy each DIR/<set>/data.csv to data/<set>/<set>.csv,
#                      with its lme4.json or reference.json, so the reference
#                      fits of ../shared/reference ship as CSV + HDF5 under data/
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
SHARED=
while [ $# -gt 0 ]; do
  case $1 in
  --build) BUILD=$(cd "${2:?--build needs a DIR}" && pwd); shift 2 ;;
  --from-shared) SHARED=$(cd "${2:?--from-shared needs a DIR}" && pwd); shift 2 ;;
  -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "make-data.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
HLM=$BUILD/hlm-mpi
if [ ! -x "$HLM" ]; then
  echo "make-data.sh: $HLM not found; build first (cmake -S . -B build && cmake --build build)" >&2
  exit 1
fi

if [ -n "$SHARED" ]; then
  for dir in "$SHARED"/*/; do
    set_name=$(basename "$dir")
    [ -f "$dir/data.csv" ] || continue
    mkdir -p "$ROOT/data/$set_name"
    cp "$dir/data.csv" "$ROOT/data/$set_name/$set_name.csv"
    for ref in lme4.json reference.json; do
      if [ -f "$dir/$ref" ]; then cp "$dir/$ref" "$ROOT/data/$set_name/$ref"; fi
    done
    echo "copied $set_name from $dir"
  done
fi

# hlm-mpi runs as an MPI singleton (no mpirun needed for one rank).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for dir in "$ROOT"/data/*/; do
  name=$(basename "$dir")
  csv=$dir/$name.csv
  [ -f "$csv" ] || continue
  rm -f "$dir/$name.h5"
  (cd "$dir" && "$HLM" import "$name.csv" "$name.h5")
done
