#!/usr/bin/env python3
"""sbc.py HLM WORKDIR NREP [PRIOR]: simulation-based calibration (Talts et al.
2018) of method = "bayes" on a small model, independent of hlm-mpi's own
numbers: only its posterior draws are read.

Model: y_ij = b0 + b1 x_ij + u_j + e_ij, 6 groups of 5 rows, with the
priors hlm-mpi is told: (b0, b1) ~ N(0, [[1, 0.5], [0.5, 1]]) (a full
beta_covariance), tau^2 ~ IG(3, 2) and sigma^2 ~ IG(3, 2).  NREP times
(numpy seed 20261126): draw the truth from the prior, the data given the
truth, fit (1 chain, 100 warm-up, 49 draws kept, thinned by 10 so that
they are nearly independent), and take the rank of the truth among the
49 draws (0..49).  If the sampler draws from the posterior, each rank is
uniform on 0..49: a chi-square test on 5 bins of 10 ranks for b0, b1,
tau^2 and sigma^2.  Exit 0 when every p-value is above 0.001, 1 if any is
below (printed either way), 2 if a run fails.

PRIOR (default "ig") "half-t" or "half-t-aux": tau ~ half-t(3, 1) instead
(tau = |t_3|, group_sd = "half-t"), drawn by parameter expansion or by
the auxiliary mixture ([bayes] expansion); the ranks of tau^2 are those
of tau.
"""
import csv
import math
import os
import subprocess
import sys

import h5py
import numpy as np

hlm, work, nrep = sys.argv[1], sys.argv[2], int(sys.argv[3])
prior = sys.argv[4] if len(sys.argv) > 4 else "ig"
assert prior in ("ig", "half-t", "half-t-aux"), prior
group_prior = ("variance_shape = 3\nvariance_scale = 2" if prior == "ig" else
               'group_sd = "half-t"\ngroup_sd_scale = 1\ngroup_sd_df = 3')
expansion = "auxiliary" if prior == "half-t-aux" else "parameter"
J, n, L, NBIN = 6, 5, 49, 5
B = np.array([[1.0, 0.5], [0.5, 1.0]])
rng = np.random.default_rng(20261126)
names = ["(Intercept)", "x", "var(g (Intercept))", "var(Residual)"]


def inv_gamma(shape, scale):
    return scale / rng.gamma(shape)


truth = []
h5 = os.path.join(work, "sbc.h5")
with h5py.File(h5, "w") as f:
    for r in range(nrep):
        beta = rng.multivariate_normal([0.0, 0.0], B)
        tau2, s2 = inv_gamma(3.0, 2.0), inv_gamma(3.0, 2.0)
        if prior != "ig":
            tau2 = rng.standard_t(3) ** 2
        g = np.repeat(np.arange(J), n)
        x = rng.normal(size=J * n)
        u = rng.normal(scale=math.sqrt(tau2), size=J)
        y = beta[0] + beta[1] * x + u[g] + rng.normal(scale=math.sqrt(s2),
                                                       size=J * n)
        grp = f.create_group(f"r{r:03d}")
        grp["y"], grp["x"] = y, x
        grp["g"] = np.array([f"g{k}" for k in g], dtype=h5py.string_dtype())
        truth.append([beta[0], beta[1], tau2, s2])

ranks = np.zeros((nrep, 4), dtype=int)
for r in range(nrep):
    cfg = os.path.join(work, "sbc.toml")
    draws = os.path.join(work, "sbc.csv")
    with open(cfg, "w") as c:
        c.write(f"""[data]
file = "{h5}"
group = "r{r:03d}"
[model]
formula = "y ~ x + (1 | g)"
method = "bayes"
[bayes]
chains = 1
iterations = {100 + 10 * L}
warmup = 100
thin = 10
seed = {r + 1}
expansion = "{expansion}"
[bayes.prior]
beta_covariance = [[1, 0.5], [0.5, 1]]
residual_shape = 3
residual_scale = 2
{group_prior}
[output]
draws = "{draws}"
""")
    # through mpiexec, never a bare singleton: LeakSanitizer's tracer
    # crashes in singletons under the sanitizer build
    mpiexec = os.environ.get("HLM_MPIEXEC", "mpiexec")
    p = subprocess.run([mpiexec, "-n", "1", hlm, cfg],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode != 0:
        print(f"replicate {r}: hlm-mpi failed:\n{p.stderr}")
        sys.exit(2)
    with open(draws) as fh:
        rows = list(csv.reader(fh))
    col = [rows[0].index(nm) for nm in names]
    d = np.array([[float(row[k]) for row in rows[1:]] for k in col])
    assert d.shape == (4, L), d.shape
    ranks[r] = (d < np.array(truth[r])[:, None]).sum(1)

bad = 0
for i, nm in enumerate(names):
    counts = np.bincount(ranks[:, i] * NBIN // (L + 1), minlength=NBIN)
    e = nrep / NBIN
    chi2 = float(((counts - e) ** 2 / e).sum())
    # chi-square upper tail with NBIN - 1 = 4 df, closed form
    pval = math.exp(-chi2 / 2) * (1 + chi2 / 2)
    bad += pval < 0.001
    print(f"{nm:20s} rank counts {counts.tolist()}  chi2 {chi2:6.2f}  "
          f"p {pval:.2g}")
print(f"{nrep} replicates: "
      f"{'uniform ranks (every p > 0.001)' if not bad else 'NOT calibrated'}")
sys.exit(1 if bad else 0)
