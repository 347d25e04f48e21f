#!/usr/bin/env bash
# Issue 13: survey weights by multilevel pseudo-ML and the sandwich, at NP
# ranks (the first argument), against references computed independently
# by survey_ref.py (numpy, marginal normal densities of each cluster):
# all weights 1 = unweighted ML; integer weight2 = duplicated clusters;
# integer weight1 with scaling none = duplicated rows; weight2 x 7.3
# changes neither the estimates nor the robust SEs; with size and
# effective scaling the criterion is the brute-force pseudo-log-likelihood
# at a maximum, and the sandwich with PSUs and strata is the marginal
# formula's (with a finite population correction, from counts or
# rates, too); with no weights the sandwich is CR0 x G/(G-1); se = "model"
# reports the model-based SEs.  To 1e-8.  The joint sandwich of the
# variance components against numerical scores and Hessian of the
# brute-force pseudo-log-likelihood (to 1e-6), unchanged by weight2 x 7.3
# and, with all weights 1, by a constant weight2.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
REF=$SRC/tests/cli/survey_ref.py
NP=${1:-1}

"$PY" "$REF" make "$TMP" || fail "making the data"
for f in base dupcl duprow; do
  run_ranks 1 import "$TMP/$f.csv" "$TMP/$f.h5" # mpirun: see test_known_sd_df
  expect_rcs "import $f" "0"
done

# fit NAME DATA [SURVEY KEYS...]: fit y ~ x + (1 + x | g) ($FORMULA when
# set) by ML at NP
# ranks (the unweighted references at $RNP ranks when set)
fit() {
  local name=$1 data=$2 np=${RNP:-$NP}
  shift 2
  {
    printf '[data]\nfile = "%s"\ncluster = "g"\n' "$TMP/$data.h5"
    printf '[model]\nformula = "%s"\nmethod = "ml"\n' \
      "${FORMULA:-y ~ x + (1 + x | g)}"
    printf '[estimation]\ntolerance = 1e-12\n'
    printf '[output]\nsummary = "%s"\n' "$TMP/$name-$NP.json"
    if [ $# -gt 0 ]; then
      printf '[survey]\n'
      printf '%s\n' "$@"
    fi
  } >"$TMP/$name.toml"
  run_ranks "$np" "$TMP/$name.toml"
  expect_rcs "$name at $np ranks" "$(printf '0 %.0s' $(seq "$np") | sed 's/ $//')"
}

RNP=1 fit ml base
fit ones base 'weight1 = "one"' 'weight2 = "one"' 'scaling = "none"'
fit w2int base 'weight2 = "w2"'
RNP=1 fit dupcl dupcl
fit w1int base 'weight1 = "w1"' 'scaling = "none"'
RNP=1 fit duprow duprow
fit w2r base 'weight2 = "w2r"' 'weight1 = "w1r"' 'psu = "psu"' \
  'strata = "str"'
fit w2c base 'weight2 = "w2c"' 'weight1 = "w1r"' 'psu = "psu"' \
  'strata = "str"'
fit effective base 'weight2 = "w2r"' 'weight1 = "w1r"' \
  'scaling = "effective"' 'psu = "psu"' 'strata = "str"'
fit fpcn base 'weight2 = "w2r"' 'weight1 = "w1r"' 'psu = "psu"' \
  'strata = "str"' 'fpc = "fpn"'
fit fpcr base 'weight2 = "w2r"' 'weight1 = "w1r"' 'psu = "psu"' \
  'strata = "str"' 'fpc = "fpr"'
fit cr0 base 'psu = "g"'
FORMULA="yz ~ 1 + (1 | g)" fit boundary base 'weight2 = "w2r"'
fit c73 base 'weight1 = "one"' 'weight2 = "c73"' 'scaling = "none"'
fit model base 'weight2 = "w2r"' 'weight1 = "w1r"' 'psu = "psu"' \
  'strata = "str"' 'se = "model"'

if "$PY" "$REF" check "$TMP" "$NP"; then
  pass "survey identities and references at $NP ranks"
else
  fail "survey identities and references at $NP ranks"
fi
finish
