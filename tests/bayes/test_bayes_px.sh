#!/usr/bin/env bash
# method = "bayes": half-Cauchy / half-t group SDs drawn by parameter
# expansion (Gelman 2006; [bayes] expansion = "parameter", the default)
# and by the auxiliary mixture (expansion = "auxiliary"), docs/bayes.md.
# One part per ctest entry:
#   es       eight schools (known SDs), mu ~ N(0, 5^2), tau ~
#            half-Cauchy(0, 5): under parameter expansion at 1, 2 and 4
#            ranks (bitwise the same draws) the posterior means of mu and
#            tau against numerical integration over a fine grid
#            (eightschools_grid.py: 4.40, 3.60); the auxiliary mixture
#            too; the two samplers agree within MC error (px_compare.py,
#            which prints the ESS of each: the gain that motivates the
#            expansion); a bad expansion value refused
#   crossed  penicillin (two crossed scalar terms, both expanded jointly,
#            sigma drawn), half-Cauchy(0, 1): bitwise the same draws at 1
#            and 4 ranks, the posterior means against an independent
#            Metropolis-within-Gibbs sampler in R (gibbs_reference.R)
#   mixed    a scalar term expanded next to a crossed term of correlated
#            effects (inverse-Wishart): y ~ x + (1 | a) + (1 + x | b) on
#            make_crossed_small.py's data, half-Cauchy(0, 1) on a's SD:
#            posterior means against the independent sampler in R
#            (gibbs_reference.R), 2 ranks; bitwise draws at 1 and 3 ranks
#   sbc      simulation-based calibration (sbc.py) with tau ~ half-t(3, 1)
#            under parameter expansion: 30 replicate data sets, ranks
#            uniform
#   sbcbug   the same with a planted bug (HLM_TEST_PLANT_BUG = 10: the
#            shape of the inverse-gamma draw of seta^2 too large by 10):
#            it must fail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/bayes_lib.sh"

HC='group_sd = "half-cauchy"
group_sd_scale = 5'
# es NAME NP EXPANSION: eight schools, tau ~ half-Cauchy(0, 5)
es_px() { es "$1" "$2" "$HC" "expansion = \"$3\""; }

# compare WHAT JSON_PX JSON_AUX NAME...
compare() {
  local what=$1; shift
  if /usr/bin/python3 "$SRC/tests/bayes/px_compare.py" "$@" > "$TMP/cmp" 2>&1; then
    pass "$what: $(tail -1 "$TMP/cmp")"; cat "$TMP/cmp"
  else fail "$what: expansion against the auxiliary mixture"; cat "$TMP/cmp" >&2; fi
}

part_es() {
  es_px px1 1 parameter
  expect_in "$OUT" "drawn by parameter expansion" "expansion: said in the summary"
  grid px1 1
  es_px px2 2 parameter
  es_px px4 4 parameter
  local np
  for np in 2 4; do
    if cmp -s "$TMP/px1.csv" "$TMP/px$np.csv"; then
      pass "expansion: draws at $np ranks are bitwise those at 1"
    else fail "expansion: draws at $np ranks differ from 1 rank"; fi
  done
  es_px aux1 1 auxiliary
  expect_in "$OUT" "drawn by the auxiliary inverse-gamma mixture" "auxiliary: said in the summary"
  grid aux1 1
  compare "eight schools" "$TMP/px1.json" "$TMP/aux1.json" "(Intercept)" \
    "sd(school (Intercept))" "var(school (Intercept))"
  # the gain that motivates the expansion: the ESS of tau (a property of
  # these fixed-seed draws: 8897 against 1061 when written)
  if /usr/bin/python3 - "$TMP/px1.json" "$TMP/aux1.json" <<'EOP'
import json, sys
e = [{p["name"]: p["ess"] for p in json.load(open(f))["parameters"]}
     ["sd(school (Intercept))"] for f in sys.argv[1:]]
print(f"ESS of tau: {e[0]:.0f} expanded, {e[1]:.0f} auxiliary")
sys.exit(0 if e[0] > 2 * e[1] else 1)
EOP
  then pass "eight schools: the expansion at least doubles the ESS of tau"
  else fail "eight schools: the expansion does not double the ESS of tau"; fi
  sed -i 's/expansion = "auxiliary"/expansion = "centred"/' "$TMP/aux1.toml"
  run_ranks 2 "$TMP/aux1.toml"
  expect_rcs "bad expansion" "4 4"
  expect_in "$ERR" "expansion" "bad expansion: the key named"
}

