#!/usr/bin/env bash
# Likelihood-ratio tests end to end (issue 9): [[lrt]] with `drop` and
# `formula` on sleepstudy (drop Days: ML refit; (Days | Subject) against
# (1 | Subject): REML, mixture chi-square(1)/chi-square(2)), pastes (drop
# the cask term: REML, mixture chi-square(0)/chi-square(1)) and oats (drop
# nitro:Variety: ML, 2 df) at 1, 2 and 4 ranks, against lme4's anova(m0, m1)
# in data/<set>/lme4_lrt.json (data/lrt_reference.R); the mixture p-values
# against their closed forms; the same numbers at every rank count; models
# that are not nested and terms that are not in the model fail on every
# rank with the config file and the test's name.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

check_json() { # check_json SUMMARY.json REF.json FIRST.json
  "$PY" - "$@" <<'PYEOF'
import json, math, sys
got = json.load(open(sys.argv[1]))["lrt"]
ref = json.load(open(sys.argv[2]))["tests"]
first = json.load(open(sys.argv[3]))["lrt"] if len(sys.argv) > 3 else got
bad = []
def close(a, b, rel, what):
    if not abs(a - b) <= rel * abs(b):
        bad.append(f"{what}: {a!r} vs {b!r}")
def q(k, x):  # P(chi-square(k) > x), k = 0, 1, 2
    return (x <= 0) * 1.0 if k == 0 else (math.erfc(math.sqrt(x / 2)) if k == 1 else math.exp(-x / 2))
if len(got) != len(ref):
    bad.append(f"{len(got)} tests, lme4 {len(ref)}")
for g, r, f in zip(got, ref, first):
    n = r["name"]
    if g["name"] != n or g["method"] != r["method"]:
        bad.append(f"{n}: name/method {g['name']}/{g['method']} vs {r['method']}")
    for k, m in enumerate(("model0", "model1")):
        close(g[m]["deviance"], r["deviance"][k], 1e-7, n + " deviance " + m)
        close(g[m]["AIC"], r["AIC"][k], 1e-7, n + " AIC " + m)
        close(g[m]["logLik"], r["logLik"][k], 1e-7, n + " logLik " + m)
        if g[m]["npar"] != r["npar"][k]:
            bad.append(f"{n}: npar {m} {g[m]['npar']} vs {r['npar'][k]}")
    close(g["chisq"], r["chisq"], 1e-6, n + " Chisq")
    close(g["p_chisq"], r["p"], 1e-5, n + " p")
    if g["df"] != r["df"]:
        bad.append(f"{n}: Df {g['df']} vs {r['df']}")
    mix = g["mixture_df"]
    want = r["p"] if mix is None else 0.5 * q(mix[0], r["chisq"]) + 0.5 * q(mix[1], r["chisq"])
    close(g["p"], want, 1e-5, n + " reference p")
    for key in ("chisq", "p"):
        close(g[key], f[key], 1e-9, n + " across rank counts " + key)
    print(f"{n}: Chisq {g['chisq']:.10g} (lme4 {r['chisq']:.10g}), p {g['p']:.6g}, {g['reference']}")
print("\n".join(bad) if bad else "agrees with lme4")
sys.exit(1 if bad else 0)
PYEOF
}

config() { # config FILE SET FORMULA EXTRA-TOML
  cat > "$1" <<EOT
[data]
file = "$SRC/data/$2/$2.h5"
[model]
formula = "$3"
[output]
summary = "$TMP/$2.json"
$4
EOT
}

config "$TMP/sleepstudy.toml" sleepstudy "Reaction ~ Days + (Days | Subject)" '
[[lrt]]
name = "no Days"
drop = "Days"
[[lrt]]
name = "no slope"
formula = "Reaction ~ Days + (1 | Subject)"'
config "$TMP/pastes.toml" pastes "strength ~ 1 + (1 | batch/cask)" '
[[lrt]]
name = "no cask"
drop = "(1 | cask:batch)"'
config "$TMP/oats.toml" oats "yield ~ nitro * Variety + (1 | Block/Variety)" '
[[lrt]]
name = "no interaction"
drop = "nitro:Variety"'

for set in sleepstudy pastes oats; do
  for np in 1 2 4; do
    run_ranks "$np" "$TMP/$set.toml"
    expect_rcs "$set lrt at $np ranks" "$(printf '0 %.0s' $(seq "$np") | sed 's/ $//')"
    expect_in "$OUT" "reference distribution:" "$set: reference distribution printed"
    [ "$np" = 1 ] && cp "$TMP/$set.json" "$TMP/$set.first.json"
    if check_json "$TMP/$set.json" "$SRC/data/$set/lme4_lrt.json" "$TMP/$set.first.json"; then
      pass "$set at $np ranks agrees with lme4"
    else
      fail "$set at $np ranks"
    fi
  done
done

# Not nested: a random term the model does not have.
config "$TMP/bad.toml" sleepstudy "Reaction ~ Days + (1 | Subject)" '
[[lrt]]
name = "other"
formula = "Reaction ~ 1 + (Days | Subject)"'
run_ranks 2 "$TMP/bad.toml"
expect_rcs "not nested fails on every rank" "4 4"
expect_in "$ERR" '[[lrt]] "other": the models' "not nested: names the test"
expect_in "$ERR" 'are not nested' "not nested: says so"
config "$TMP/bad2.toml" sleepstudy "Reaction ~ Days + (Days | Subject)" '
[[lrt]]
name = "typo"
drop = "Dayz"'
run_ranks 2 "$TMP/bad2.toml"
expect_rcs "unknown term fails on every rank" "4 4"
expect_in "$ERR" 'is not a term of the model' "unknown term: says so"
finish
