#!/usr/bin/env python3
"""Independent check of a file written by `hlm-mpi simulate`: its layout, its
truth group against the settings given on the command line, and sample
moments of the data against the model (docs/simulate.md).  Usage:
check_moments.py FILE rows clusters subclusters crossed covariates
                 slope cluster_sd slope_sd subcluster_sd crossed_sd sigma size_sd"""
import math
import sys

import h5py
import numpy as np

fails = 0


def check(ok, what):
    global fails
    print(("ok: " if ok else "FAIL: ") + what)
    fails += 0 if ok else 1


def near(x, want, se, what, k=5.0):
    check(abs(x - want) <= k * se, f"{what}: {x:.5g} vs {want:.5g} (within {k} x {se:.3g})")


a = sys.argv[2:]
rows, m, s, L, p = (int(v) for v in a[:5])
slope, sd0, sd1, sds, sdc, sigma, size_sd = (float(v) for v in a[5:])
f = h5py.File(sys.argv[1], "r")
d, t = f["data"], f["truth"]
cols = [c.decode() if isinstance(c, bytes) else c for c in d.attrs["columns"]]
want = ["school"] + (["class"] if s else []) + (["rater"] if L else []) + ["w", "y"] + [f"x{k}" for k in range(1, p + 1)]
check(cols == want, f"columns {cols}")
school = d["school"][:]
check(len(school) == rows, f"{rows} rows")
check(np.all(np.diff(school) >= 0), "rows in cluster order")
n_j = np.bincount(school)[1:]
check(len(n_j) == m and n_j.min() >= 1, f"{m} clusters, none empty")
near(np.std(np.log(n_j)), size_sd, size_sd * 0.15 + 0.02, "SD of log cluster size", 1.0)
beta = t.attrs["beta"]
check(np.allclose(beta[1:], slope / np.arange(1, p + 1)), "truth beta_k = slope / k")
check(t.attrs["rows"] == rows and t.attrs["clusters"] == m, "truth rows, clusters")
X = np.column_stack([d[f"x{k}"][:] for k in range(1, p + 1)])
for k in range(p):
    near(X[:, k].mean(), 0.0, 1 / math.sqrt(rows), f"mean of x{k + 1}")
    near(X[:, k].var(), 1.0, math.sqrt(2 / rows), f"variance of x{k + 1}")
check(abs(np.corrcoef(X[:, 0], X[:, -1])[0, 1]) < 5 / math.sqrt(rows) or p == 1, "covariates uncorrelated")
w = d["w"][:]
check(w.min() >= 0.5 and w.max() <= 1.5, "weights in [0.5, 1.5]")
near(w.mean(), 1.0, math.sqrt(1 / 12 / rows), "mean weight")
einvw = math.log(3.0)  # E[1/w], w ~ U(0.5, 1.5)
if L:
    counts = np.bincount(d["rater"][:])[1:]
    check(len(counts) == L, f"{L} crossed levels")
    near(counts.max(), rows / L, math.sqrt(rows / L), "largest crossed level", 5.0)
if s:
    klass = d["class"][:]
    check(klass.min() >= 1 and klass.max() <= s, f"sub-clusters 1..{s}")
# r = y - X beta = u0 + u1 x1 + v + c + e / sqrt(w)
r = d["y"][:] - beta[0] - X @ beta[1:]
near(r.mean(), 0.0, math.sqrt(sd0 ** 2 / m + sdc ** 2 / max(L, 1) + sigma ** 2 * einvw / rows), "mean of y - X beta")
# within-cluster: the weighted residual after removing cluster means has
# variance about (1 - 1/n_j) times sigma^2 E[1/w] + the rest
resid_var = sigma ** 2 * einvw
# (a cluster's sub-cluster effects are 1 / s part of its mean; the crossed
# effects' sample variance over L levels has relative SE sqrt(2 / L))
rest = sd1 ** 2 + (sds ** 2 * (1 - 1 / s) if s else 0) + (sdc ** 2 if L else 0)
cm = np.bincount(school, weights=r)[1:] / n_j
within = r - cm[school - 1]
tol = 0.03 * (resid_var + rest) + (3 * sdc ** 2 * math.sqrt(2 / L) if L else 0)
near(within.var(), (resid_var + rest) * (1 - m / rows), tol, "within-cluster variance", 1.0)
near(cm.var(), sd0 ** 2 + np.mean((rest + resid_var) / n_j), 4 * sd0 ** 2 * math.sqrt(2 / m) + 0.02, "variance of cluster means", 1.0)
# cov(u0, u1): within cluster j, mean(r x1) estimates u1_j (x1 has mean 0,
# variance 1, independent of the rest), mean(r) estimates u0_j
sx = np.bincount(school, weights=r * X[:, 0])[1:] / n_j
big = n_j >= 20
if sd1 > 0:
    c01 = np.cov(cm[big], sx[big])[0, 1]
    near(c01, float(t.attrs["correlation"]) * sd0 * sd1, 4 * sd0 * sd1 / math.sqrt(big.sum()) + 0.02, "cov of cluster intercepts and slopes", 1.0)
sys.exit(1 if fails else 0)
