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
#   matrix     a full matrix wishart_scale = Psi (wishart_df = 5) on 2
#              ranks against the same independent sampler given that
#              Psi, and not within MC error of it given Psi's diagonal
#              only
#   matrix2    the same prior: bitwise draws at 1 and 3 ranks; refusals
#              of a Psi not square, of the wrong size, not symmetric, not
#              positive definite, not a number or matrix, negative
#   crossed    correlated effects of a crossed (global) term: y ~ x + (1 |
#              a) + (1 + x | b), a small data set simulated
#              (make_crossed_small.py: 30 levels of a, the clusters,
#              crossed with 8 of b), IW(3, Psi)
#              with a full Psi on b's covariance: posterior means against
#              the independent sampler in R at 2 ranks; bitwise draws at
#              1, 3 and 4 ranks
. "$(dirname "$0")/../lib.sh"
R=Rscript
. "$(dirname "$0")/rqueue.sh"
. "$(dirname "$0")/bayes_lib.sh"
F="Reaction ~ Days + (Days | Subject)"
CSV=$D/sleepstudy_diag/sleepstudy_diag.csv

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

PSI='[[3000, -250],
                 [-250, 100]]'

part_matrix() {
  cfg mat "chains = 4
iterations = 2500
warmup = 500" "[bayes.prior]
wishart_df = 5
wishart_scale = $PSI"
  run mat 2
  expect_in "$OUT" "inverse-Wishart(df 5, scale Psi = the 2 x 2 matrix wishart_scale)" \
    "matrix: prior printed"
  GIBBS_REF_NITER=10000 reference mat 2 5 "3000,-250;-250,100"
  # the off-diagonal of Psi matters: the draws are not those of diag(Psi)
  if GIBBS_REF_NITER=3000 $R "$SRC/tests/bayes/gibbs_reference.R" "$CSV" "$F" - "$TMP/mat.json" \
       0.001 0.001 0.001 0.001 "iw:5:3000,0;0,100" > "$TMP/cmp" 2>&1; then
    fail "matrix: the draws also fit Psi without its off-diagonal"
  else pass "matrix: the draws do not fit Psi without its off-diagonal: $(tail -1 "$TMP/cmp")"; fi
}

part_matrix2() {
  cfg mat "chains = 4
iterations = 300
warmup = 50" "[bayes.prior]
wishart_df = 5
wishart_scale = $PSI"
  bitwise mat 1 3
  refuse_psi "Psi not square" 2 'e.toml:11:26: [bayes.prior] wishart_scale: row 2 has 1 numbers; the matrix must be square, 2 x 2' \
    '[[4, 1], [1]]'
  refuse_psi "Psi of the wrong size" 3 'e.toml:11:17: [bayes.prior] wishart_scale is 3 x 3, but `Subject` has 2 correlated effects' \
    '[[4, 0, 0], [0, 4, 0], [0, 0, 4]]'
  refuse_psi "Psi not symmetric" 2 'e.toml:11:26: [bayes.prior] wishart_scale is not symmetric: row 2, column 1 is 2 but row 1, column 2 is 1' \
    '[[4, 1], [2, 9]]'
  refuse_psi "Psi not positive definite" 4 'e.toml:11:17: [bayes.prior] wishart_scale is not positive definite' \
    '[[1, 2], [2, 1]]'
  refuse_psi "Psi not a matrix" 2 'e.toml:11:17: `wishart_scale` must be a positive number s (meaning s I) or an array of arrays' \
    '"big"'
  refuse_psi "Psi negative" 2 'e.toml:11:17: `wishart_scale` must be positive, got -1' \
    '-1'
}

part_crossed() {
  crossed_small crossed
  local fx="y ~ x + (1 | a) + (1 + x | b)"
  cat > "$TMP/cr.toml" <<EOT
[data]
file = "$TMP/x.h5"
cluster = "a"
[model]
formula = "$fx"
method = "bayes"
[bayes]
chains = 4
iterations = 2500
warmup = 500
seed = 3
[bayes.prior]
variance_shape = 1
variance_scale = 1
residual_shape = 1
residual_scale = 1
wishart_scale = [[1, 0.3], [0.3, 0.5]]
[output]
summary = "$TMP/cr.json"
draws = "$TMP/cr.csv"
EOT
  run cr 2
  expect_in "$ERR" "8 levels  not nested in the partition factor: global (crossed)" \
    "crossed: b is a global term"
  if GIBBS_REF_NITER=8000 $R "$SRC/tests/bayes/gibbs_reference.R" "$TMP/x.csv" "$fx" - "$TMP/cr.json" \
       1 1 1 1 "iw:-:1,0.3;0.3,0.5" > "$TMP/cmp" 2>&1; then
    pass "crossed correlated effects: independent Gibbs sampler: $(tail -1 "$TMP/cmp")"
  else
    fail "crossed correlated effects: independent Gibbs sampler"; cat "$TMP/cmp" >&2
  fi
  sed -i -e 's/^iterations = 2500/iterations = 300/' -e 's/^warmup = 500/warmup = 50/' \
    "$TMP/cr.toml"
  bitwise cr 1 3 4
}

# refuse_psi WHAT NP PATTERN PSI: wishart_scale = PSI refused on every rank
refuse_psi() {
  cat > "$TMP/e.toml" <<EOT
[data]
file = "$D/sleepstudy_diag/sleepstudy_diag.h5"
[model]
formula = "$F"
method = "bayes"
[bayes]
iterations = 20
warmup = 10
[bayes.prior]
wishart_df = 5
wishart_scale = $4
EOT
  run_ranks "$2" "$TMP/e.toml"
  expect_rcs "$1" "$(printf '4 %.0s' $(seq "$2") | sed 's/ $//')"
  expect_in "$ERR" "$3" "$1: message"
}

part_"${1:?usage: test_bayes_iw.sh exact|reference|reference2|matrix|matrix2|crossed}"
finish
