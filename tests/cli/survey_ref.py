#!/usr/bin/python3
"""Independent references for tests/cli/test_survey.sh (issue 13).

    survey_ref.py make DIR          write the test's CSV files into DIR
    survey_ref.py CHECK DIR NP ...  compare DIR/<fit>-NP.json files

Everything here is computed from the data with numpy, from the marginal
normal densities of each cluster, never from hlm-mpi's own numbers other
than the estimates it reports (at which the references are evaluated).
"""
import csv
import json
import math
import sys

import numpy as np

TOL = 1e-8  # estimates, sigma, logLik, SEs (theta: see same_fit)


def make(d):
    rng = np.random.default_rng(2013)
    rows = []
    for j in range(14):
        n = int(rng.integers(3, 10))
        u0, u1 = rng.normal(0, 0.8), rng.normal(0, 0.7)
        for _ in range(n):
            x = float(rng.normal())
            y = 1.0 + 0.5 * x + u0 + u1 * x + float(rng.normal(0, 0.6))
            rows.append(dict(g=f"C{j:02d}", x=round(x, 6), y=round(y, 6),
                             w1=int(rng.integers(1, 4)),
                             w1r=round(float(rng.uniform(0.3, 3.0)), 6),
                             one=1.0, c73=7.3, str="ABC"[(j // 2) % 3],
                             psu=f"P{j // 2}"))
    # yz: 1 + noise centred within each cluster, so every cluster mean is
    # 1 and the ML variance of a random intercept is 0 (the boundary);
    # its own generator, so that the other columns do not change
    rz = np.random.default_rng(7)
    for j in range(14):
        rs = [r for r in rows if r["g"] == f"C{j:02d}"]
        e = rz.normal(size=len(rs))
        for r, v in zip(rs, e - e.mean()):
            r["yz"] = 1.0 + float(v)
    w2 = {f"C{j:02d}": int(v) for j, v in enumerate(rng.integers(1, 4, 14))}
    w2r = {f"C{j:02d}": round(float(v), 6)
           for j, v in enumerate(rng.uniform(0.5, 4.0, 14))}
    npop = {"A": 10, "B": 6, "C": 5}  # PSUs in the population (3, 2, 2 drawn)
    nsam = {"A": 3, "B": 2, "C": 2}
    for r in rows:
        r["fpn"] = npop[r["str"]]
        r["fpr"] = nsam[r["str"]] / npop[r["str"]]
        r["w2"] = w2[r["g"]]
        r["w2r"] = w2r[r["g"]]
        r["w2c"] = round(w2r[r["g"]] * 7.3, 12)
    cols = list(rows[0])
    write(f"{d}/base.csv", cols, rows)
    dup = []  # clusters repeated w2 times (new cluster names)
    for r in rows:
        for k in range(r["w2"]):
            dup.append(dict(r, g=f"{r['g']}_{k}"))
    write(f"{d}/dupcl.csv", cols, dup)
    dup = [r for r in rows for _ in range(r["w1"])]  # rows repeated w1 times
    write(f"{d}/duprow.csv", cols, dup)


def write(path, cols, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)


def load_data(d):
    rows = list(csv.DictReader(open(f"{d}/base.csv", newline="")))
    out = {}
    for r in rows:
        out.setdefault(r["g"], []).append(r)
    return out


def cluster_arrays(rs, w1col, scaling):
    y = np.array([float(r["y"]) for r in rs])
    x = np.array([float(r["x"]) for r in rs])
    X = np.column_stack([np.ones_like(x), x])
    w = np.ones_like(x) if w1col is None else np.array(
        [float(r[w1col]) for r in rs])
    if scaling == "size":
        w = w * len(w) / w.sum()
    elif scaling == "effective":
        w = w * w.sum() / (w * w).sum()
    return y, X, X.copy(), w


def G_of(theta, sigma):
    T = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    return sigma ** 2 * T @ T.T


def pseudo_loglik(data, beta, theta, sigma, w1col, w2col, scaling):
    """sum_j w_j log INT prod_i f(y_ij|u)^w_i phi(u) du, each cluster's
    integral as a marginal normal density with Var = sigma^2 W^-1 + Z G Z'
    times prod_i (2 pi sigma^2)^((1 - w_i)/2) w_i^(-1/2)."""
    G = G_of(theta, sigma)
    total = 0.0
    for rs in data.values():
        y, X, Z, w = cluster_arrays(rs, w1col, scaling)
        wj = 1.0 if w2col is None else float(rs[0][w2col])
        V = sigma ** 2 * np.diag(1.0 / w) + Z @ G @ Z.T
        r = y - X @ beta
        ll = -0.5 * (len(y) * math.log(2 * math.pi) + np.linalg.slogdet(V)[1]
                     + r @ np.linalg.solve(V, r))
        ll += np.sum((1 - w) / 2 * math.log(2 * math.pi * sigma ** 2)
                     - 0.5 * np.log(w))
        total += wj * ll
    return total


def sandwich(data, beta, theta, sigma, w1col, w2col, scaling, psucol,
             stratcol, npop=None):
    """A^-1 B A^-1 from the marginal formulas: A = sum_j w_j X'V^-1 X,
    u_j = w_j X'V^-1 (y - X beta), B between PSU totals within strata with
    n_h / (n_h - 1), times 1 - n_h / npop[h] when npop is given."""
    G = G_of(theta, sigma)
    A = np.zeros((2, 2))
    psu = {}
    for g, rs in data.items():
        y, X, Z, w = cluster_arrays(rs, w1col, scaling)
        wj = 1.0 if w2col is None else float(rs[0][w2col])
        V = sigma ** 2 * np.diag(1.0 / w) + Z @ G @ Z.T
        Vi = np.linalg.inv(V)
        A += wj * X.T @ Vi @ X
        u = wj * X.T @ Vi @ (y - X @ beta)
        key = (rs[0][stratcol] if stratcol else "",
               rs[0][psucol] if psucol else g)
        psu[key] = psu.get(key, 0) + u
    B = np.zeros((2, 2))
    for h in sorted({k[0] for k in psu}):
        U = np.array([v for k, v in psu.items() if k[0] == h])
        U = U - U.mean(axis=0)
        f = len(U) / npop[h] if npop else 0.0
        B += (1 - f) * len(U) / (len(U) - 1) * U.T @ U
    Ai = np.linalg.inv(A)
    return Ai @ B @ Ai


def cr0(data, beta, theta, sigma):
    """The textbook CR0 of GLS: (X'V^-1X)^-1 sum_j X_j'V_j^-1 e_j e_j'
    V_j^-1 X_j (X'V^-1X)^-1 with marginal residuals e_j = y_j - X_j b."""
    G = G_of(theta, sigma)
    A = np.zeros((2, 2))
    M = np.zeros((2, 2))
    for rs in data.values():
        y, X, Z, _ = cluster_arrays(rs, None, "none")
        Vi = np.linalg.inv(sigma ** 2 * np.eye(len(y)) + Z @ G @ Z.T)
        e = y - X @ beta
        s = X.T @ Vi @ e
        A += X.T @ Vi @ X
        M += np.outer(s, s)
    Ai = np.linalg.inv(A)
    return Ai @ M @ Ai


def cluster_loglik(rs, x, w1col, w2col, scaling):
    """w_j times cluster j's log INT prod_i f(y_ij|u)^w_i phi(u) du at
    x = (beta, theta, sigma), as pseudo_loglik's terms."""
    beta, theta, sigma = x[:2], x[2:5], x[5]
    G = G_of(theta, sigma)
    y, X, Z, w = cluster_arrays(rs, w1col, scaling)
    wj = 1.0 if w2col is None else float(rs[0][w2col])
    V = sigma ** 2 * np.diag(1.0 / w) + Z @ G @ Z.T
    r = y - X @ beta
    ll = -0.5 * (len(y) * math.log(2 * math.pi) + np.linalg.slogdet(V)[1]
                 + r @ np.linalg.solve(V, r))
    ll += np.sum((1 - w) / 2 * math.log(2 * math.pi * sigma ** 2)
                 - 0.5 * np.log(w))
    return wj * ll


def steps(x, rel):
    return rel * np.maximum(np.abs(x), 1.0)


def components(y):
    """(theta, sigma) -> SD(intercept), SD(x), cor, sigma (hlm-mpi's order)."""
    G = G_of(y[:3], y[3])
    sd = np.sqrt(np.diag(G))
    return np.array([sd[0], sd[1], G[1, 0] / (sd[0] * sd[1]), y[3]])


def joint_sandwich(data, x0, w1col, w2col, scaling, psucol, stratcol,
                   npop=None):
    """H^-1 M H^-1 in (beta, theta, sigma), all by numerical differences:
    per-cluster scores by central differences of cluster_loglik (step
    1e-5), H the Hessian of their weighted sum by the four-point formula
    with Richardson extrapolation (steps 2e-3 and 1e-3), M the design's meat of the scores; then the SEs of the
    SDs, the correlation and sigma by the delta method."""
    n = len(x0)
    h = steps(x0, 1e-5)
    psu = {}
    for g, rs in data.items():
        sc = np.zeros(n)
        for k in range(n):
            e = np.zeros(n)
            e[k] = h[k]
            sc[k] = (cluster_loglik(rs, x0 + e, w1col, w2col, scaling)
                     - cluster_loglik(rs, x0 - e, w1col, w2col, scaling)) \
                / (2 * h[k])
        key = (rs[0][stratcol] if stratcol else "",
               rs[0][psucol] if psucol else g)
        psu[key] = psu.get(key, 0) + sc
    M = np.zeros((n, n))
    for hh in sorted({k[0] for k in psu}):
        U = np.array([v for k, v in psu.items() if k[0] == hh])
        U = U - U.mean(axis=0)
        f = len(U) / npop[hh] if npop else 0.0
        M += (1 - f) * len(U) / (len(U) - 1) * U.T @ U
    total = lambda x: sum(cluster_loglik(rs, x, w1col, w2col, scaling)
                          for rs in data.values())
    def hessian(h):
        H = np.zeros((n, n))
        for a in range(n):
            for b in range(a, n):
                ea, eb = np.zeros(n), np.zeros(n)
                ea[a], eb[b] = h[a], h[b]
                H[a, b] = H[b, a] = (
                    total(x0 + ea + eb) - total(x0 + ea - eb)
                    - total(x0 - ea + eb) + total(x0 - ea - eb)) \
                    / (4 * h[a] * h[b])
        return H
    # Richardson: the four-point formula's error is O(h^2), so
    # (4 H(h/2) - H(h)) / 3 is O(h^4): with h = 2e-3 about 1e-11, and the
    # rounding, eps |l| / h^2, about 1e-8 of entries of order 10 to 1000
    h = steps(x0, 2e-3)
    H = (4 * hessian(h / 2) - hessian(h)) / 3
    Hi = np.linalg.inv(-H)
    V = Hi @ M @ Hi
    y0, J = x0[2:], np.zeros((4, 4))
    for k in range(4):
        e = np.zeros(4)
        e[k] = 1e-6 * max(abs(y0[k]), 1.0)
        J[:, k] = (components(y0 + e) - components(y0 - e)) / (2 * e[k])
    se = np.sqrt(np.diag(J @ V[2:, 2:] @ J.T))
    return V, components(y0), se


JTOL = 1e-6  # the joint sandwich: numerical differences on both sides


def check_joint(what, data, j, b, t, s, w1col, w2col, scaling, psucol,
                stratcol, npop=None):
    vc = j["survey"]["variance_components"]
    x0 = np.concatenate([b, t, [s]])
    V, est_, se = joint_sandwich(data, x0, w1col, w2col, scaling, psucol,
                                 stratcol, npop)
    close(f"{what}: variance components (SDs, cor, sigma)", vc["estimate"],
          est_, 1e-12)
    close(f"{what}: their robust SEs", vc["robust_se"], se, JTOL)
    close(f"{what}: joint sandwich in (beta, theta, sigma)",
          vc["joint_vcov"], V.T.ravel(), JTOL)
    return np.array(vc["robust_se"])


def est(path):
    j = json.load(open(path))
    beta = np.array([j["fixef"]["(Intercept)"], j["fixef"]["x"]])
    return j, beta, np.array(j["theta"]), j["sigma"]


BAD = []


def close(what, a, b, tol=TOL):
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(
        np.asarray(b, float))
    err = np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-3))
    status = "ok" if err <= tol else "FAIL"
    print(f"{status}: {what}: max relative difference {err:.3g}")
    if err > tol:
        BAD.append(what)
        print(f"   got {a}\n   ref {b}")


