#!/usr/bin/env bash
# The command line: --version, --help, usage errors, exit codes, on 1 and 3
# ranks.  Exit codes are documented in docs/errors.md.
. "$(dirname "$0")/../lib.sh"
CONFIG=$SRC/data/seedlings/seedlings.toml

for np in 1 3; do
  run_ranks $np --version
  expect_rcs "--version on $np" "$(printf '0 %.0s' $(seq $np) | sed 's/ $//')"
  expect_count "$OUT" "hlm-mpi " 1 "--version printed once on $np ranks"
  for lib in "Open MPI" "HDF5" "GSL" "OpenBLAS" "ScaLAPACK" "NLopt"; do
    expect_in "$OUT" "$lib" "--version names $lib"
  done

  run_ranks $np --help
  for cmd in fit check import info simulate; do
    expect_in "$OUT" "  $cmd " "--help lists $cmd"
  done

  all() { printf "$1"' %.0s' $(seq $np) | sed 's/ $//'; }
  run_ranks $np --frobnicate
  expect_rcs "unknown option on $np" "$(all 2)"
  expect_in "$ERR" "unknown option '--frobnicate'" "unknown option named"
  expect_count "$ERR" "unknown option" 1 "usage error printed once"

  run_ranks $np
  expect_rcs "no arguments on $np" "$(all 2)"

  run_ranks $np frobnicate
  expect_rcs "unknown command on $np" "$(all 2)"
  expect_in "$ERR" "unknown command 'frobnicate'" "unknown command named"

  run_ranks $np fit "$TMP/nonexistent.toml"
  expect_rcs "missing config on $np" "$(all 6)"
  expect_in "$ERR" "cannot open $TMP/nonexistent.toml: No such file" \
    "missing config file named"
  expect_count "$ERR" "cannot open $TMP/nonexistent.toml" 1 "one message on $np ranks"
done
finish