part_crossed() {
  local np ex
  for ex in parameter:1 parameter:4 auxiliary:1; do
    np=${ex#*:}
    cat > "$TMP/pen${ex%:*}$np.toml" <<EOT
[data]
file = "$D/penicillin/penicillin.h5"
[model]
formula = "diameter ~ 1 + (1 | plate) + (1 | sample)"
method = "bayes"
[bayes]
iterations = 3000
warmup = 500
expansion = "${ex%:*}"
[bayes.prior]
group_sd = "half-cauchy"
group_sd_scale = 1
residual_shape = 1
residual_scale = 1
[output]
summary = "$TMP/pen${ex%:*}$np.json"
draws = "$TMP/pen${ex%:*}$np.csv"
EOT
    run_ranks "$np" "$TMP/pen${ex%:*}$np.toml"
    expect_rcs "penicillin, ${ex%:*}, $np ranks" "$(zeros "$np")"
  done
  if cmp -s "$TMP/penparameter1.csv" "$TMP/penparameter4.csv"; then
    pass "crossed expansion: draws at 4 ranks are bitwise those at 1"
  else fail "crossed expansion: draws at 4 ranks differ from 1 rank"; fi
  if Rscript "$SRC/tests/bayes/gibbs_reference.R" "$D/penicillin/penicillin.csv" \
       "diameter ~ 1 + (1 | plate) + (1 | sample)" - "$TMP/penparameter4.json" \
       ht:1:1 0 1 1 > "$TMP/cmp" 2>&1; then
    pass "crossed expansion: independent sampler: $(tail -1 "$TMP/cmp")"
  else fail "crossed expansion: independent sampler"; cat "$TMP/cmp" >&2; fi
  compare "penicillin" "$TMP/penparameter1.json" "$TMP/penauxiliary1.json" \
    "(Intercept)" "sd(plate (Intercept))" "sd(sample (Intercept))" "sd(Residual)"
}

part_mixed() {
  crossed_small mixed
  local fx="y ~ x + (1 | a) + (1 + x | b)" np
  for np in 2 1 3; do
    cat > "$TMP/mx$np.toml" <<EOT
[data]
file = "$TMP/x.h5"
cluster = "a"
[model]
formula = "$fx"
method = "bayes"
[bayes]
chains = 4
iterations = $([ "$np" = 2 ] && echo 2500 || echo 300)
warmup = $([ "$np" = 2 ] && echo 500 || echo 50)
seed = 4
[bayes.prior]
group_sd = "half-cauchy"
group_sd_scale = 1
residual_shape = 1
residual_scale = 1
[output]
summary = "$TMP/mx$np.json"
draws = "$TMP/mx$np.csv"
EOT
    run_ranks "$np" "$TMP/mx$np.toml"
    expect_rcs "mixed on $np ranks" "$(zeros "$np")"
  done
  if GIBBS_REF_NITER=8000 Rscript "$SRC/tests/bayes/gibbs_reference.R" "$TMP/x.csv" \
       "$fx" - "$TMP/mx2.json" ht:1:1 0 1 1 > "$TMP/cmp" 2>&1; then
    pass "mixed: independent sampler: $(tail -1 "$TMP/cmp")"
  else fail "mixed: independent sampler"; cat "$TMP/cmp" >&2; fi
  if cmp -s "$TMP/mx1.csv" "$TMP/mx3.csv"; then
    pass "mixed: draws at 3 ranks are bitwise those at 1"
  else fail "mixed: draws at 3 ranks differ from 1 rank"; fi
}

part_sbc() { sbc_passes "calibration, expansion" 30 half-t; }
part_sbcbug() { sbc_fails_with_bug 10 30 half-t; }

part_"${1:?usage: test_bayes_px.sh es|crossed|mixed|sbc|sbcbug}"
finish
