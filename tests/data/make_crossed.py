#!/usr/bin/env python3
"""A crossed design for the distributed global system (issue 15): students
in schools, each student also in one of NBHD neighbourhoods; every school
draws its students from a window of neighbourhoods that overlaps its
neighbours' windows, so neighbourhood is crossed with school and its
effects are global unknowns (dim S = NBHD + 2 with y ~ x).

usage: make_crossed.py OUT.csv [SCHOOLS [PER_SCHOOL [NBHD]]]
Deterministic (seeded); y = 1 + 0.5 x + u_school + v_nbhd + e with
SDs 0.8, 0.5 and 1."""
import random
import sys

out = sys.argv[1]
schools = int(sys.argv[2]) if len(sys.argv) > 2 else 60
per = int(sys.argv[3]) if len(sys.argv) > 3 else 40
nbhd = int(sys.argv[4]) if len(sys.argv) > 4 else 300
rng = random.Random(20261126)
v = [rng.gauss(0, 0.5) for _ in range(nbhd)]
window = max(2, 3 * nbhd // schools)
with open(out, "w") as f:
    f.write('"y","x","school","nbhd"\n')
    for s in range(schools):
        u = rng.gauss(0, 0.8)
        first = (s * nbhd) // schools
        for _ in range(per):
            n = (first + rng.randrange(window)) % nbhd
            x = rng.uniform(-1, 1)
            y = 1 + 0.5 * x + u + v[n] + rng.gauss(0, 1)
            f.write(f'{y:.10g},{x:.10g},"s{s:05d}","n{n:06d}"\n')
