#!/usr/bin/env bash
# method = "bayes" (issue 11, docs/bayes.md).  One part per ctest entry:
#   exact      variances held (fixed_variances): draws of beta and summaries
#              of u against the exact Gaussian posterior computed densely in
#              R (exact_posterior.R): intercepts, nested, crossed, || slopes,
#              precision weights, a normal prior on beta; 1-4 ranks
#   reference  variances drawn: posterior means against an independent
#              Gibbs sampler written in R (gibbs_reference.R): seedlings (the
#              shipped config, gamma_2 - gamma_1), eight schools (known
#              SDs), penicillin (crossed)
#   exact2     (the same, continued: split to keep each part short)
#   reference2 (penicillin, apart to keep each part short)
#   ranks      the same seed gives bitwise identical draws at 1, 2, 3 and 4
#              ranks (crossed terms; nested terms and weights at 1 and 3)
#              and on a rerun; another seed gives other draws
#   sim        vague priors on a simulated data set vs the REML fit
#   results    the HDF5 results file against the CSV of the draws
#   errors     refusals: exit codes on every rank and the messages
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/rqueue.sh"
. "$(dirname "$0")/bayes_lib.sh"

# fixed_cfg NAME H5 FORMULA EXTRA_DATA EXTRA_BAYES: a held-variances config
fixed_cfg() {
  small_cfg "$1" "$2" "$3" "$4" "fixed_variances = true
$5"
}

# exact NAME NP DATASET FORMULA WEIGHTS [EXTRA_DATA] [EXTRA_BAYES] [PRIOR]:
# the fit, and its check against exact_posterior.R queued (rqueue.sh)
exact() {
  local name=$1 np=$2 set=$3 f=$4 w=$5
  fixed_cfg "$name" "$D/$set/$set.h5" "$f" "${6:-}" "${7:-}"
  run_ranks "$np" "$TMP/$name.toml"
  expect_rcs "$name on $np ranks" "$(zeros "$np")"
  rq_add "$name" "$SRC/tests/bayes/exact_posterior.R" "$D/$set/$set.csv" \
    "$f" "$w" "$TMP/$name.json" "$TMP/$name.csv" ${8:+"$8"}
}
# exact_check NAME NP: after rq_run, the outcome of exact's check
exact_check() {
  rq_check "$1" "$1 ($2 ranks): exact posterior" "$1 ($2 ranks): exact posterior"
}

part_exact() {
  exact seedlings 1 seedlings "weight ~ genotype + (1 | tray)" -
  exact pastes 2 pastes "strength ~ 1 + (1 | batch/cask)" -
  exact penicillin 3 penicillin "diameter ~ 1 + (1 | plate) + (1 | sample)" -
  rq_run
  exact_check seedlings 1
  exact_check pastes 2
  exact_check penicillin 3
}

part_exact2() {
  exact sleepdiag 4 sleepstudy_diag "Reaction ~ Days + (Days || Subject)" -
  exact weighted 2 seedlings_weighted "weight ~ genotype + (1 | tray)" w \
    'weights = "w"'
  exact prior 3 seedlings "weight ~ genotype + (1 | tray)" - "" \
    '[bayes.prior]
beta_mean = { genotypeB = 2 }
beta_variance = { genotypeB = 0.5, "(Intercept)" = 100 }' \
    'genotypeB=2:0.5,(Intercept)=0:100'
  rq_run
  exact_check sleepdiag 4
  exact_check weighted 2
  exact_check prior 3
}

# reference NAME NP CONFIG CSV FORMULA WEIGHTS VSHAPE VSCALE RSHAPE RSCALE:
# the fit, and its check against gibbs_reference.R queued (rqueue.sh)
reference() {
  local name=$1 np=$2 cfg=$3
  shift 3
  run_ranks "$np" "$cfg"
  expect_rcs "$name on $np ranks" "$(zeros "$np")"
  rq_add "$name" "$SRC/tests/bayes/gibbs_reference.R" "$1" "$2" "$3" \
    "$TMP/$name.json" "$4" "$5" "$6" "$7"
}
# reference_check NAME NP: after rq_run, the outcome of reference's check
reference_check() {
  rq_check "$1" "$1 ($2 ranks): independent Gibbs sampler" \
    "$1 ($2 ranks): independent Gibbs sampler"
}

