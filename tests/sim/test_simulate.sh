#!/usr/bin/env bash
# hlm-mpi simulate (docs/simulate.md): the file is the same at 1, 2, 3 and 4
# ranks (h5diff); its moments match the settings (an independent Python
# check); a fit recovers the true parameters within a few standard errors
# at every rank count; bad input fails on every rank with file:line:column.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
all() { printf "$1"' %.0s' $(seq "$2") | sed 's/ $//'; }
# expect_failed "WHAT" NP: every rank exited with the same failure code (not
# 2 or 3: usage, not implemented); docs/errors.md lists the codes.
expect_failed() {
  local first=${RANK_RCS%% *}
  case $first in 0 | 2 | 3 | missing) first=bad ;; esac
  expect_rcs "$1" "$(all "$first" "$2")"
}

cat >"$TMP/full.toml" <<'TOML'
[simulate]
rows = 30000
clusters = 300
subclusters = 4
crossed_levels = 50
covariates = 3
slope_sd = 0.5
correlation = 0.4
weights = true
seed = 11
TOML
for np in 1 2 3 4; do
  run_ranks $np simulate "$TMP/full.toml" "$TMP/full$np.h5"
  expect_rcs "simulate on $np ranks" "$(all 0 $np)"
  expect_count "$OUT" "true model: y ~ x1 + x2 + x3 + (1 + x1 | school) + (1 | school:class) + (1 | rater)" 1 "formula printed once on $np ranks"
  if [ $np -gt 1 ]; then
    if h5diff "$TMP/full1.h5" "$TMP/full$np.h5" >"$TMP/diff" 2>&1; then
      pass "file at $np ranks identical to 1 rank (h5diff)"
    else fail "h5diff 1 vs $np ranks:"; head "$TMP/diff" >&2; fi
  fi
done
if "$PY" "$SRC/tests/sim/check_moments.py" "$TMP/full1.h5" \
  30000 300 4 50 3 1 1 0.5 0.5 0.5 1 0.5 >"$TMP/mom" 2>&1; then
  pass "sample moments match the settings"
else fail "moments:"; cat "$TMP/mom" >&2; fi

# Recovery: REML on 60000 rows in 600 clusters, at 1 to 4 ranks.
cat >"$TMP/rec.toml" <<'TOML'
[simulate]
rows = 60000
clusters = 600
subclusters = 3
covariates = 2
slope_sd = 0.6
correlation = -0.3
cluster_sd = 0.8
subcluster_sd = 0.4
residual_sd = 1.5
seed = 5
TOML
run_ranks 2 simulate "$TMP/rec.toml" "$TMP/rec.h5"
expect_rcs "simulate the recovery data" "0 0"
for np in 1 2 3 4; do
  cat >"$TMP/fit$np.toml" <<TOML
[data]
file = "rec.h5"
cluster = "school"
[model]
formula = "y ~ x1 + x2 + (1 + x1 | school) + (1 | school:class)"
[output]
summary = "fit$np.json"
TOML
  run_ranks $np "$TMP/fit$np.toml"
  expect_rcs "fit of simulated data on $np ranks" "$(all 0 $np)"
done
if "$PY" "$SRC/tests/sim/check_recovery.py" "$TMP/rec.h5" "$TMP"/fit[1234].json \
  >"$TMP/rec" 2>&1; then
  pass "fit recovers the truth at 1-4 ranks, and the ranks agree"
  cat "$TMP/rec"
else fail "recovery:"; cat "$TMP/rec" >&2; fi

# Errors, on 1 and 3 ranks: every rank exits 1, the message names the place.
printf '[simulate]\nrows = 100\nclusters = 10\ncovarates = 2\n' >"$TMP/typo.toml"
printf '[simulate]\nrows = 100\nclusters = 10\ncorrelation = 1.5\n' >"$TMP/corr.toml"
printf '[data]\nfile = "x.h5"\n' >"$TMP/data.toml"
printf '[simulate]\nrows = 5\nclusters = 10\n' >"$TMP/few.toml"
printf '[simulate]\nclusters = 10\n' >"$TMP/norows.toml"
printf '[data]\nfile = "x.h5"\n[model]\nformula = "y ~ 1 + (1 | g)"\n[simulate]\nrows = 5\n' >"$TMP/fitsim.toml"
for np in 1 3; do
  run_ranks $np simulate "$TMP/typo.toml" "$TMP/typo.h5"
  expect_failed "misspelt key on $np" $np
  expect_in "$ERR" "typo.toml:4:1: unknown key \`covarates\` in [simulate] (did you mean \`covariates\`?)" "misspelt key named"
  expect_count "$ERR" "covarates" 1 "one message on $np ranks"
  run_ranks $np simulate "$TMP/corr.toml" "$TMP/corr.h5"
  expect_failed "correlation out of range on $np" $np
  expect_in "$ERR" "corr.toml:4:15: \`correlation\` must be in [-1, 1], got 1.5" "range error placed"
  run_ranks $np simulate "$TMP/data.toml" "$TMP/data.h5"
  expect_failed "[data] in a simulate file on $np" $np
  expect_in "$ERR" "[data] belongs in a fit's config.toml" "wrong file named"
  run_ranks $np simulate "$TMP/few.toml" "$TMP/few.h5"
  expect_failed "fewer rows than clusters on $np" $np
  run_ranks $np simulate "$TMP/norows.toml" "$TMP/norows.h5"
  expect_in "$ERR" "[simulate] rows is required" "missing rows named"
  run_ranks $np check "$TMP/fitsim.toml"
  expect_failed "[simulate] in a fit config on $np" $np
  expect_in "$ERR" "[simulate] belongs in the file of \`hlm-mpi simulate" "fit config refuses [simulate]"
  run_ranks $np simulate "$TMP/full.toml" "$TMP/full1.h5"
  expect_failed "existing output on $np" $np
  expect_in "$ERR" "full1.h5 exists" "never overwrites"
  run_ranks $np simulate "$TMP/full.toml" "$TMP/nodir/out.h5"
  expect_failed "unwritable output on $np" $np
  expect_in "$ERR" "cannot create $TMP/nodir/out.h5" "unwritable output named"
done
finish
