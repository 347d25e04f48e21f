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