part_reference() {
  # the shipped config, with its summary redirected here
  sed -e "s|^file = \"seedlings.h5\"|file = \"$D/seedlings/seedlings.h5\"|" \
    "$D/seedlings/seedlings_bayes.toml" > "$TMP/sb.toml"
  printf '[output]\nsummary = "%s"\n' "$TMP/sb.json" >> "$TMP/sb.toml"
  reference sb 2 "$TMP/sb.toml" "$D/seedlings/seedlings.csv" \
    "weight ~ genotype + (1 | tray)" - 0.001 0.001 0.001 0.001
  expect_in "$OUT" "B minus A" "seedlings: gamma_2 - gamma_1 is reported"
  if /usr/bin/python3 - "$TMP/sb.json" <<'PYEOF'
import json, sys
p = {e["name"]: e for e in json.load(open(sys.argv[1]))["parameters"]}
a, b = p["B minus A"], p["genotypeB"]
sys.exit(0 if all(a[k] == b[k] for k in ("mean", "sd", "q2.5", "q97.5")) else 1)
PYEOF
  then pass "seedlings: the contrast's posterior is genotypeB's"
  else fail "seedlings: the contrast's posterior differs from genotypeB's"; fi
  cat > "$TMP/es.toml" <<EOT
[data]
file = "$D/eightschools/eightschools.h5"
known_sd = "sigma"
[model]
formula = "y ~ 1 + (1 | school)"
method = "bayes"
[bayes]
iterations = 2500
warmup = 500
[bayes.prior]
variance_shape = 2
variance_scale = 100
[output]
summary = "$TMP/es.json"
EOT
  reference es 3 "$TMP/es.toml" "$D/eightschools/eightschools.csv" \
    "y ~ 1 + (1 | school)" sd:sigma 2 100 1 1
  rq_run
  reference_check sb 2
  reference_check es 3
}

part_reference2() {
  cat > "$TMP/pen.toml" <<EOT
[data]
file = "$D/penicillin/penicillin.h5"
[model]
formula = "diameter ~ 1 + (1 | plate) + (1 | sample)"
method = "bayes"
[bayes]
iterations = 2000
warmup = 500
[bayes.prior]
variance_shape = 1
variance_scale = 1
residual_shape = 1
residual_scale = 1
[output]
summary = "$TMP/pen.json"
EOT
  reference pen 4 "$TMP/pen.toml" "$D/penicillin/penicillin.csv" \
    "diameter ~ 1 + (1 | plate) + (1 | sample)" - 1 1 1 1
  rq_run
  reference_check pen 4
}

part_ranks() {
  local f="diameter ~ 1 + (1 | plate) + (1 | sample)" np
  for np in 1 2 3 4; do
    fixed_cfg "r$np" "$D/penicillin/penicillin.h5" "$f" "" ""
    sed -i -e 's/^fixed_variances = true//' -e 's/^iterations = 1100/iterations = 300/' \
      "$TMP/r$np.toml"
    run_ranks "$np" "$TMP/r$np.toml"
    expect_rcs "penicillin on $np ranks" "$(zeros "$np")"
  done
  for np in 2 3 4; do
    if cmp -s "$TMP/r1.csv" "$TMP/r$np.csv"; then
      pass "draws at $np ranks are bitwise those at 1 rank"
    else fail "draws at $np ranks differ from those at 1 rank"; fi
  done
  # nested terms (the tree absorption) and precision weights too
  for np in 1 3; do
    fixed_cfg "n$np" "$D/pastes/pastes.h5" "strength ~ 1 + (1 | batch/cask)" "" ""
    fixed_cfg "w$np" "$D/seedlings_weighted/seedlings_weighted.h5" \
      "weight ~ genotype + (1 | tray)" 'weights = "w"' ""
    sed -i -e 's/^fixed_variances = true//' -e 's/^iterations = 1100/iterations = 300/' \
      "$TMP/n$np.toml" "$TMP/w$np.toml"
    run_ranks "$np" "$TMP/n$np.toml"
    run_ranks "$np" "$TMP/w$np.toml"
  done
  if cmp -s "$TMP/n1.csv" "$TMP/n3.csv" && cmp -s "$TMP/w1.csv" "$TMP/w3.csv"; then
    pass "nested terms, weights: draws at 3 ranks are bitwise those at 1"
  else fail "nested terms or weights: draws at 3 ranks differ from 1 rank"; fi
  run_ranks 2 "$TMP/r2.toml"
  if cmp -s "$TMP/r1.csv" "$TMP/r2.csv"; then pass "a rerun gives the same draws"
  else fail "a rerun gives other draws"; fi
  # thin = 3 keeps draws 1, 4, 7, ... of the same chains
  sed -e 's/^seed = 5/seed = 5\nthin = 3/' -e "s|r1.csv|t3.csv|" \
    -e "s|r1.json|t3.json|" "$TMP/r1.toml" > "$TMP/t3.toml"
  run_ranks 2 "$TMP/t3.toml"
  awk -F, 'NR == 1 || ($2 - 1) % 3 == 0' "$TMP/r1.csv" | cut -d, -f1,3- > "$TMP/e3"
  cut -d, -f1,3- "$TMP/t3.csv" > "$TMP/g3"
  if [ "$(wc -l < "$TMP/g3")" -eq $((2 * 67 + 1)) ] && cmp -s "$TMP/e3" "$TMP/g3"; then
    pass "thin = 3 keeps every third draw (67 per chain)"
  else fail "thin = 3 does not keep every third draw"; fi
  sed -i 's/^seed = 5/seed = 6/' "$TMP/r2.toml"
  run_ranks 2 "$TMP/r2.toml"
  if ! cmp -s "$TMP/r1.csv" "$TMP/r2.csv"; then pass "another seed gives other draws"
  else fail "another seed gives the same draws"; fi
}

