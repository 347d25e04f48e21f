#!/usr/bin/python3
"""Check HDF5 results files of hlm-mpi (docs/results-format.md) with h5py,
not with hlm-mpi's code.

    check_results_h5.py CSV LME4_JSON|- FILE.h5 [FILE.h5 ...]

For every file: every documented dataset and attribute exists with its
documented shape and type; with a lme4.json (not "-"), the fixed effects
(1e-6 relative), variance components, criterion and the BLUPs and
conditional variances (1e-5 relative, 1e-7 absolute near 0) equal lme4's,
and the fitted values equal X beta + Z u computed here from lme4's
estimates and the CSV.  When the file has fitted values: fitted + residual
equals the response of the CSV row by row (rows with a missing value in a
model column are NaN), and the fitted values equal X beta + Z u computed
from the file's own estimates.  All files must hold the same values
(1e-8 relative), whatever the rank count that wrote them."""
import csv
import json
import sys

import h5py
import numpy as np

F8, I8, S = "f8", "i8", "S"
# path: (kind, shape); shapes name the sizes of docs/results-format.md
SCHEMA = {
    "fit/reml": (I8, ()), "fit/criterion": (F8, ()), "fit/logLik": (F8, ()),
    "fit/AIC": (F8, ()), "fit/BIC": (F8, ()), "fit/sigma": (F8, ()),
    "fit/known_sd": (I8, ()), "fit/nobs": (I8, ()), "fit/npar": (I8, ()),
    "fit/df_resid": (I8, ()), "fit/singular": (I8, ()),
    "fit/converged": (I8, ()), "fit/theta": (F8, ("ntheta",)),
    "ngrps/name": (S, ("ngrps",)), "ngrps/nlevels": (I8, ("ngrps",)),
    "fixed/name": (S, ("p",)), "fixed/estimate": (F8, ("p",)),
    "fixed/se": (F8, ("p",)), "fixed/vcov": (F8, ("p", "p")),
    "varcorr/grp": (S, ("nvc",)), "varcorr/var1": (S, ("nvc",)),
    "varcorr/var2": (S, ("nvc",)), "varcorr/vcov": (F8, ("nvc",)),
    "varcorr/sdcor": (F8, ("nvc",)),
    "optimizer/evaluations": (I8, ()), "optimizer/code": (I8, ()),
    "optimizer/converged": (I8, ()), "optimizer/seconds": (F8, ()),
    "optimizer/ranks": (I8, ()),
    "optimizer/history": (F8, ("nevals", "ntheta1")),
    "inference/fixed/name": (S, ("p",)),
    "inference/contrasts/name": (S, ("ncon",)),
    "inference/contrasts/coefficients": (F8, ("ncon", "p")),
    "inference/varpar_cov": (F8, ("nvp", "nvp")),
}
for col in ("estimate", "se", "df", "t", "p", "lower", "upper"):
    SCHEMA["inference/fixed/" + col] = (F8, ("p",))
    SCHEMA["inference/contrasts/" + col] = (F8, ("ncon",))
TERM = {"columns": (S, ("k",)), "levels": (S, ("nlev",)),
        "values": (F8, ("nlev", "k")), "condvar": (F8, ("nlev", "k"))}
ROWS = {"rows/fitted": (F8, ("nrows",)), "rows/residual": (F8, ("nrows",))}
ATTRS = {"/": {"format": S, "format_version": I8, "program": S,
               "version": S, "created": S, "formula": S, "method": S,
               "config_path": S, "config": S, "data_file": S,
               "data_group": S, "ranks": I8},
         "fit": {"criterion_name": S}, "optimizer": {"name": S},
         "inference": {"df_method": S, "confidence_level": F8},
         "ranef": {"nterms": I8}}
TERM_ATTRS = {"group": S, "term": I8, "global": I8}
ROW_ATTRS = {"nrows": I8, "nobs": I8}

bad = []


def err(msg):
    bad.append(msg)


def kind_ok(kind, dtype):
    return {F8: dtype == np.float64, I8: dtype == np.int64,
            S: dtype.kind == "S"}[kind]


def check_ds(f, path, kind, shape, sizes, where):
    if path not in f:
        return err(f"{where}: no dataset {path}")
    d = f[path]
    want = tuple(sizes[s] for s in shape)
    if d.shape != want:
        err(f"{where}: {path} has shape {d.shape}, expected {want}")
    if not kind_ok(kind, d.dtype):
        err(f"{where}: {path} has type {d.dtype}, expected {kind}")


def check_attrs(obj, spec, where):
    for name, kind in spec.items():
        if name not in obj.attrs:
            err(f"{where}: no attribute {name}")
            continue
        v = np.asarray(obj.attrs[name])
        if v.shape != () or not kind_ok(kind, v.dtype):
            err(f"{where}: attribute {name} is {v.dtype}{v.shape}, "
                f"expected scalar {kind}")


