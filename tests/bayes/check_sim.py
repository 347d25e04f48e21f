"""check_sim.py REML.json BAYES.json: with vague priors (flat on beta,
inverse-gamma(0.001, 0.001) on the variances) on a large data set the
posterior means must agree with the REML estimates within 4 Monte Carlo
SEs (from hlm-mpi's ESS, which must be >= 400) plus the expected gap
between a posterior mean and REML:
  fixed effects: 0.1 REML SE (the posterior integrates over the variances;
    with flat priors the gap is O(SE / sqrt(levels)));
  a variance with m levels (n rows for the residual): 3 / m relative.
    Its posterior is close to a scaled inverse chi-square with m degrees
    of freedom, whose mean exceeds its mode (about the REML estimate) by
    a factor (m + 2) / (m - 2) = 1 + 4 / m + ..., less the REML degrees of
    freedom correction; 3 / m covers that, and the prior (scale 0.001
    against variances of order 0.1-1) moves the mean by < 0.01 / m."""
import json
import sys

reml, bayes = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
post = {p["name"]: p for p in bayes["parameters"]}
ngrps = reml["ngrps"]
bad, worst, n = [], 0.0, 0
def check(name, est, allowance):
    global worst, n
    p = post[name]
    if p["ess"] < 400:
        bad.append(f"{name}: ESS {p['ess']:.0f} < 400")
    dev = abs(p["mean"] - est)
    z = dev / (4 * p["mcse"] + allowance)
    worst = max(worst, z)
    n += 1
    print(f"{name:28s} REML {est:.6g}  posterior mean {p['mean']:.6g} "
          f"(MCSE {p['mcse']:.2g}, allowance {allowance:.2g})")
    if z >= 1:
        bad.append(f"{name}: |{p['mean']:.6g} - {est:.6g}| = {dev:.3g} "
                   f">= 4 MCSE + {allowance:.3g}")
for name, b in reml["fixef"].items():
    check(name, b, 0.1 * reml["fixef_se"][name])
for v in reml["varcorr"]:
    m = ngrps.get(v["grp"], reml.get("nobs", 0))
    check(f"var({v['grp']} {v['var1']})" if v["grp"] != "Residual"
          else "var(Residual)", v["vcov"], 3.0 / m * v["vcov"])
for b in bad:
    print("FAIL", b)
print(f"{n} posterior means within 4 MCSE + allowance "
      f"(largest: {worst:.2f} of the bound)")
sys.exit(1 if bad else 0)
