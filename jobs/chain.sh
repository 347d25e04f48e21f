#!/bin/bash
# chain.sh: import, then fit, then summary, as three Slurm jobs that wait
# for each other (--dependency=afterok: a step starts only when the one
# before it succeeded; if one fails, the rest are cancelled, not left
# pending: --kill-on-invalid-dep=yes).  Run it on the login node:
#
#   jobs/chain.sh DATA.csv DATA.h5 CONFIG.toml OUT.tsv [import options...]
#
# CONFIG.toml must read DATA.h5 and write a JSON summary ([output] summary);
# OUT.tsv gets the summary table.  Extra arguments go to `hlm-mpi import`
# (e.g. --type tray=categorical).  sbatch options for all three jobs can be
# given in SBATCH_ARGS, e.g. SBATCH_ARGS="--account=myproject".
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: chain.sh DATA.csv DATA.h5 CONFIG.toml OUT.tsv [import options]" >&2
  exit 2
fi
CSV=$1 H5=$2 CONFIG=$3 OUT=$4
shift 4
JOBS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
read -r -a extra <<<"${SBATCH_ARGS:-}"

# The JSON file CONFIG.toml writes, for the summary step: `summary = "..."`
# in its [output] section, relative to the config's folder.
json=$(sed -n 's/^[[:space:]]*summary[[:space:]]*=[[:space:]]*"\(.*\)".*/\1/p' "$CONFIG" | head -n 1)
if [ -z "$json" ]; then
  echo "chain.sh: $CONFIG has no [output] summary = \"...\" for the summary step" >&2
  exit 2
fi
case $json in /*) ;; *) json=$(cd "$(dirname "$CONFIG")" && pwd)/$json ;; esac

submit() { sbatch --parsable --kill-on-invalid-dep=yes "${extra[@]}" "$@"; }
import_id=$(submit "$JOBS/import.sbatch" "$CSV" "$H5" "$@")
fit_id=$(submit --dependency=afterok:"$import_id" "$JOBS/fit-mpirun.sbatch" "$CONFIG")
sum_id=$(submit --dependency=afterok:"$fit_id" "$JOBS/summary.sbatch" "$OUT" "$json")
echo "import $import_id -> fit $fit_id -> summary $sum_id"
