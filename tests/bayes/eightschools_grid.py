#!/usr/bin/env python3
"""eightschools_grid.py CSV JSON DF SCALE MU_VAR

The group-means model y_j ~ N(mu + u_j, sigma_j^2) (sigma_j known),
u_j ~ N(0, tau^2), mu ~ N(0, MU_VAR) and tau ~ half-t(DF, SCALE) (DF = 1:
half-Cauchy), computed here independently of hlm-mpi: mu is integrated
out in closed form (y ~ N(0, diag(sigma^2 + tau^2) + MU_VAR 11')), and
the posterior of tau and the posterior means of mu and tau by numerical
integration over a fine grid of tau (0 to 100 in steps of 0.001, then to
5000 in steps of 0.1, where the density is below 1e-7 of its peak; the
tail beyond 5000 holds < 1e-6 of the mass; the same means to 8 digits as
steps of 0.001 all the way).  hlm-mpi's JSON summary must agree within 4
of its Monte Carlo SEs, each from an ESS of at least 400.
"""
import csv
import json
import sys

import numpy as np

rows = list(csv.DictReader(open(sys.argv[1])))
y = np.array([float(r["y"]) for r in rows])
s = np.array([float(r["sigma"]) for r in rows])
nu, A, v0 = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
t = np.concatenate([np.arange(1, 100_001) * 1e-3,
                    100 + np.arange(1, 49_001) * 0.1])
dt = np.concatenate([np.full(100_000, 1e-3), np.full(49_000, 0.1)])
lw = np.empty_like(t)
m = np.empty_like(t)
for lo in range(0, len(t), 500_000):  # in slices: bounded memory
    tt = t[lo:lo + 500_000]
    V = s[None, :] ** 2 + tt[:, None] ** 2
    P = (1 / V).sum(1) + 1 / v0
    mm = (y / V).sum(1) / P
    m[lo:lo + 500_000] = mm
    lw[lo:lo + 500_000] = (-0.5 * np.log(V).sum(1) - 0.5 * np.log(P * v0)
                           - 0.5 * ((y ** 2 / V).sum(1) - P * mm ** 2))
lw += -0.5 * (nu + 1) * np.log1p((t / A) ** 2 / nu)  # half-t, unnormalised
w = np.exp(lw - lw.max()) * dt
w /= w.sum()
exact = {"(Intercept)": float((w * m).sum()),
         "sd(school (Intercept))": float((w * t).sum())}
par = {e["name"]: e for e in json.load(open(sys.argv[2]))["parameters"]}
bad = 0
for name, ref in exact.items():
    e = par[name]
    z = abs(e["mean"] - ref) / e["mcse"]
    print(f"{name}: hlm-mpi {e['mean']:.4f} (MC SE {e['mcse']:.4f}, ESS "
          f"{e['ess']:.0f}), grid {ref:.4f}: {z:.2f} MC SEs")
    bad += not (z < 4 and e["ess"] >= 400)
print(f"mu = {exact['(Intercept)']:.2f}, tau = "
      f"{exact['sd(school (Intercept))']:.2f} by the grid; "
      f"{'all' if not bad else 'NOT all'} within 4 MC SEs")
sys.exit(1 if bad else 0)
