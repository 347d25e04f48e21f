# Shared helpers of the Bayesian test scripts (source after ../lib.sh).
D=$SRC/data
zeros() { printf '0 %.0s' $(seq "$1") | sed 's/ $//'; }
same() { printf "$1 %.0s" $(seq "$2") | sed 's/ $//'; }

# es NAME NP PRIOR_LINES [BAYES_LINES]: the eight-schools group-means model
# (known SDs) with mu ~ N(0, 25), 4 chains of 6000 (1000 warm-up), seed 11.
es() {
  cat > "$TMP/$1.toml" <<EOT
[data]
file = "$D/eightschools/eightschools.h5"
known_sd = "sigma"
[model]
formula = "y ~ 1 + (1 | school)"
method = "bayes"
[bayes]
chains = 4
iterations = 6000
warmup = 1000
seed = 11
${4:-}
[bayes.prior]
beta_variance = { "(Intercept)" = 25 }
$3
[output]
summary = "$TMP/$1.json"
draws = "$TMP/$1.csv"
EOT
  run_ranks "$2" "$TMP/$1.toml"
  expect_rcs "$1 on $2 ranks" "$(zeros "$2")"
}

# grid NAME DF: the posterior means of NAME's summary against numerical
# integration over a grid (eightschools_grid.py), half-t(DF, 5) prior on tau.
grid() {
  if /usr/bin/python3 "$SRC/tests/bayes/eightschools_grid.py" \
       "$D/eightschools/eightschools.csv" "$TMP/$1.json" "$2" 5 25 > "$TMP/cmp" 2>&1; then
    pass "$1: $(tail -1 "$TMP/cmp")"; cat "$TMP/cmp"
  else fail "$1: grid"; cat "$TMP/cmp" >&2; fi
}

# small_cfg NAME H5 FORMULA EXTRA_DATA EXTRA_BAYES: 2 chains of 1100 (100
# warm-up), seed 5; EXTRA_DATA goes into [data], EXTRA_BAYES after the seed
# (and may open further sections).
small_cfg() {
  cat > "$TMP/$1.toml" <<EOT
[data]
file = "$2"
$4
[model]
formula = "$3"
method = "bayes"
[bayes]
chains = 2
iterations = 1100
warmup = 100
seed = 5
$5
[output]
summary = "$TMP/$1.json"
draws = "$TMP/$1.csv"
EOT
}

# crossed_small WHAT: $TMP/x.csv and x.h5, a small simulated design with a
# term crossed with the clusters (make_crossed_small.py)
crossed_small() {
  /usr/bin/python3 "$SRC/tests/bayes/make_crossed_small.py" "$TMP/x.csv"
  run_ranks 1 import "$TMP/x.csv" "$TMP/x.h5"
  expect_rcs "$1: import" 0
}

# sbc_passes WHAT NREP [PRIOR]: simulation-based calibration (sbc.py) finds
# uniform ranks
sbc_passes() {
  if /usr/bin/python3 "$SRC/tests/bayes/sbc.py" "$HLM" "$TMP" "$2" ${3:-} > "$TMP/cmp" 2>&1; then
    pass "$1: $(tail -1 "$TMP/cmp")"; cat "$TMP/cmp"
  else fail "$1"; cat "$TMP/cmp" >&2; fi
}

# sbc_fails_with_bug BUG NREP [PRIOR]: the same with HLM_TEST_PLANT_BUG=BUG
# must fail (exit 1: not calibrated), on the bug's variance too
sbc_fails_with_bug() {
  HLM_TEST_PLANT_BUG=$1 /usr/bin/python3 "$SRC/tests/bayes/sbc.py" "$HLM" "$TMP" "$2" ${3:-} \
    > "$TMP/cmp" 2>&1
  local rc=$?
  cat "$TMP/cmp"
  if [ "$rc" -eq 1 ]; then pass "calibration fails with the planted bug: $(tail -1 "$TMP/cmp")"
  else fail "calibration with the planted bug: exit $rc, not 1 (not calibrated)"; fi
  expect_in "$TMP/cmp" "var(g (Intercept))   rank counts" "the bug's variance is checked"
}
