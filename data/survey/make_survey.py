#!/usr/bin/python3
"""Make survey.csv: a two-stage stratified sample of students in schools,
with sampling weights at both stages (docs/survey.md, the worked example).

Population: 4 strata (regions) of 60 schools each; school m has M_m
students (20 to 300).  Scores follow
    score = 50 + 4 ses + 3 private + u_school + e,
    u ~ N(0, 4^2),  e ~ N(0, 8^2),
Stage 1: 8 schools per stratum, drawn with probability proportional to
size (systematic PPS): w2 = 1 / pi_school.  Stage 2: in each sampled
school about 12 students, an informative design: students with e > 0 are
sampled at twice the rate of the others (a survey that oversampled high
achievers), so w1 = 1 / pi_student|school and the unweighted fit
overstates the mean score.  Deterministic (numpy seed 13); run it from
any directory: it writes survey.csv beside itself."""
import csv
import os

import numpy as np

rng = np.random.default_rng(13)
rows = []
school_id = 0
for stratum in range(1, 5):
    M = rng.integers(20, 301, size=60)
    private = rng.random(60) < 0.3
    u = rng.normal(0.0, 4.0, size=60)
    # systematic PPS: 8 schools per stratum
    pi = 8 * M / M.sum()
    cum = np.cumsum(M / M.sum() * 8)
    start = rng.random()
    picks = [int(np.searchsorted(cum, start + k)) for k in range(8)]
    for m in picks:
        school_id += 1
        ses = rng.normal(0.0, 1.0, size=M[m])
        e = rng.normal(0.0, 8.0, size=M[m])
        y = 50 + 4 * ses + 3 * private[m] + u[m] + e
        rate = np.where(e > 0, 2.0, 1.0)
        p = np.minimum(1.0, 12 * rate / rate.sum())
        take = rng.random(M[m]) < p
        if take.sum() < 3:
            take[:3] = True
        for i in np.flatnonzero(take):
            rows.append({
                "stratum": f"R{stratum}",
                "school": f"S{school_id:02d}",
                "private": int(private[m]),
                "ses": round(float(ses[i]), 4),
                "score": round(float(y[i]), 3),
                "w1": round(float(1.0 / p[i]), 6),
                "w2": round(float(1.0 / min(1.0, pi[m])), 6),
            })

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "survey.csv")
with open(out, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
print(f"{out}: {len(rows)} rows, {school_id} schools")