def same_fit(what, p, q, loglik_factor=1.0):
    j1, b1, t1, s1 = est(p)
    j2, b2, t2, s2 = est(q)
    close(f"{what}: fixed effects", b1, b2)
    # theta to 5e-8: the criterion is flat in theta at its optimum, so its
    # rounding (1e-16 relative) limits theta to about 1e-8; the unweighted
    # fit of the duplicated clusters stops 1.0e-8 away (projected gradient
    # 2e-7, no decrease at the resolution of the criterion)
    close(f"{what}: theta", t1, t2, 5e-8)
    close(f"{what}: sigma", s1, s2)
    close(f"{what}: logLik", j1["logLik"], loglik_factor * j2["logLik"])
    return j1, j2


def robust_se(j):
    return np.array([j["inference"]["fixed"][n]["se"]
                     for n in ("(Intercept)", "x")])


def check_max(what, data, j, beta, theta, sigma, w1col, w2col, scaling):
    f0 = pseudo_loglik(data, beta, theta, sigma, w1col, w2col, scaling)
    close(f"{what}: logLik = brute-force pseudo-log-likelihood",
          j["logLik"], f0)
    x0 = np.concatenate([beta, theta, [sigma]])
    worst = -math.inf
    for k in range(len(x0)):
        for sgn in (-1, 1):
            x = x0.copy()
            x[k] += sgn * 1e-4 * max(abs(x0[k]), 0.1)
            f = pseudo_loglik(data, x[:2], x[2:5], x[5], w1col, w2col,
                              scaling)
            worst = max(worst, (f - f0) / abs(f0))
    print(f"{'ok' if worst <= 1e-10 else 'FAIL'}: {what}: no step of 1e-4 "
          f"increases the brute-force criterion (largest change {worst:.3g})")
    if worst > 1e-10:
        BAD.append(f"{what}: not a maximum")


