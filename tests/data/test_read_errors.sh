#!/usr/bin/env bash
# Bad data files reach `hlm-mpi check` (the parallel reader) with a clear
# message and a non-zero exit on every rank, at 1 and 3 ranks; so do data a
# model cannot be fitted to (a constant response, a grouping factor with one
# level or with as many levels as rows); a file written by another tool
# with chunking and compression simply works.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

# Fixtures written with h5py (an independent writer).
"$PY" - "$TMP" <<'PYEOF'
import sys, h5py, numpy as np
d = sys.argv[1]
y = np.arange(12, dtype=float); g = np.array([b"a", b"b", b"c"] * 4)
def write(name, cols, group="data", **kw):
    with h5py.File(f"{d}/{name}.h5", "w") as f:
        grp = f.create_group(group)
        for k, v in cols.items():
            grp.create_dataset(k, data=v, **kw)
write("good_gzip", {"y": y, "g": g}, chunks=(5,), compression="gzip",
      shuffle=True, fletcher32=True)
write("ragged", {"y": y, "g": g[:11]})
write("other_group", {"y": y, "g": g}, group="survey")
write("empty", {"y": y[:0], "g": g[:0]})
write("text_y", {"y": np.array([b"x"] * 12), "g": g})
with h5py.File(f"{d}/bad_type.h5", "w") as f:
    grp = f.create_group("data")
    grp.create_dataset("y", data=y)
    ds = grp.create_dataset("g", data=g)
    ds.attrs["hlm_type"] = "numeric"
with h5py.File(f"{d}/bad_code.h5", "w") as f:
    grp = f.create_group("data")
    grp.create_dataset("y", data=y)
    ds = grp.create_dataset("g", data=np.array([0, 1, 2, 7] * 3, dtype=np.int32))
    ds.attrs["levels"] = ["a", "b", "c"]
write("const_y", {"y": np.full(12, 5.0), "g": g})
write("one_level", {"y": y, "g": np.array([b"a"] * 12)})
write("all_levels", {"y": y, "g": np.array([b"l%02d" % i for i in range(12)])})
w = np.ones(12); w[10] = -2.0
write("neg_weight", {"y": y, "g": g, "w": w})
w0 = np.ones(12); w0[7] = 0.0
write("zero_weight", {"y": y, "g": g, "w": w0})
with h5py.File(f"{d}/all_missing.h5", "w") as f:
    grp = f.create_group("data")
    grp.create_dataset("y", data=np.full(12, np.nan))
    grp.create_dataset("g", data=g)
PYEOF
echo "this is not HDF5" > "$TMP/not_hdf5.h5"

config() { # config NAME FILE [GROUP]
  cat > "$TMP/$1.toml" <<EOT
[data]
file = "$2"
group = "${3:-data}"
[model]
formula = "y ~ 1 + (1 | g)"
EOT
}

# case NAME FILE EXPECTED-CODE "message fragment"
check_case() {
  local name=$1 file=$2 code=$3 frag=$4 np
  config "$name" "$file"
  for np in 1 3; do
    run_ranks $np check "$TMP/$name.toml"
    expect_rcs "$name on $np ranks" "$(printf "$code"' %.0s' $(seq $np) | sed 's/ $//')"
    expect_in "$([ "$code" -eq 0 ] && echo "$OUT" || echo "$ERR")" "$frag" \
      "$name: message on $np ranks"
  done
}

check_case missing "$TMP/nowhere.h5" 6 "cannot open data file '$TMP/nowhere.h5'"
check_case not_hdf5 "$TMP/not_hdf5.h5" 5 "is not an HDF5 file"
check_case no_group "$TMP/other_group.h5" 5 "has no group \`data\`; groups there: survey"
check_case ragged "$TMP/ragged.h5" 5 "different lengths"
check_case empty "$TMP/empty.h5" 5 "holds no data"
check_case text_y "$TMP/text_y.h5" 5 "the response \`y\` is categorical"
check_case bad_type "$TMP/bad_type.h5" 5 "hlm_type 'numeric' does not fit its data (strings)"
check_case bad_code "$TMP/bad_code.h5" 5 "row 4: code 7"
check_case all_missing "$TMP/all_missing.h5" 5 "no rows left to fit"
check_case csv "$SRC/data/seedlings/seedlings.csv" 4 "is a CSV file"
check_case const_y "$TMP/const_y.h5" 5 "the response \`y\` has no variation: every row used has the value 5"
check_case one_level "$TMP/one_level.h5" 5 "the grouping factor \`g\` has 1 level"
check_case all_levels "$TMP/all_levels.h5" 5 "has 12 levels for 12 rows"
check_case good_gzip "$TMP/good_gzip.h5" 0 "3 levels"

# Precision weights must be positive: the rank holding the bad row names it,
# every rank stops.  (A missing weight drops the row, like any missing value.)
weights_case() { # weights_case NAME ROW VALUE
  config "$1" "$TMP/$1.h5"
  sed -i 's/^group = .*/&\nweights = "w"/' "$TMP/$1.toml"
  for np in 1 3; do
    run_ranks $np fit "$TMP/$1.toml"
    expect_rcs "$1 on $np ranks" "$(printf '5 %.0s' $(seq $np) | sed 's/ $//')"
    expect_in "$ERR" "weights column 'w', row $2: weight $3 is not positive" \
      "$1: row named on $np ranks"
  done
}
weights_case neg_weight 11 -2
weights_case zero_weight 8 0

# A missing column lists the columns that are there.
config nocol "$TMP/good_gzip.h5"
sed -i 's/y ~ 1/z ~ 1/' "$TMP/nocol.toml"
for np in 1 3; do
  run_ranks $np check "$TMP/nocol.toml"
  expect_rcs "missing column on $np ranks" "$(printf '5 %.0s' $(seq $np) | sed 's/ $//')"
  expect_in "$ERR" "no column \`z\` in group \`data\`" "missing column named"
  expect_in "$ERR" "columns there: g, y" "existing columns listed"
done
finish
