#!/usr/bin/env bash
# scripts/bootstrap.sh: set up hlm-mpi on a fresh Debian machine.
#
#   scripts/bootstrap.sh          install what is missing, build in build/,
#                                 run the seedling example on 2 ranks
#   scripts/bootstrap.sh --test   the same set-up, then the whole test suite:
#                                 -Werror build, CTest, the sanitizer build and
#                                 its CTest run, the clang-format check and the
#                                 short fuzz runs (clang + libFuzzer)
#
# Safe to run again (idempotent).  As root it installs missing Debian packages
# with apt-get; otherwise it prints the apt-get line to run and stops.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

MODE=run
case "${1:-}" in
  "") ;;
  --test) MODE=test ;;
  -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
  *) echo "bootstrap.sh: unknown argument '$1' (use --test or nothing)" >&2; exit 2 ;;
esac

# Everything hlm-mpi builds on, from Debian's archive.
PACKAGES=(build-essential cmake pkg-config
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libscalapack-openmpi-dev libopenblas-dev liblapacke-dev
  libgsl-dev libnlopt-dev librandom123-dev
  libcsv-dev libjansson-dev libcmocka-dev)
# The test command also needs clang (libFuzzer), clang-format, h5py
# (an independent HDF5 writer for the data-layer tests), R with lme4 (the
# Bayesian tests' references), Slurm and iproute2.
TEST_PACKAGES=(clang libclang-rt-14-dev clang-format python3-h5py python3-numpy
  r-base-core r-cran-lme4 # the Bayesian tests compute their references in R
  slurm-wlm munge # a private single-node Slurm for tests/slurm (as root)
  iproute2) # `ip netns`: two emulated hosts for tests/net (as root)

say() { printf '\n==> %s\n' "$*"; }

install_missing() {
  local want=("${PACKAGES[@]}") missing=() p
  [ "$MODE" = test ] && want+=("${TEST_PACKAGES[@]}")
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
      || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "all ${#want[@]} Debian packages present"
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap.sh: missing Debian packages; as root, run:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Open MPI refuses to run as root unless told so; CI runs as root.  These
# settings live here and in the test registrations, not in users' profiles.
mpi_env() {
  if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
  # Containers often forbid the cross-memory-attach single copy.
  export OMPI_MCA_btl_vader_single_copy_mechanism=none
}

build() { # build DIR [cmake options...]
  local dir=$1; shift
  say "configuring and building $dir/"
  cmake -S "$ROOT" -B "$ROOT/$dir" "$@"
  cmake --build "$ROOT/$dir" -j "$(nproc)"
}

run_example() {
  local cmd=(mpirun -n 2 --oversubscribe build/hlm-mpi data/seedlings/seedlings.toml)
  say "${cmd[*]}"
  local rc=0
  "${cmd[@]}" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "bootstrap.sh: the seedling example failed (exit $rc)" >&2
    exit "$rc"
  fi
}

run_tests() {
  say "test suite (build/)"
  (cd build && ctest --output-on-failure -j "$(nproc)")
  build build-asan -DCMAKE_BUILD_TYPE=Debug -DHLM_SANITIZE=ON -DHLM_WERROR=ON
  say "test suite under AddressSanitizer and UBSan (build-asan/)"
  (cd build-asan && ctest --output-on-failure -j "$(nproc)")
  say "clang-format check"
  scripts/check-format.sh
  say "configuring and building the fuzzers (build-fuzz/)"
  CC=clang cmake -S "$ROOT" -B "$ROOT/build-fuzz" -DCMAKE_BUILD_TYPE=Debug \
    -DHLM_FUZZ=ON
  cmake --build "$ROOT/build-fuzz" -j "$(nproc)" --target fuzz_toml fuzz_formula
  say "short fuzz runs of the TOML reader and the formula parser (build-fuzz/)"
  (cd build-fuzz && ctest --output-on-failure -L fuzz)
}

install_missing
mpi_env
if [ "$MODE" = test ]; then
  build build -DHLM_WERROR=ON
else
  build build
fi
run_example
[ "$MODE" = test ] && run_tests
say "done"
