#!/usr/bin/env bash
# mem-per-rank.sh DATA.h5 NRANKS [GROUP]: a --mem-per-cpu value (in MiB) for
# a fit of DATA.h5 on NRANKS ranks with one rank per CPU, printed as e.g.
# "1200M".  Use it when you submit:
#
#   sbatch -n 64 --mem-per-cpu=$(jobs/mem-per-rank.sh survey.h5 64) \
#          jobs/fit-mpirun.sbatch survey.toml
#
# The estimate: every rank holds its share of the rows while reading and
# partitioning (each column as 8-byte numbers, plus a copy while rows move
# between ranks, plus the model's design rows: about 4 copies), on top of
# about 150 MiB for MPI, HDF5 and the libraries (27 MiB measured for the
# seedling fit; more on a real cluster's fabric).  Ranks can differ by the
# size of the largest cluster, so a 50% margin is added.  It is an
# estimate: check the "peak memory per rank" in the job's log after the
# first run and adjust.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: mem-per-rank.sh DATA.h5 NRANKS [GROUP]" >&2
  exit 2
fi
data=$1 ranks=$2 group=${3:-data}
HLM=${HLM:-hlm-mpi}
# `hlm-mpi info` prints "FILE, group /data: N rows, M columns" first.
line=$("$HLM" info "$data" --group "$group" | head -n 1)
rows=$(echo "$line" | sed -n 's/.*: \([0-9]*\) rows, \([0-9]*\) columns.*/\1/p')
cols=$(echo "$line" | sed -n 's/.*: \([0-9]*\) rows, \([0-9]*\) columns.*/\2/p')
if [ -z "$rows" ] || [ -z "$cols" ]; then
  echo "mem-per-rank.sh: could not read rows and columns from: $line" >&2
  exit 1
fi
awk -v r="$rows" -v c="$cols" -v n="$ranks" 'BEGIN {
  per_rank = r * c * 8 * 4 / n / 1048576;      # MiB of row data per rank
  mib = (150 + per_rank) * 1.5;
  printf "%dM\n", int(mib + 0.999) }'
