#!/usr/bin/env bash
# The log of a fit (issue 16): header, footer and stage lines on stderr,
# results on stdout; --quiet and --verbose; the documented exit codes
# (docs/errors.md) for a configuration error, a data error, an I/O error and
# a fit that does not converge, the same on every rank, at 1 and 3 ranks.
. "$(dirname "$0")/../lib.sh"
SEED=$SRC/data/seedlings/seedlings.h5
all() { printf "$1"' %.0s' $(seq "$2") | sed 's/ $//'; }
conf() { # conf FILE [extra lines...]
  local f=$1; shift
  printf '[data]\nfile = "%s"\ncluster = "tray"\n[model]\nformula = "weight ~ genotype + (1 | tray)"\n' "$SEED" >"$f"
  local l; for l in "$@"; do printf '%s\n' "$l" >>"$f"; done
}
conf "$TMP/ok.toml" '[output]' "summary = \"$TMP/ok.json\""
conf "$TMP/slow.toml" '[estimation]' 'max_iterations = 2'
conf "$TMP/accept.toml" '[estimation]' 'max_iterations = 2' \
  'accept_nonconvergence = true' '[output]' "summary = \"$TMP/accept.json\""
conf "$TMP/slown.toml" '[estimation]' 'max_iterations = 2' \
  'optimizer = "newton"'
printf '[data]\nfile = "%s"\n[model]\nformula = "weight ~ nosuch + (1 | tray)"\n' "$SEED" >"$TMP/data.toml"
printf '[data]\nfile = "%s/none.h5"\n[model]\nformula = "y ~ 1 + (1 | g)"\n' "$TMP" >"$TMP/io.toml"
printf '[model]\nformla = "y ~ 1"\n' >"$TMP/config.toml"

for np in 1 3; do
  run_ranks $np "$TMP/ok.toml"
  expect_rcs "fit on $np" "$(all 0 $np)"
  expect_in "$ERR" "hlm-mpi $(sed -n "s/^project(hlm-mpi VERSION \\([0-9.]*\\).*/\\1/p" "$SRC/CMakeLists.txt" | head -n1)" "header: version"
  expect_in "$ERR" "ranks: $np on $(hostname) ($np rank" "header: ranks and hosts on $np"
  expect_in "$ERR" "fit $TMP/ok.toml" "header: config path"
  expect_in "$ERR" "56 rows used, 3 columns" "log: data size"
  expect_in "$ERR" "model.formula = \"weight ~ genotype + (1 | tray)\"" "log: model"
  expect_in "$ERR" "finished: converged" "footer: converged"
  expect_in "$ERR" "peak memory per rank" "footer: memory"
  expect_in "$ERR" "output: $TMP/ok.json" "footer: output path"
  expect_count "$ERR" "finished:" 1 "one footer on $np ranks"
  if grep -qE '^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} \+[0-9.]+s\] hlm-mpi' "$ERR"; then
    pass "header is timestamped"; else fail "header timestamp"; cat "$ERR" >&2; fi
  expect_in "$OUT" "genotypeB" "results on stdout"
  if grep -q "finished:\|ranks:" "$OUT"; then fail "log lines on stdout"; else pass "stdout holds results only"; fi

  run_ranks $np --quiet "$TMP/ok.toml"
  expect_rcs "--quiet on $np" "$(all 0 $np)"
  if [ -s "$ERR" ]; then fail "--quiet wrote to stderr:"; cat "$ERR" >&2; else pass "--quiet: nothing on stderr"; fi
  expect_in "$OUT" "genotypeB" "--quiet: results still on stdout"

  run_ranks $np --verbose "$TMP/ok.toml"
  expect_in "$ERR" "fitting: done" "--verbose: stage lines"

  # exit codes, docs/errors.md
  run_ranks $np "$TMP/config.toml"
  expect_rcs "configuration error on $np" "$(all 4 $np)"
  run_ranks $np "$TMP/data.toml"
  expect_rcs "data error on $np" "$(all 5 $np)"
  run_ranks $np "$TMP/io.toml"
  expect_rcs "I/O error on $np" "$(all 6 $np)"
  run_ranks $np "$TMP/slow.toml"
  expect_rcs "no convergence on $np" "$(all 7 $np)"
  expect_in "$ERR" "without converging" "no convergence: message"
  expect_in "$ERR" "finished: FAILED (numerical failure, exit code 7" "no convergence: footer"
  run_ranks $np "$TMP/slown.toml"
  expect_rcs "no convergence (quasi-Newton) on $np" "$(all 7 $np)"
  expect_in "$ERR" "largest projected gradient entry" \
    "no convergence (quasi-Newton): the last gradient is reported"
  run_ranks $np "$TMP/accept.toml"
  expect_rcs "accept_nonconvergence on $np" "$(all 0 $np)"
  expect_in "$ERR" "accepted: [estimation] accept_nonconvergence" \
    "accept_nonconvergence: the warning"
  expect_in "$OUT" "warning: the optimizer stopped" \
    "accept_nonconvergence: the summary warns"
  if grep -q '"converged": false' "$TMP/accept.json"; then
    pass "accept_nonconvergence: the JSON says converged false"
  else fail "accept_nonconvergence: JSON"; fi
done
# A fault on one rank only (an internal error there): every rank exits 1.
HLM_FAULT_INJECT='fitting@2' run_ranks 3 "$TMP/ok.toml"
expect_rcs "internal error on rank 2 of 3" "1 1 1"
expect_in "$ERR" "finished: FAILED" "footer after a fault"
finish