def strings(d):
    return [x.decode() for x in d[()]]


def check_schema(f, where):
    sizes = {"p": f["fixed/estimate"].shape[0],
             "ntheta": f["fit/theta"].shape[0],
             "ngrps": f["ngrps/nlevels"].shape[0],
             "nvc": f["varcorr/vcov"].shape[0],
             "ncon": f["inference/contrasts/estimate"].shape[0]}
    sizes["nvp"] = sizes["ntheta"] + 1
    sizes["ntheta1"] = sizes["ntheta"] + 1
    sizes["nevals"] = int(f["optimizer/evaluations"][()])
    for path, (kind, shape) in SCHEMA.items():
        check_ds(f, path, kind, shape, sizes, where)
    for obj, spec in ATTRS.items():
        check_attrs(f[obj], spec, f"{where}:{obj}")
    hist = f["optimizer/history"][()]
    crit = f["fit/criterion"][()]
    if hist.shape[0] and abs(hist[:, -1].min() - crit) > 1e-12 * abs(crit):
        err(f"{where}: the history's smallest criterion {hist[:, -1].min()!r} "
            f"is not the fit's {crit!r}")
    if len(f["ranef"]) != f["ranef"].attrs["nterms"]:
        err(f"{where}: ranef has {len(f['ranef'])} groups, nterms says "
            f"{f['ranef'].attrs['nterms']}")
    for name, g in f["ranef"].items():
        sz = dict(sizes, k=g["columns"].shape[0], nlev=g["levels"].shape[0])
        for ds, (kind, shape) in TERM.items():
            check_ds(f, f"ranef/{name}/{ds}", kind, shape, sz, where)
        check_attrs(g, TERM_ATTRS, f"{where}:ranef/{name}")
    if "rows" in f:
        sz = dict(sizes, nrows=f["rows"].attrs["nrows"])
        for path, (kind, shape) in ROWS.items():
            check_ds(f, path, kind, shape, sz, where)
        check_attrs(f["rows"], ROW_ATTRS, f"{where}:rows")


def close(a, b, rel, what, absolute=0.0):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return err(f"{what}: shape {a.shape} vs {b.shape}")
    tol = rel * np.abs(b) + absolute
    worst = np.max(np.abs(a - b) - tol, initial=-1.0)
    if worst > 0 or np.any(np.isnan(a) != np.isnan(b)):
        err(f"{what}: differ by up to {np.nanmax(np.abs(a - b))}")


def ranef_by_term(f):
    """term label (group) -> (columns, {level: (values, condvar)})."""
    out = {}
    for g in f["ranef"].values():
        levels = strings(g["levels"])
        vals, cv = g["values"][()], g["condvar"][()]
        out[g.attrs["group"].decode()] = (
            strings(g["columns"]),
            {lev: (vals[i], cv[i]) for i, lev in enumerate(levels)})
    return out


def check_lme4(f, ref, where):
    names = strings(f["fixed/name"])
    est = dict(zip(names, f["fixed/estimate"][()]))
    se = dict(zip(names, f["fixed/se"][()]))
    for k, v in ref["fixef"].items():
        close(est[k], v, 1e-6, f"{where}: fixef {k}")
        close(se[k], ref["fixef_se"][k], 1e-6, f"{where}: se {k}")
    close(np.sqrt(np.diag(f["fixed/vcov"][()])), f["fixed/se"][()], 1e-12,
          f"{where}: sqrt(diag(vcov)) = se")
    close(f["fit/criterion"][()], ref["deviance_or_reml_criterion"], 1e-7,
          f"{where}: criterion")
    for k in ("logLik", "AIC", "BIC", "sigma"):
        close(f["fit/" + k][()], ref[k], 1e-6, f"{where}: {k}")
    if f["fit/nobs"][()] != ref["nobs"]:
        err(f"{where}: nobs {f['fit/nobs'][()]} vs {ref['nobs']}")
    ng = dict(zip(strings(f["ngrps/name"]), f["ngrps/nlevels"][()]))
    if ng != ref["ngrps"]:
        err(f"{where}: ngrps {ng} vs {ref['ngrps']}")
    vc = f["varcorr"]
    got = {(g, a, b): (x, y) for g, a, b, x, y in zip(
        strings(vc["grp"]), strings(vc["var1"]), strings(vc["var2"]),
        vc["vcov"][()], vc["sdcor"][()])}
    for r in ref["varcorr"]:
        key = (r["grp"], r["var1"] or "", r["var2"] or "")
        if key not in got:
            err(f"{where}: no varcorr row {key}")
            continue
        close(got[key], (r["vcov"], r["sdcor"]), 1e-5, f"{where}: {key}")
    mine = ranef_by_term(f)
    for t in ref["ranef"]:
        if t["term"] not in mine:
            err(f"{where}: no ranef term {t['term']}")
            continue
        cols, levels = mine[t["term"]]
        if sorted(levels) != sorted(t["levels"]):
            err(f"{where}: {t['term']} levels differ")
            continue
        v = np.array([levels[lev][0] for lev in t["levels"]]).T
        c = np.array([levels[lev][1] for lev in t["levels"]]).T
        close(v, t["values"], 1e-5, f"{where}: BLUPs {t['term']}", 1e-7)
        close(c, t["condvar"], 1e-5, f"{where}: condvar {t['term']}", 1e-7)


