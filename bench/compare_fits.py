#!/usr/bin/env python3
"""Largest relative difference between hlm-mpi's JSON summary and lme4's
estimates (bench/lme4_fit.R): fixed effects, and the SDs, correlation and
sigma of as.data.frame(VarCorr()) in lme4's order."""
import json
import sys

h, r = (json.load(open(p)) for p in sys.argv[1:3])
pairs = [(h["fixef"][k], v) for k, v in r["fixef"].items()]
pairs += list(zip([v["sdcor"] for v in h["varcorr"]], r["sdcor"]))
crit = next(v for k, v in h.items() if k.startswith("deviance_or_reml"))
rel = max(abs(a - b) / max(abs(b), 1e-300) for a, b in pairs)
# REML criterion: hlm-mpi minus lme4 (negative: hlm-mpi found a lower one)
print(f"{rel:.2e} (REML crit hlm-lme4 {crit - r['reml_criterion']:+.2e})")