part_sim() {
  # 6000 rows in 300 schools crossed with 12 raters, vague priors
  # (IG(0.001, 0.001), flat beta): check_sim.py states the allowance.
  cat > "$TMP/sim.toml" <<EOT
[simulate]
rows = 6000
clusters = 300
covariates = 2
slope_sd = 0
crossed_levels = 12
seed = 3
EOT
  "$MPIEXEC" -n 2 "$HLM" simulate "$TMP/sim.toml" "$TMP/sim.h5" > /dev/null 2>&1 ||
    fail "simulate"
  local f="y ~ x1 + x2 + (1 | school) + (1 | rater)" m
  for m in reml bayes; do
    cat > "$TMP/$m.toml" <<EOT
[data]
file = "$TMP/sim.h5"
[model]
formula = "$f"
method = "$m"
[bayes]
chains = 4
iterations = 300
warmup = 80
[output]
summary = "$TMP/$m.json"
EOT
    [ "$m" = reml ] && sed -i '/^\[bayes\]/,/^warmup/d' "$TMP/$m.toml"
    run_ranks 2 "$TMP/$m.toml"
    expect_rcs "simulated data, $m" "0 0"
  done
  if /usr/bin/python3 "$SRC/tests/bayes/check_sim.py" "$TMP/reml.json" \
       "$TMP/bayes.json" > "$TMP/cmp" 2>&1; then
    pass "vague priors vs REML: $(tail -1 "$TMP/cmp")"
  else fail "vague priors vs REML"; cat "$TMP/cmp" >&2; fi
}

part_results() {
  # [output] results: the HDF5 file (read with h5dump, not with our code)
  # holds the same draws as the CSV, bit for bit, and summaries of them
  fixed_cfg h5 "$D/seedlings/seedlings.h5" "weight ~ genotype + (1 | tray)" \
    "" ""
  sed -i -e 's/^fixed_variances = true//' "$TMP/h5.toml"
  printf 'results = "%s"\n' "$TMP/h5.h5" >> "$TMP/h5.toml"
  run_ranks 3 "$TMP/h5.toml"
  expect_rcs "results file on 3 ranks" "0 0 0"
  h5dump -d /bayes/draws -y -w 0 -m %.17g -o "$TMP/d.txt" "$TMP/h5.h5" >/dev/null
  h5dump -d /bayes/summary -y -w 0 -m %.17g -o "$TMP/s.txt" "$TMP/h5.h5" >/dev/null
  h5dump -d /bayes/parameters -y -w 0 -o "$TMP/p.txt" "$TMP/h5.h5" >/dev/null
  h5dump -a /method "$TMP/h5.h5" > "$TMP/m.txt"
  expect_in "$TMP/m.txt" '"bayes"' "results file: method attribute"
  if /usr/bin/python3 - "$TMP/h5.csv" "$TMP/d.txt" "$TMP/s.txt" "$TMP/p.txt" \
       <<'PYEOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
head, body = rows[0][2:], rows[1:]
num = lambda f: [float(x) for x in open(f).read().replace(",", " ").split()]
draws, summ = num(sys.argv[2]), num(sys.argv[3])
names = [x.strip().strip('"') for x in open(sys.argv[4]).read().split('", "')]
n, k = len(body), len(head)
ok = names == head and len(draws) == n * k
for i in range(k):
    col = [float(r[2 + i]) for r in body]
    ok = ok and draws[i * n:(i + 1) * n] == col
    mean = sum(col) / n
    ok = ok and abs(summ[8 * i] - mean) <= 1e-12 * max(1.0, abs(mean))
sys.exit(0 if ok else 1)
PYEOF
  then pass "results file: draws as in the CSV, summary means of the draws"
  else fail "results file: draws or summary differ from the CSV"; fi
  run_ranks 2 "$TMP/h5.toml"
  expect_rcs "an existing results file" "6 6"
}

