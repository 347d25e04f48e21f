#!/usr/bin/env python3
"""px_compare.py JSON_A JSON_B NAME...: two fits of the same posterior by
different samplers (parameter expansion and the auxiliary mixture,
docs/bayes.md) must agree: for each parameter NAME, the posterior means
within 4 combined Monte Carlo SEs (each from its own ESS).  Prints the
ESS per kept draw of each, and the ratio A / B.  Exit 1 on disagreement.
"""
import json
import math
import sys


def load(path):
    js = json.load(open(path))
    n = js["chains"] * js["draws_per_chain"] if "draws_per_chain" in js else None
    return {e["name"]: e for e in js["parameters"]}, n


a, na = load(sys.argv[1])
b, nb = load(sys.argv[2])
bad = 0
for name in sys.argv[3:]:
    x, y = a[name], b[name]
    z = abs(x["mean"] - y["mean"]) / math.hypot(x["mcse"], y["mcse"])
    bad += not z < 4
    ess = f"ESS {x['ess']:.0f} vs {y['ess']:.0f}"
    if na and nb:
        ess += (f" ({x['ess'] / na:.3f} vs {y['ess'] / nb:.3f} per draw)")
    print(f"{name}: {x['mean']:.4f} (MC SE {x['mcse']:.4f}) vs {y['mean']:.4f}"
          f" (MC SE {y['mcse']:.4f}): {z:.2f} MC SEs; {ess}; ESS ratio "
          f"{x['ess'] / y['ess']:.2f}")
print("the two samplers agree within 4 MC SEs" if not bad
      else "the two samplers DISAGREE")
sys.exit(1 if bad else 0)
