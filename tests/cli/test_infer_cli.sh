#!/usr/bin/env bash
# Inference end to end (issue 9): the shipped seedling config with its
# [[contrast]] at 1, 2 and 4 ranks (df, SE against lmerTest / lme4 in
# data/seedlings/lme4.json); residual and asymptotic df; a contrast naming
# an unknown fixed effect fails on every rank (1 and 3) with file:line:col
# and a did-you-mean.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

check_json() { # check_json SUMMARY.json
  "$PY" - "$1" "$SRC/data/seedlings/lme4.json" <<'PYEOF'
import json, sys
got, ref = json.load(open(sys.argv[1]))["inference"], json.load(open(sys.argv[2]))
bad = []
def close(a, b, rel, what):
    if abs(a - b) > rel * abs(b):
        bad.append(f"{what}: {a!r} vs {b!r}")
c = got["contrasts"][0]
close(c["df"], ref["satterthwaite_df_REML"]["genotypeB"], 1e-4, "contrast df")
close(c["se"], ref["REML"]["fixef_se"]["genotypeB"], 1e-6, "contrast SE")
close(c["estimate"], ref["REML"]["fixef"]["genotypeB"], 1e-6, "contrast estimate")
for k, v in ref["satterthwaite_df_REML"].items():
    close(got["fixed"][k]["df"], v, 1e-4, "df " + k)
if c["name"] != "B minus A" or c["coefficients"] != {"genotypeB": 1.0}:
    bad.append("contrast name/coefficients " + repr(c))
print("\n".join(bad) if bad else "agrees with lmerTest")
sys.exit(1 if bad else 0)
PYEOF
}

seed() { # seed FILE EXTRA-TOML
  cat > "$1" <<EOT
[data]
file = "$SRC/data/seedlings/seedlings.h5"
cluster = "tray"
[model]
formula = "weight ~ genotype + (1 | tray)"
[output]
summary = "$TMP/s.json"
$2
EOT
}

for np in 1 2 4; do
  seed "$TMP/ok.toml" "$(sed -n '/^\[\[contrast\]\]/,$p' "$SRC/data/seedlings/seedlings.toml")"
  run_ranks $np "$TMP/ok.toml"
  expect_rcs "seedling contrast on $np ranks" "$(printf '0 %.0s' $(seq $np) | sed 's/ $//')"
  expect_in "$OUT" "B minus A" "the contrast is printed ($np ranks)"
  expect_in "$OUT" "6.0688" "its Satterthwaite df 6.0688 is printed ($np ranks)"
  if check_json "$TMP/s.json" > "$TMP/cmp" 2>&1; then pass "JSON agrees with lmerTest ($np ranks)"
  else fail "JSON ($np ranks): $(cat "$TMP/cmp")"; fi
done
run_ranks 2 "$SRC/data/seedlings/seedlings.toml"
expect_rcs "the shipped seedling example" "0 0"
expect_in "$OUT" "B minus A" "the shipped example prints its contrast"

seed "$TMP/res.toml" $'[inference]\ndf = "residual"\nconfidence_level = 0.9'
run_ranks 2 "$TMP/res.toml"
expect_rcs "residual df" "0 0"
expect_in "$OUT" "54.0000" "residual df n - p = 54"
expect_in "$OUT" "5 %" "90% interval bounds"
seed "$TMP/z.toml" $'[inference]\ndf = "asymptotic"'
run_ranks 2 "$TMP/z.toml"
expect_rcs "asymptotic df" "0 0"
expect_in "$OUT" "z value" "z tests"

seed "$TMP/bad.toml" $'[[contrast]]\nname = "typo"\ncoefficients = { genotypB = 1 }'
for np in 1 3; do
  run_ranks $np "$TMP/bad.toml"
  expect_rcs "unknown fixed effect on $np ranks" "$(printf '4 %.0s' $(seq $np) | sed 's/ $//')"
  expect_in "$ERR" "bad.toml:10:18:" "names file:line:col ($np ranks)"
  expect_in "$ERR" "did you mean \`genotypeB\`" "suggests genotypeB ($np ranks)"
  expect_in "$ERR" "(Intercept), genotypeB" "lists the fixed effects ($np ranks)"
done
finish
