#!/usr/bin/python3
"""Compare fits (JSON summaries, docs/results-json.md) for tests/net.

    compare_json.py same A.json B.json CRIT_TOL EST_TOL
        Every number of the two summaries (not timings, rank counts or
        inference) within EST_TOL relative, the criterion within CRIT_TOL;
        all other values equal.  Prints the largest relative difference.
    compare_json.py lme4 A.json LME4.json METHOD
        A against lme4's fit, at tests/cli/test_fit_cli.sh's tolerances.
"""
import json
import sys

SKIP = ("time_seconds", "ranks", "inference")


def same(a, b, crit_tol, est_tol):
    bad, worst = [], [0.0]

    def walk(x, y, path):
        if isinstance(x, dict):
            if not isinstance(y, dict) or set(x) - set(SKIP) != set(y) - set(SKIP):
                bad.append((path, "keys differ"))
                return
            for k in x:
                if k not in SKIP:
                    walk(x[k], y[k], path + "/" + k)
        elif isinstance(x, list):
            if not isinstance(y, list) or len(x) != len(y):
                bad.append((path, "length"))
                return
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, "%s[%d]" % (path, i))
        elif isinstance(x, float) or isinstance(y, float):
            if not isinstance(y, (int, float)) or not isinstance(x, (int, float)):
                bad.append((path, x, y))
                return
            rel = abs(x - y) / max(abs(x), abs(y), 1e-300)
            worst[0] = max(worst[0], rel)
            tol = crit_tol if "criterion" in path else est_tol
            if rel > tol:
                bad.append((path, x, y))
        elif x != y:
            bad.append((path, x, y))

    walk(a, b, "")
    return bad, worst[0]


def lme4(got, ref):
    bad = []

    def close(a, b, rel, what, absol=0.0):
        if abs(a - b) > max(rel * abs(b), absol):
            bad.append(f"{what}: {a!r} vs lme4 {b!r}")

    close(got["deviance_or_reml_criterion"], ref["deviance_or_reml_criterion"],
          1e-7, "criterion")
    for k, v in ref["fixef"].items():
        close(got["fixef"][k], v, 1e-6, "fixef " + k)
        close(got["fixef_se"][k], ref["fixef_se"][k], 1e-6, "se " + k)
    close(got["sigma"], ref["sigma"], 1e-5, "sigma")
    for r in ref["varcorr"]:
        hits = [g for g in got["varcorr"] if g["grp"] == r["grp"]
                and g["var1"] == r["var1"] and g["var2"] == r["var2"]]
        if not hits:
            bad.append(f"varcorr {r} missing")
        else:
            close(hits[0]["sdcor"], r["sdcor"], 1e-5,
                  f"sdcor {r['grp']} {r['var1']}", 1e-7)
    if got["nobs"] != ref["nobs"]:
        bad.append("nobs")
    return bad


def main():
    mode = sys.argv[1]
    a = json.load(open(sys.argv[2]))
    if mode == "same":
        b = json.load(open(sys.argv[3]))
        bad, worst = same(a, b, float(sys.argv[4]), float(sys.argv[5]))
        print("largest relative difference %.3g" % worst)
    else:
        bad = lme4(a, json.load(open(sys.argv[3]))[sys.argv[4]])
    for e in bad[:10]:
        print("differs:", *e, file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
