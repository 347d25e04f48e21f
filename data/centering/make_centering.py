#!/usr/bin/python3
"""Write data/centering/centering.csv: simulated students in schools, with
a neighbourhood factor crossed with the schools, for the centering and
cluster-mean covariates of docs/formula.md (issue 8).

  ses_ij = m_j + 1.2 z_ij            m_j ~ N(0, 1): school means differ
  y_ij   = 10 + 2 (ses_ij - sesbar_j) + 1.5 sesbar_j
           + u0_j + u1_j (ses_ij - sesbar_j) + v_k + e_ij
  (u0_j, u1_j) ~ N(0, [1.5^2, 0.3*1.5*0.8; ., 0.8^2]), v_k ~ N(0, 0.7^2),
  e_ij ~ N(0, 1)

30 schools of 8 to 22 students; each student lives in one of 6
neighbourhoods drawn at random (so nbhd is crossed with school).  One
student has a missing ses (the row is dropped before the means are
computed; docs/formula.md).  Deterministic: Python's random with seed 8.
usage: make_centering.py [OUT.csv]
"""
import csv
import math
import random
import sys

rng = random.Random(8)
rows = []
student = 0
nbhd_eff = [rng.gauss(0, 0.7) for _ in range(6)]
for j in range(30):
    n = rng.randint(8, 22)
    m = rng.gauss(0, 1)
    a = rng.gauss(0, 1)
    b = rng.gauss(0, 1)
    u0 = 1.5 * a
    u1 = 0.8 * (0.3 * a + math.sqrt(1 - 0.09) * b)
    ses = [round(m + 1.2 * rng.gauss(0, 1), 4) for _ in range(n)]
    sbar = sum(ses) / n
    for s in ses:
        student += 1
        k = rng.randrange(6)
        y = (10 + 2 * (s - sbar) + 1.5 * sbar + u0 + u1 * (s - sbar)
             + nbhd_eff[k] + rng.gauss(0, 1))
        rows.append(["S%02d" % (j + 1), "N%d" % (k + 1), student,
                     "%.4f" % s, "%.4f" % y])
rows[17][3] = "NA"
out = sys.argv[1] if len(sys.argv) > 1 else "centering.csv"
with open(out, "w", newline="") as fh:
    w = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC)
    w.writerow(["school", "nbhd", "student", "ses", "y"])
    for r in rows:
        fh.write('"%s","%s",%d,%s,%s\n' % tuple(r))
