#!/usr/bin/env bash
# method = "bayes" with correlated random effects (Days | Subject): the
# inverse-Wishart prior of their covariance (issue 12, docs/bayes.md).
# One part per ctest entry:
#   exact      variances held at REML (fixed_variances): draws of beta and
#              summaries of u against the exact Gaussian posterior computed
#              densely in R (exact_posterior.R), at 1 and 2 ranks, and the
#              draws bitwise equal at 1, 2 and 3 ranks
#   reference  covariance drawn, IW(k + 1, 100 I): posterior means of beta,
#              the variances, SDs and the correlation against an
#              independent Gibbs sampler in R (gibbs_reference.R, its IW
#              step drawn with stats::rWishart); the draws bitwise equal
#              at 1, 2, 3 and 4 ranks
#   reference2 the same with wishart_df = 5, wishart_scale = 300 on 3 ranks
. "$(dirname "$0")/../lib.sh"
R=Rscript
. "$(dirname "$0")/rqueue.sh"
D=$SRC/data
F="Reaction ~ Days + (Days | Subject)"
CSV=$D/sleepstudy_diag/sleepstudy_diag.csv
zeros() { printf '0 %.0s' $(seq "$1") | sed 's/ $//'; }

# cfg NAME BAYES [PRIOR]: a config of the sleepstudy fit
cfg() {
  cat > "$TMP/$1.toml" <<EOT
[data]
file = "$D/sleepstudy_diag/sleepstudy_diag.h5"
[model]
formula = "$F"
method = "bayes"
[bayes]
seed = 7
$2
[output]
summary = "$TMP/$1.json"
draws = "$TMP/$1.csv"
${3:-}
EOT
}

# run NAME NP: run config NAME on NP ranks, every rank exits 0
run() {
  run_ranks "$2" "$TMP/$1.toml"
  expect_rcs "$1 on $2 ranks" "$(zeros "$2")"
}

# bitwise NAME NP...: the draws of NAME at each NP equal those at the first
bitwise() {
  local name=$1 first=$2 np
  shift
  for np in "$@"; do
    run "$name" "$np"
    cp "$TMP/$name.csv" "$TMP/$name.$np.csv"
  done
  for np in "${@:2}"; do
    if cmp -s "$TMP/$name.$first.csv" "$TMP/$name.$np.csv"; then
      pass "$name: draws at $np ranks are bitwise those at $first"
    else fail "$name: draws at $np ranks differ from those at $first"; fi
  done
}

part_exact() {
  local np
  cfg fixed "chains = 2
iterations = 1100
warmup = 100
fixed_variances = true"
  for np in 1 2; do
    run fixed "$np"
    expect_in "$OUT" "cov(Subject (Intercept),Days) 9.60" \
      "fixed ($np ranks): the REML covariance is held (lme4: 9.604)"
    cp "$TMP/fixed.json" "$TMP/fixed.np$np.json"
    cp "$TMP/fixed.csv" "$TMP/fixed.np$np.csv"
    rq_add "fixed$np" "$SRC/tests/bayes/exact_posterior.R" "$CSV" "$F" - \
      "$TMP/fixed.np$np.json" "$TMP/fixed.np$np.csv"
  done
  rq_run # both checks in one R session (rqueue.sh)
  for np in 1 2; do
    rq_check "fixed$np" "fixed ($np ranks): exact posterior" \
      "fixed ($np ranks): exact posterior"
  done
  bitwise fixed 1 2 3
}

# reference NAME NP NU S: drawn covariance against gibbs_reference.R
reference() {
  if $R "$SRC/tests/bayes/gibbs_reference.R" "$CSV" "$F" - "$TMP/$1.json" \
       0.001 0.001 0.001 0.001 "iw:$3:$4" > "$TMP/cmp" 2>&1; then
    pass "$1 ($2 ranks): independent Gibbs sampler: $(tail -1 "$TMP/cmp")"
  else
    fail "$1 ($2 ranks): independent Gibbs sampler"; cat "$TMP/cmp" >&2
  fi
}

part_reference() {
  cfg drawn "chains = 4
iterations = 4000
warmup = 500" "[bayes.prior]
wishart_scale = 100"
  run drawn 2
  expect_in "$OUT" "inverse-Wishart(df k + 1, scale 100 I)" "drawn: prior printed"
  expect_in "$OUT" "cor(Subject (Intercept),Days)" "drawn: correlation reported"
  reference drawn 2 - 100
  sed -i -e 's/^iterations = 4000/iterations = 300/' -e 's/^warmup = 500/warmup = 50/' \
    "$TMP/drawn.toml"
  bitwise drawn 1 2 3 4
}

part_reference2() {
  cfg df "chains = 4
iterations = 4000
warmup = 500" "[bayes.prior]
wishart_df = 5
wishart_scale = 300"
  run df 3
  expect_in "$OUT" "inverse-Wishart(df 5, scale 300 I)" "df: prior printed"
  reference df 3 5 300
}

part_"${1:?usage: test_bayes_iw.sh exact|reference|reference2}"
finish
