#!/usr/bin/env bash
# The group-means model with known variances (eight schools): theta_j ~
# N(mu, tau^2), y_j ~ N(theta_j, sigma_j^2), sigma_j given ([data] known_sd).
# REML and ML at 1-4 ranks against data/eightschools/reference.json (found
# by direct maximization, independently of hlm-mpi): tau^2 = 0 on the
# boundary, mu, its SE, the BLUPs and the logLik.  HLM_TEST_SCALAPACK_THRESHOLD
# sets [estimation] scalapack_threshold (0: the distributed path, issue 15).
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

for method in reml ml; do
  for np in 1 2 3 4; do
    cfg=$TMP/es-$method.toml json=$TMP/es-$method-$np.json
    cat > "$cfg" <<EOT
[data]
file = "$SRC/data/eightschools/eightschools.h5"
known_sd = "sigma"
[model]
formula = "y ~ 1 + (1 | school)"
method = "$method"
[estimation]
scalapack_threshold = ${HLM_TEST_SCALAPACK_THRESHOLD:-2000}
[output]
summary = "$json"
EOT
    run_ranks "$np" "$cfg"
    expect_rcs "eightschools $method on $np ranks" \
      "$(printf '0 %.0s' $(seq "$np") | sed 's/ $//')"
    if "$PY" - "$json" "$SRC/data/eightschools/reference.json" \
         "$(echo $method | tr a-z A-Z)" > "$TMP/cmp" 2>&1 <<'PYEOF'
import json, sys
got, ref = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))[sys.argv[3]]
bad = []
def close(a, b, rel, what, absol=1e-7):
    if abs(a - b) > max(rel * abs(b), absol):
        bad.append(f"{what}: {a!r} vs reference {b!r}")
close(got["fixef"]["(Intercept)"], ref["mu"], 1e-6, "mu")
close(got["fixef_se"]["(Intercept)"], ref["mu_se"], 1e-6, "SE of mu")
close(got["logLik"], ref["logLik"], 1e-7, "logLik")
tau2 = [v["vcov"] for v in got["varcorr"] if v["grp"] == "school"][0]
close(tau2, ref["tau2"], 1e-5, "tau^2")
u = got["ranef"][0]["values"][0]
for k, (a, b) in enumerate(zip(u, ref["u_blup"])):
    close(a, b, 1e-5, f"BLUP {k}")
if len(u) != len(ref["u_blup"]):
    bad.append("number of BLUPs")
if not got["singular"]:
    bad.append("not reported as a boundary fit")
print("\n".join(bad) if bad else "agrees with the reference")
sys.exit(1 if bad else 0)
PYEOF
    then pass "eightschools $method on $np ranks agrees with reference.json"
    else fail "eightschools $method on $np ranks: $(cat "$TMP/cmp")"; fi
  done
done
finish