def check(d, np_):
    data = load_data(d)
    f = lambda name: f"{d}/{name}-{np_}.json"
    # 1. all weights 1 = the unweighted ML fit
    same_fit("weights all 1 = unweighted ML", f("ones"), f("ml"))
    # 2. integer level-2 weights = duplicated clusters
    same_fit("integer weight2 = duplicated clusters", f("w2int"), f("dupcl"))
    # 3. integer level-1 weights, scaling none = duplicated rows
    same_fit("integer weight1 (none) = duplicated rows", f("w1int"),
             f("duprow"))
    # 4. weight2 times 7.3: same estimates and robust SEs, logLik x 7.3
    j1, j2 = same_fit("weight2 x 7.3: estimates", f("w2c"), f("w2r"), 7.3)
    close("weight2 x 7.3: robust SEs", robust_se(j1), robust_se(j2))
    # 5. size and effective scaling: the criterion is the brute-force
    # pseudo-log-likelihood, maximised
    for sc, name in (("size", "w2r"), ("effective", "effective")):
        j, b, t, s = est(f(name))
        check_max(f"scaling {sc}", data, j, b, t, s, "w1r", "w2r", sc)
        V = sandwich(data, b, t, s, "w1r", "w2r", sc, "psu", "str")
        close(f"scaling {sc}: sandwich with PSUs and strata",
              j["survey"]["robust_vcov"], V.T.ravel())
        close(f"scaling {sc}: design df", j["survey"]["df"], 7 - 3)
    # 5b. finite population correction: population counts or rates
    for name in ("fpcn", "fpcr"):
        j, b, t, s = est(f(name))
        V = sandwich(data, b, t, s, "w1r", "w2r", "size", "psu", "str",
                     {"A": 10, "B": 6, "C": 5})
        close(f"{name}: sandwich with (1 - n_h/N_h)",
              j["survey"]["robust_vcov"], V.T.ravel())
    # 6. no weights: the sandwich is CR0 times G / (G - 1)
    j, b, t, s = est(f("cr0"))
    close("no weights: estimates = unweighted ML", b, est(f("ml"))[1])
    G = len(data)
    V = cr0(data, b, t, s) * G / (G - 1)
    close("no weights: sandwich = CR0 x G/(G-1)", j["survey"]["robust_vcov"],
          V.T.ravel())
    close("no weights: reported SEs", robust_se(j), np.sqrt(np.diag(V)))
    close("no weights: design df", j["survey"]["df"], G - 1)
    # 7. se = "model": the t tests use the model-based SEs, on the design df
    j = est(f("model"))[0]
    close("se = model: the reported SEs are the model-based ones",
          robust_se(j), [j["fixef_se"][n] for n in ("(Intercept)", "x")])
    close("se = model: design df", j["inference"]["fixed"]["x"]["df"], 4)
    close("se = model: same estimates as se = robust",
          est(f("model"))[1], est(f("w2r"))[1], 1e-15)
    # 8. the joint sandwich (variance components), against numerical
    # scores and Hessian of the brute-force pseudo-log-likelihood
    for name, sc, npop in (("w2r", "size", None),
                           ("effective", "effective", None),
                           ("fpcn", "size", {"A": 10, "B": 6, "C": 5})):
        j, b, t, s = est(f(name))
        check_joint(f"joint {name}", data, j, b, t, s, "w1r", "w2r", sc,
                    "psu", "str", npop)
    j, b, t, s = est(f("cr0"))
    se1 = check_joint("joint, no weights", data, j, b, t, s, None, None,
                      "none", None, None)
    j, b, t, s = est(f("w2c"))
    close("joint: weight2 x 7.3 leaves the variance-component SEs",
          j["survey"]["variance_components"]["robust_se"],
          est(f("w2r"))[0]["survey"]["variance_components"]["robust_se"],
          JTOL)
    # all weights 1, no strata: a constant weight2 changes nothing
    for name in ("ones", "c73"):
        j, b, t, s = est(f(name))
        se = np.array(j["survey"]["variance_components"]["robust_se"])
        close(f"joint: {name} (weights 1, weight2 constant) = no weights",
              se, se1, JTOL)
        close(f"joint: {name}: joint sandwich = no weights",
              j["survey"]["variance_components"]["joint_vcov"],
              est(f("cr0"))[0]["survey"]["variance_components"]["joint_vcov"],
              JTOL)
    # on the boundary (SD 0): the variance components without SEs
    vc = json.load(open(f("boundary")))["survey"]["variance_components"]
    ok = vc["robust_se"] == [None, None] and vc["joint_vcov"] is None \
        and "boundary" in (vc["note"] or "") and vc["estimate"][0] == 0.0
    print(f"{'ok' if ok else 'FAIL'}: on the boundary: no robust SEs of "
          f"the variance components, with the reason ({vc})")
    if not ok:
        BAD.append("boundary")
    print("\n".join(f"FAILED: {b}" for b in BAD))
    return 1 if BAD else 0


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2], sys.argv[3]))