# refuse NAME NP CODE PATTERN FORMULA [EXTRA]: every rank exits CODE
refuse() {
  cat > "$TMP/e.toml" <<EOT
[data]
file = "$D/sleepstudy_diag/sleepstudy_diag.h5"
[model]
formula = "$5"
method = "bayes"
${6:-}
EOT
  run_ranks "$2" "$TMP/e.toml"
  expect_rcs "$1" "$(same "$3" "$2")"
  expect_in "$ERR" "$4" "$1: message"
}

part_errors() {
  local f="Reaction ~ Days + (Days || Subject)"
  # correlated effects fit (test_bayes_iw.sh); their prior's keys checked
  refuse "wishart_df too small" 2 4 'wishart_df = 0.5: the inverse-Wishart prior of the 2 correlated effects of `Subject` needs wishart_df > 1' \
    "Reaction ~ Days + (Days | Subject)" "[bayes.prior]
wishart_df = 0.5"
  refuse "negative wishart_df" 2 4 'e.toml:7:14: `wishart_df` must be positive' \
    "Reaction ~ Days + (Days | Subject)" "[bayes.prior]
wishart_df = -3"
  refuse "zero wishart_scale" 1 4 '`wishart_scale` must be positive' \
    "Reaction ~ Days + (Days | Subject)" "[bayes.prior]
wishart_scale = 0"
  # correlated effects of a crossed (global) term: test_bayes_iw.sh crossed
  refuse "distributed global system" 2 3 "not implemented yet (issue 15)" \
    "$f" "[estimation]
scalapack_threshold = 0"
  refuse "fitted values" 3 3 "not implemented yet (issue 11)" "$f" \
    "[output]
results = \"$TMP/r.h5\"
fitted = true"
  refuse "checkpoints" 2 3 "not implemented yet (issue 11)" "$f" \
    "[checkpoint]
path = \"$TMP/c.h5\""
  refuse "profile" 2 4 "belongs to likelihood fits" "$f" \
    "[inference]
profile = true"
  refuse "unknown prior name" 2 4 'e.toml:7:15: [bayes.prior] beta_mean names `Dayz`' \
    "$f" "[bayes.prior]
beta_mean = { Dayz = 1 }"
  refuse "non-positive prior variance" 2 4 'beta_variance of `Days` must be a positive' \
    "$f" "[bayes.prior]
beta_variance = { Days = -1 }"
  refuse "warm-up too long" 2 4 "must be larger than warmup" "$f" \
    "[bayes]
iterations = 100
warmup = 100"
  refuse "negative prior scale" 1 4 '`variance_scale` must be positive' "$f" \
    "[bayes.prior]
variance_scale = -1"
  cat > "$TMP/e.toml" <<EOT
[data]
file = "$D/sleepstudy_diag/sleepstudy_diag.h5"
[model]
formula = "$f"
[output]
draws = "$TMP/d.csv"
EOT
  run_ranks 2 "$TMP/e.toml"
  expect_rcs "draws without bayes" "4 4"
  expect_in "$ERR" "Bayesian fit only" "draws without bayes: message"
}

part_"${1:?usage: test_bayes.sh exact|exact2|reference|reference2|ranks|sim|results|errors}"
finish