def xb_zu(rows, fixef, terms):
    """X beta + Z u for CSV rows (dicts); fixef: name -> value; terms:
    group -> (columns, {level: values}).  NaN when a value is missing."""
    def val(row, name):
        if name == "(Intercept)":
            return 1.0
        if name not in row:  # a factor's indicator, "genotypeB"
            col = next(c for c in row if name.startswith(c))
            return float(row[col] == name[len(col):])
        return float(row[name]) if row[name] not in ("", "NA") else np.nan
    out = []
    for row in rows:
        v = sum(b * val(row, k) for k, b in fixef.items())
        for group, (cols, levels) in terms.items():
            lab = ":".join(row[g] for g in group.split(":"))
            u = levels.get(lab)
            v += np.nan if u is None else sum(
                u[i] * val(row, c) for i, c in enumerate(cols))
        out.append(v)
    return np.array(out)


def check_rows(f, rows, ref, where):
    y_name = f.attrs["formula"].decode().split("~")[0].strip()
    y = np.array([float(r[y_name]) if r[y_name] not in ("", "NA") else np.nan
                  for r in rows])
    fit, res = f["rows/fitted"][()], f["rows/residual"][()]
    if f["rows"].attrs["nrows"] != len(rows):
        return err(f"{where}: nrows {f['rows'].attrs['nrows']} vs CSV "
                   f"{len(rows)}")
    used = ~np.isnan(fit)
    if used.sum() != f["fit/nobs"][()]:
        err(f"{where}: {used.sum()} fitted values, nobs {f['fit/nobs'][()]}")
    close(fit + res, y, 1e-12, f"{where}: fitted + residual = y", 1e-9)
    names = strings(f["fixed/name"])
    fx = dict(zip(names, f["fixed/estimate"][()]))
    mine = {g: (c, {k: v[0] for k, v in lv.items()})
            for g, (c, lv) in ranef_by_term(f).items()}
    want = xb_zu(rows, fx, mine)
    close(np.where(used, fit, np.nan), np.where(used, want, np.nan), 1e-10,
          f"{where}: fitted = X beta + Z u (the file's estimates)", 1e-8)
    if ref is None:
        return
    lme4 = {t["term"]: (mine[t["term"]][0],
                        {lev: np.array(t["values"])[:, i]
                         for i, lev in enumerate(t["levels"])})
            for t in ref["ranef"]}
    close(fit, xb_zu(rows, ref["fixef"], lme4), 1e-7,
          f"{where}: fitted = X beta + Z u (lme4's estimates)", 1e-6)


def values(f):
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and not name.startswith("optimizer/seconds"):
            out[name] = obj[()]
    f.visititems(visit)
    return out


def same_values(a, b, where):
    if sorted(a) != sorted(b):
        return err(f"{where}: different datasets: "
                   f"{sorted(set(a) ^ set(b))}")
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if k in ("optimizer/ranks",):
            continue
        if x.dtype.kind == "S" or x.dtype.kind == "i":
            if x.shape != y.shape or np.any(x != y):
                err(f"{where}: {k} differs")
        else:
            close(x, y, 1e-8, f"{where}: {k}", 1e-10)


def main():
    csv_path, ref_path, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    rows = list(csv.DictReader(open(csv_path, newline="")))
    ref = None if ref_path == "-" else json.load(open(ref_path))
    first = None
    for path in files:
        with h5py.File(path, "r") as f:
            check_schema(f, path)
            if bad:
                break
            r = None
            if ref is not None:
                r = ref["REML" if f["fit/reml"][()] else "ML"]
                check_lme4(f, r, path)
            if "rows" in f:
                check_rows(f, rows, r, path)
            v = values(f)
        if first is None:
            first = (path, v)
        else:
            same_values(v, first[1], f"{path} vs {first[0]}")
    print("\n".join(bad) if bad else f"{len(files)} file(s) agree")
    sys.exit(1 if bad else 0)


main()
