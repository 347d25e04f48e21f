#!/usr/bin/python3
"""Write a CSV file into the hlm-mpi HDF5 layout with h5py: an independent
writer (not hlm-mpi's import) for the data-layer tests.

usage: csv_to_h5.py DATA.csv OUT.h5 STYLE [--group NAME] [--shuffle SEED]

STYLE says how categorical (text) columns are stored:
  vlen    variable-length UTF-8 strings (h5py's default for str)
  fixed   fixed-length, NUL-padded byte strings
  coded   int32 codes with a `levels` attribute (levels sorted, -1 = missing)
  gzip    like coded, chunked (7 rows a chunk) and gzip-compressed, shuffled
Numbers are float64, integers int64.  --shuffle writes the rows in a random
order (the row index in the file is then the shuffled position; the test
compares by the `__row` column this script adds, the CSV row number).
"""
import argparse
import csv
import random

import h5py
import numpy as np


def classify(values):
    def ok(conv):
        for v in values:
            if v in ("", "NA"):
                continue
            try:
                conv(v)
            except ValueError:
                return False
        return True
    if ok(int):
        return "integer"
    if ok(float):
        return "numeric"
    return "categorical"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("out")
    ap.add_argument("style", choices=["vlen", "fixed", "coded", "gzip"])
    ap.add_argument("--group", default="data")
    ap.add_argument("--shuffle", type=int)
    a = ap.parse_args()
    with open(a.csv, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    body = [r + [str(i)] for i, r in enumerate(body)]
    header = header + ["__row"]
    if a.shuffle is not None:
        random.Random(a.shuffle).shuffle(body)
    chunk = dict(chunks=(7,), compression="gzip", compression_opts=6,
                 shuffle=True) if a.style == "gzip" else {}
    with h5py.File(a.out, "w") as h:
        g = h.create_group(a.group)
        for j, name in enumerate(header):
            col = [r[j] for r in body]
            kind = classify(col)
            if kind == "integer":
                data = np.array([np.iinfo(np.int64).min if v in ("", "NA")
                                 else int(v) for v in col], dtype=np.int64)
                g.create_dataset(name, data=data, **chunk)
            elif kind == "numeric":
                data = np.array([np.nan if v in ("", "NA") else float(v)
                                 for v in col], dtype=np.float64)
                g.create_dataset(name, data=data, **chunk)
            elif a.style == "vlen":
                g.create_dataset(name, data=col,
                                 dtype=h5py.string_dtype("utf-8"))
            elif a.style == "fixed":
                g.create_dataset(name, data=np.array(
                    [v.encode() for v in col], dtype="S"))
            else:
                levels = sorted({v for v in col if v not in ("", "NA")})
                code = {v: i for i, v in enumerate(levels)}
                data = np.array([code.get(v, -1) for v in col], dtype=np.int32)
                d = g.create_dataset(name, data=data, **chunk)
                d.attrs["levels"] = levels
        if a.style != "vlen":
            g.attrs["columns"] = header


main()
