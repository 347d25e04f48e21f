#!/usr/bin/env bash
# Open MPI start-up defaults (src/cli/mpi_defaults.h): on a machine without
# an InfiniBand or Omni-Path device hlm-mpi chooses the ob1 pml itself, so
# MPI_Init never opens the "cm" layer and its PSM/PSM2 libraries (0.1 s
# each here); HLM_MPI_DEFAULTS=0, a pml chosen in the environment or in
# ~/.openmpi/mca-params.conf leave Open MPI's own choice.  Observed through
# Open MPI's component log (mca_base_verbose).
. "$(dirname "$0")/../lib.sh"

if ls /sys/class/infiniband/* >/dev/null 2>&1 || [ -e /dev/hfi1_0 ]; then
  echo "SKIP: this machine has a fabric device: hlm-mpi leaves the pml alone"
  exit 0
fi
unset OMPI_MCA_pml HLM_MPI_DEFAULTS
export OMPI_MCA_pml_base_verbose=100
CM="components_register: found loaded component cm"

for np in 1 3; do
  run_ranks $np --version
  expect_rcs "--version on $np" "$(printf '0 %.0s' $(seq $np) | sed 's/ $//')"
  expect_in "$ERR" "select: component ob1 selected" "ob1 chosen on $np ranks"
  expect_count "$ERR" "$CM" 0 "cm never opened on $np ranks"
done

HLM_MPI_DEFAULTS=0 run_ranks 2 --version
expect_in "$ERR" "$CM" "HLM_MPI_DEFAULTS=0: Open MPI opens cm itself"

OMPI_MCA_pml=ob1,cm run_ranks 2 --version
expect_in "$ERR" "$CM" "OMPI_MCA_pml set by the user: kept"

mkdir -p "$TMP/home/.openmpi"
printf '# a user choice\npml = ob1,cm\n' >"$TMP/home/.openmpi/mca-params.conf"
HOME=$TMP/home run_ranks 2 --version
expect_in "$ERR" "$CM" "a pml line in ~/.openmpi/mca-params.conf: kept"
printf 'pml = ^ucx\n' >"$TMP/home/.openmpi/mca-params.conf"
HOME=$TMP/home run_ranks 2 --version
expect_count "$ERR" "$CM" 0 "an exclusion (pml = ^ucx) is no choice: ob1 chosen"
finish
