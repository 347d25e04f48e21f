#!/usr/bin/env bash
# Satterthwaite df with known residual SDs (issue 9): sigma = 1 is not a
# parameter, so the df come from derivatives in theta alone.  The seedling
# data with known SDs s_i = 1 + 0.25 (seedling mod 4); the reference is
# computed here with numpy from the dense REML criterion
#   log|V| + log|X'V^-1 X| + r'V^-1 r,  V = theta^2 Z Z' + diag(s^2),
# its theta-hat (golden section), and numerical derivatives (central
# differences with Richardson extrapolation) of it and of (X'V^-1 X)^-1:
#   df_j = 2 Var_j^2 / (g_j A g_j'),  A = 2 / H,  g_j = d Var_j / d theta.
# At 1, 2 and 4 ranks, within 1e-5 relative.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

"$PY" - "$SRC/data/seedlings/seedlings.csv" "$TMP/ks.csv" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["genotype", "tray", "weight", "sd"])
    for r in rows:
        w.writerow([r["genotype"], r["tray"], r["weight"],
                    1.0 + 0.25 * (int(r["seedling"]) % 4)])
PYEOF
# through mpirun, as every test does: a bare singleton's LeakSanitizer
# tracer crashes ("Tracer caught signal 11") under Open MPI in the
# sanitizer build
run_ranks 1 import "$TMP/ks.csv" "$TMP/ks.h5"
expect_rcs "import the known-SD data" "0"

for np in 1 2 4; do
  cat >"$TMP/ks.toml" <<EOT
[data]
file = "$TMP/ks.h5"
cluster = "tray"
known_sd = "sd"
[model]
formula = "weight ~ genotype + (1 | tray)"
[output]
summary = "$TMP/ks-$np.json"
EOT
  run_ranks "$np" "$TMP/ks.toml"
  expect_rcs "known SDs, Satterthwaite df, $np ranks" \
    "$(printf '0 %.0s' $(seq "$np") | sed 's/ $//')"
  if grep -q "not implemented" "$OUT"; then
    fail "the df still fall back to z"
  fi
  if "$PY" - "$TMP/ks.csv" "$TMP/ks-$np.json" <<'PYEOF'; then
import csv, json, sys
import numpy as np
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
y = np.array([float(r["weight"]) for r in rows])
s = np.array([float(r["sd"]) for r in rows])
X = np.column_stack([np.ones(len(y)), [r["genotype"] == "B" for r in rows]])
trays = sorted({r["tray"] for r in rows})
Z = np.array([[r["tray"] == t for t in trays] for r in rows], float)

def parts(th):
    V = th * th * Z @ Z.T + np.diag(s * s)
    Vi = np.linalg.inv(V)
    XVX = X.T @ Vi @ X
    b = np.linalg.solve(XVX, X.T @ Vi @ y)
    r = y - X @ b
    dev = (np.linalg.slogdet(V)[1] + np.linalg.slogdet(XVX)[1] + r @ Vi @ r)
    return dev, np.linalg.inv(XVX)

def golden(f, a, b, tol=1e-12):
    g = (5 ** 0.5 - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    while b - a > tol:
        if f(c) < f(d):
            b, d = d, c
            c = b - g * (b - a)
        else:
            a, c = c, d
            d = a + g * (b - a)
    return (a + b) / 2

def richardson(est, h):  # est(h) -> value; four halvings, as numDeriv
    a = [est(h / 2 ** k) for k in range(4)]
    for m in range(1, 4):
        a = [(a[k + 1] * 4 ** m - a[k]) / (4 ** m - 1) for k in range(len(a) - 1)]
    return a[0]

th = golden(lambda t: parts(t)[0], 1e-3, 10.0)
dev = lambda t: parts(t)[0]
H = richardson(lambda h: (dev(th + h) - 2 * dev(th) + dev(th - h)) / h ** 2,
               0.1 * th)
Vb = parts(th)[1]
got = json.load(open(sys.argv[2]))
bad = []
if abs(got["theta"][0] - th) > 1e-5 * th:
    bad.append(f"theta {got['theta'][0]!r} vs {th!r}")
for j, name in enumerate(["(Intercept)", "genotypeB"]):
    g = richardson(lambda h: (parts(th + h)[1][j, j] - parts(th - h)[1][j, j])
                   / (2 * h), 1e-4 * th)
    df = 2 * Vb[j, j] ** 2 / (g * g * 2 / H)
    ours = got["inference"]["fixed"][name]["df"]
    print(f"{name}: df {ours!r}, reference {df!r}")
    if abs(ours - df) > 1e-5 * df:
        bad.append(f"df of {name}: {ours!r} vs {df!r}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
    pass "known SDs at $np ranks: Satterthwaite df as computed independently"
  else
    fail "known SDs at $np ranks: Satterthwaite df differ"
  fi
done
finish
