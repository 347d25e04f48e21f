#!/usr/bin/env bash
# bench/partition_memory.sh: time and peak memory per rank of a whole fit of
# a synthetic data set, y ~ x + z + (1 | school): read, shuffle, fit; the
# job log's footer reports the peak memory per rank.
#
#   bench/partition_memory.sh [ROWS] [CLUSTERS] [RANKS...]
#
# Writes the data with h5py into $TMPDIR, rows in random cluster order (the
# worst case: nearly every row moves), 3 numeric columns and the cluster.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${1:-10000000}
CLUSTERS=${2:-20000}
shift 2 || true
RANKS=${*:-1 2}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/hlm-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
/usr/bin/python3 - "$DIR/data.h5" "$ROWS" "$CLUSTERS" <<'PY'
import sys, h5py, numpy as np
path, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(1)
with h5py.File(path, "w") as f:
    g = f.create_group("data")
    g["school"] = rng.integers(0, k, n, dtype=np.int64)
    g["x"] = rng.normal(size=n)
    g["z"] = rng.normal(size=n)
    g["y"] = g["x"][:] + rng.normal(size=n)
PY
cat > "$DIR/bench.toml" <<EOT
[data]
file = "data.h5"
cluster = "school"
[model]
formula = "y ~ x + z + (1 | school)"
EOT
[ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "rows=$ROWS clusters=$CLUSTERS file=$(du -h "$DIR/data.h5" | cut -f1) machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB"
for np in $RANKS; do
  start=$(date +%s.%N)
  mpirun -n "$np" --oversubscribe build/hlm-mpi fit "$DIR/bench.toml" 2>&1 \
    | grep -E 'partition:|memory|rows used' || true
  end=$(date +%s.%N)
  printf 'ranks=%s wall=%.2f s\n' "$np" "$(echo "$end - $start" | bc)"
done
