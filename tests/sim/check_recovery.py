#!/usr/bin/env python3
"""A fit of simulated data recovers the truth stored in the file's /truth
group (within 4 standard errors; SEs of variance parameters from their
large-sample approximations), and fits at several rank counts agree.
Usage: check_recovery.py DATA.h5 FIT1.json [FIT2.json ...]"""
import json
import math
import sys

import h5py
import numpy as np

t = h5py.File(sys.argv[1], "r")["truth"].attrs
fits = [json.load(open(p)) for p in sys.argv[2:]]
fails = 0


def check(ok, what):
    global fails
    print(("ok: " if ok else "FAIL: ") + what)
    fails += 0 if ok else 1


f = fits[0]
names = ["(Intercept)"] + [f"x{k}" for k in range(1, int(t["covariates"]) + 1)]
for name, b in zip(names, t["beta"]):
    est, se = f["fixef"][name], f["fixef_se"][name]
    check(abs(est - b) <= 4 * se, f"{name}: {est:.4f} vs true {b:.4f} (SE {se:.4f})")
m, n = int(t["clusters"]), int(t["rows"])
vc = {(v["grp"], v["var1"], v["var2"]): v["sdcor"] for v in f["varcorr"]}
want = [
    (("school", "(Intercept)", None), t["cluster_sd"], t["cluster_sd"] / math.sqrt(2 * m)),
    (("school", "x1", None), t["slope_sd"], t["slope_sd"] / math.sqrt(2 * m)),
    (("school", "(Intercept)", "x1"), t["correlation"], (1 - t["correlation"] ** 2) / math.sqrt(m)),
    (("Residual", None, None), t["residual_sd"], t["residual_sd"] / math.sqrt(2 * n)),
]
if t["subclusters"] > 0:
    s = int(t["subclusters"])
    want.append((("school:class", "(Intercept)", None), t["subcluster_sd"], t["subcluster_sd"] / math.sqrt(2 * m * (s - 1))))
for key, truth, se in want:
    est = vc.get(key)
    check(est is not None and abs(est - truth) <= 4 * se + 0.01, f"{key}: {est} vs true {truth:.4f} (SE ~{se:.4f})")
for g in fits[1:]:
    d = max(abs(g["fixef"][k] - f["fixef"][k]) for k in names)
    d = max([d] + [abs(a - b) for a, b in zip(g["theta"], f["theta"])])
    check(d < 1e-7, f"rank counts agree: max difference {d:.2e}")
sys.exit(1 if fails else 0)
