#!/usr/bin/env python3
"""make_crossed_small.py CSV: a small simulated data set with a crossed
term of correlated effects, y ~ x + (1 | a) + (1 + x | b): 30 levels of a
(the clusters), each seen with 4 of the 8 levels of b, one row each
(numpy seed 12)."""
import sys

import numpy as np

rng = np.random.default_rng(12)
na, nb = 30, 8
ua = rng.normal(scale=1.0, size=na)
ub = rng.multivariate_normal([0, 0], [[1.0, 0.4], [0.4, 0.5]], size=nb)
with open(sys.argv[1], "w") as f:
    f.write("y,x,a,b\n")
    for i in range(na):
        for j in rng.choice(nb, size=4, replace=False):
            x = rng.normal()
            y = (1 + 0.5 * x + ua[i] + ub[j, 0] + ub[j, 1] * x
                 + rng.normal(scale=0.7))
            f.write(f"{y:.10g},{x:.10g},a{i:02d},b{j}\n")
