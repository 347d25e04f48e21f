#!/usr/bin/env bash
# `hlm-mpi import` and `hlm-mpi info` (docs/data-format.md).  What import
# writes is checked with the HDF5 tools (h5dump, h5ls) against the CSV as awk
# and sort read it, never with hlm-mpi's own reader; info is run on files
# written by other tools (h5repack with gzip, h5import, tests/data/h5_fixture.c).
# Every bad input fails on every rank, at 1 and 3 ranks, with a clear message,
# and leaves no output file behind.
. "$(dirname "$0")/../lib.sh"
SEED=$SRC/data/seedlings/seedlings.csv
FIX=$SRC/tests/data
export LC_ALL=C

all() { printf "$1"' %.0s' $(seq "$2") | sed 's/ $//'; }

# h5col FILE DATASET: the values of a 1-D dataset, one a line (floats %.17g).
h5col() {
  h5dump -y -w 0 -m '%.17g' -d "$2" "$1" |
    awk '/^ *DATA \{/ {on = 1; next} on && /^ *\}/ {exit} on' |
    tr ',' '\n' | sed 's/^ *//; s/ *$//; /^$/d'
}
# h5attr FILE OBJECT/ATTR: the strings of an attribute (without newlines,
# quotes or ", "), one a line.
h5attr() {
  h5dump -y -w 0 -a "$2" "$1" |
    awk '/^ *DATA \{/ {on = 1; next} on && /^ *\}/ {exit} on' |
    sed 's/^ *//' | tr '\n' ' ' | sed 's/", "/\n/g; s/^"//; s/" *$//'
  echo
}
# row: the lines of stdin on one line, separated by spaces.
row() { tr '\n' ' ' | sed 's/ $//'; echo; }
# csvcol FILE N: column N of a simple CSV (no quoted commas), quotes removed.
csvcol() { awk -F, -v c="$2" 'NR > 1 {gsub(/"/, "", $c); print $c}' "$1"; }
# same "WHAT" FILE1 FILE2
same() {
  if cmp -s "$2" "$3"; then pass "$1"
  else fail "$1:"; diff "$2" "$3" | head -20 >&2; fi
}
# no_output "WHAT" FILE: neither FILE nor a temporary file next to it.
no_output() {
  if [ -e "$2" ] || ls "$2".tmp.* >/dev/null 2>&1; then
    fail "$1: $2 (or a temporary file) was left behind"
  else pass "$1: no output left behind"; fi
}

# ---- seedlings: the CSV, value by value --------------------------------------
for np in 1 3; do
  H5=$TMP/seed$np.h5
  run_ranks $np import "$SEED" "$H5"
  expect_rcs "import seedlings on $np" "$(all 0 $np)"
  expect_count "$OUT" "56 rows, 4 columns" 1 "row count printed once on $np"
  expect_in "$OUT" "genotype: categorical (2 levels)" "genotype inferred"
  expect_in "$OUT" "tray: categorical (8 levels)" "tray inferred"
  expect_in "$OUT" "seedling: integer" "seedling inferred"
  expect_in "$OUT" "weight: numeric" "weight inferred"
  if ls "$H5".tmp.* >/dev/null 2>&1; then fail "temporary file left on $np"
  else pass "no temporary file left on $np"; fi
done
H5=$TMP/seed1.h5
h5dump -H "$H5" >"$TMP/h"
for c in "genotype H5T_STD_I32LE" "tray H5T_STD_I32LE" \
  "seedling H5T_STD_I64LE" "weight H5T_IEEE_F64LE"; do
  set -- $c
  if h5dump -H -d "/data/$1" "$H5" | grep -q "DATATYPE  $2"; then
    pass "$1 stored as $2"
  else fail "$1 not stored as $2"; fi
done
csvcol "$SEED" 4 | awk '{printf "%.17g\n", $1}' >"$TMP/want"
h5col "$H5" /data/weight >"$TMP/got"
same "the 56 weights equal the CSV" "$TMP/want" "$TMP/got"
csvcol "$SEED" 3 >"$TMP/want"
h5col "$H5" /data/seedling >"$TMP/got"
same "seedling numbers equal the CSV" "$TMP/want" "$TMP/got"
for c in 1:genotype 2:tray; do
  n=${c%%:*} name=${c#*:}
  csvcol "$SEED" "$n" | sort -u >"$TMP/levels"
  h5attr "$H5" "/data/$name/levels" >"$TMP/got"
  same "$name levels are the CSV's labels in byte order" "$TMP/levels" "$TMP/got"
  csvcol "$SEED" "$n" |
    awk 'NR == FNR {code[$1] = NR - 1; next} {print code[$1]}' \
      "$TMP/levels" - >"$TMP/want"
  h5col "$H5" "/data/$name" >"$TMP/got"
  same "$name codes index the levels" "$TMP/want" "$TMP/got"
done
printf 'genotype\ntray\nseedling\nweight\n' >"$TMP/want"
h5attr "$H5" /data/columns >"$TMP/got"
same "attribute columns lists the CSV's order" "$TMP/want" "$TMP/got"
for c in genotype:categorical tray:categorical seedling:integer weight:numeric; do
  h5attr "$H5" "/data/${c%%:*}/hlm_type" >"$TMP/got"
  echo "${c#*:}" >"$TMP/want"
  same "hlm_type of ${c%%:*}" "$TMP/want" "$TMP/got"
done
h5dump -A -a /data/genotype/levels "$H5" >"$TMP/a"
expect_in "$TMP/a" "STRSIZE H5T_VARIABLE" "levels are variable-length strings"
expect_in "$TMP/a" "CSET H5T_CSET_UTF8" "levels are UTF-8"
h5dump -p -H -d /data/weight "$H5" >"$TMP/p"
expect_in "$TMP/p" "CHUNKED ( 56 )" "chunk = min(n, 2^20) rows"

# ---- type inference, missing values, quoting, --type -------------------------
T=$FIX/types.csv
run_ranks 1 import "$T" "$TMP/types.h5"
expect_rcs "import types.csv" "0"
for line in "id: integer" "x: numeric, 2 missing" "n: integer, 2 missing" \
  "g: categorical (2 levels), 2 missing" "mix: categorical (5 levels)" \
  "empty: integer, 5 missing" "txt: categorical (5 levels)" "5 rows"; do
  expect_in "$OUT" "$line" "types.csv: $line"
done
h5col "$TMP/types.h5" /data/x | row >"$TMP/got"
echo "1.5 nan nan inf -2000" >"$TMP/want"
same "numeric values, NA and NaN as NaN, inf kept" "$TMP/want" "$TMP/got"
h5col "$TMP/types.h5" /data/n | row >"$TMP/got"
echo "3 -9223372036854775808 -4 7 -9223372036854775808" >"$TMP/want"
same "integer values, missing as INT64_MIN" "$TMP/want" "$TMP/got"
h5col "$TMP/types.h5" /data/g | row >"$TMP/got"
echo "1 0 -1 -1 0" >"$TMP/want"
same "categorical codes, empty and NA as -1" "$TMP/want" "$TMP/got"
h5attr "$TMP/types.h5" /data/mix/levels | row >"$TMP/got"
echo "1 2 2.5 NaN x" >"$TMP/want"
same "a column with a non-number is categorical, levels in byte order" \
  "$TMP/want" "$TMP/got"
h5dump -A -a /data/txt/levels "$TMP/types.h5" >"$TMP/a"
# (h5dump prints the strings as they are, newline and quotes unescaped)
expect_in "$TMP/a" '(0): "a b", "c,d", "e", "multi' "quoted comma kept"
expect_in "$TMP/a" 'line", "say "hi""' "quoted newline and doubled quote kept"

run_ranks 1 import "$T" "$TMP/types2.h5" --type id=categorical --type n=numeric \
  --type=mix=categorical
expect_rcs "import with --type" "0"
expect_in "$OUT" "id: categorical (5 levels) [--type]" "--type id=categorical"
expect_in "$OUT" "n: numeric, 2 missing [--type]" "--type n=numeric"
h5attr "$TMP/types2.h5" /data/id/levels | row >"$TMP/got"
echo "1 10 2 3 4" >"$TMP/want"
same "declared categorical integers get byte-order levels" "$TMP/want" "$TMP/got"
h5dump -H -d /data/n "$TMP/types2.h5" | grep -q "H5T_IEEE_F64LE" &&
  pass "--type n=numeric writes float64" || fail "n is not float64"

# A column that looks numeric for more than 65536 distinct values and then
# is not (levels collected in an extra pass), with over 64 KiB of levels.
awk 'BEGIN {print "k,lab"; for (i = 1; i <= 70000; i++) print i "," i; print "0,zz"}' \
  >"$TMP/many.csv"
run_ranks 1 import "$TMP/many.csv" "$TMP/many.h5"
expect_rcs "import 70001 levels" "0"
expect_in "$OUT" "lab: categorical (70001 levels)" "late non-number found"
csvcol "$TMP/many.csv" 2 | sort -u >"$TMP/want"
h5attr "$TMP/many.h5" /data/lab/levels >"$TMP/got"
same "70001 levels, all of them, sorted" "$TMP/want" "$TMP/got"

# More than 2^20 rows: two chunks.
awk 'BEGIN {print "i,g"; for (i = 0; i < 1100000; i++) print i "," (i % 7 ? "g" i % 5 : "NA")}' \
  >"$TMP/big.csv"
run_ranks 3 import "$TMP/big.csv" "$TMP/big.h5"
expect_rcs "import 1.1 million rows on 3" "0 0 0"
expect_in "$OUT" "g: categorical (5 levels), 157143 missing" "big: missing count"
h5dump -p -H -d /data/i "$TMP/big.h5" >"$TMP/p"
expect_in "$TMP/p" "CHUNKED ( 1048576 )" "chunks of 2^20 rows"
h5dump -y -w 0 -d /data/i -s 1048570 -c 10 "$TMP/big.h5" >"$TMP/p"
expect_in "$TMP/p" "1048570, 1048571, 1048572, 1048573, 1048574, 1048575, 1048576, 1048577, 1048578, 1048579" \
  "values across the chunk boundary"

# ---- info ----------------------------------------------------------------------
for np in 1 3; do
  run_ranks $np info "$TMP/seed1.h5"
  expect_rcs "info on $np" "$(all 0 $np)"
  expect_count "$OUT" "group /data: 56 rows, 4 columns" 1 "info printed once on $np"
done
expect_in "$OUT" "2: A, B" "info lists genotype's levels"
expect_in "$OUT" "8: T1, T2, T3, T4, T5, ..." "info lists the first tray levels"
grep "weight" "$OUT" | grep -q "numeric *float64, chunked (56) *0" &&
  pass "info: weight numeric float64, 0 missing" || fail "info: weight line"
run_ranks 1 info "$TMP/types.h5"
grep "^  x " "$OUT" | grep -q "numeric .* 2$" && pass "info counts NaN" ||
  fail "info: x should have 2 missing"
grep "^  n " "$OUT" | grep -q "integer .* 2$" && pass "info counts INT64_MIN" ||
  fail "info: n should have 2 missing"

h5repack -f GZIP=6 "$TMP/seed1.h5" "$TMP/gzip.h5"
h5dump -p -H -d /data/weight "$TMP/gzip.h5" | grep -q "DEFLATE" &&
  pass "h5repack compressed the file" || fail "h5repack did not compress"
run_ranks 3 info "$TMP/gzip.h5"
expect_rcs "info on a gzip file" "0 0 0"
expect_in "$OUT" "float64, chunked (56), gzip 6" "info names the compression"
expect_in "$OUT" "8: T1, T2, T3, T4, T5, ..." "info reads compressed codes"

# Variable-length ASCII strings and float32, written by h5import.
printf 'a\nbb\n\nccc\nbb\n' >"$TMP/s.txt"
printf 'PATH /data/name\nINPUT-CLASS STR\n' >"$TMP/s.cfg"
printf '1.5 nan 3.5 4.5 0\n' >"$TMP/f.txt"
printf 'PATH /data/x\nINPUT-CLASS TEXTFP\nINPUT-SIZE 32\nRANK 1\nDIMENSION-SIZES 5\nOUTPUT-CLASS FP\nOUTPUT-SIZE 32\n' \
  >"$TMP/f.cfg"
h5import "$TMP/s.txt" -c "$TMP/s.cfg" "$TMP/f.txt" -c "$TMP/f.cfg" \
  -o "$TMP/imported.h5" || fail "h5import failed"
run_ranks 1 info "$TMP/imported.h5"
expect_rcs "info on an h5import file" "0"
expect_in "$OUT" "5 rows, 2 columns" "h5import file: rows"
grep "^  name " "$OUT" | grep -q "categorical  string (variable length, ASCII), contiguous *1  3: a, bb, ccc" &&
  pass "info: variable-length strings" || fail "info: name line"
grep "^  x " "$OUT" | grep -q "numeric .*float32.* 1$" &&
  pass "info: float32 with a NaN" || fail "info: x line"

# Fixed-length space-padded strings, int8 codes, int16, uint8 (h5_fixture.c).
if [ -n "${HLM_H5_FIXTURE:-}" ] && "$HLM_H5_FIXTURE" "$TMP/fixture.h5"; then
  run_ranks 3 info "$TMP/fixture.h5"
  expect_rcs "info on the fixture" "0 0 0"
  expect_in "$OUT" "5 rows, 5 columns" "fixture: rows"
  grep "^  site " "$OUT" | grep -q "string (fixed, 6 bytes, ASCII), contiguous *1  3: east, north, south" &&
    pass "info: fixed-length strings" || fail "info: site line"
  grep "^  code " "$OUT" | grep -q "categorical  int8, contiguous *1  3: low, mid, high" &&
    pass "info: int8 codes keep their level order" || fail "info: code line"
  grep "^  count " "$OUT" | grep -q "integer .*int16.* 1$" &&
    pass "info: smallest int16 is missing" || fail "info: count line"
  grep "^  small " "$OUT" | grep -q "integer .*uint8.* 0$" &&
    pass "info: unsigned has no missing value" || fail "info: small line"
  for np in 1 3; do
    run_ranks $np info "$TMP/fixture.h5" --group uneven
    expect_rcs "info: uneven columns on $np" "$(all 5 $np)"
    expect_in "$ERR" "different lengths (rows: \`a\` 5, \`b\` 4)" \
      "info names the columns of different lengths"
    run_ranks $np info "$TMP/fixture.h5" --group twod
    expect_rcs "info: 2-D dataset on $np" "$(all 5 $np)"
    expect_in "$ERR" "column \`m\` is not one-dimensional" "info: 2-D named"
  done
else
  fail "HLM_H5_FIXTURE not set or h5_fixture failed"
fi

# ---- adding to an existing file ----------------------------------------------------
cp "$TMP/seed1.h5" "$TMP/two.h5"
run_ranks 3 import "$T" "$TMP/two.h5" --group more/types
expect_rcs "import into a new group of an existing file" "0 0 0"
h5ls -r "$TMP/two.h5" >"$TMP/ls"
expect_in "$TMP/ls" "/data/weight" "the old group is kept"
expect_in "$TMP/ls" "/more/types/txt" "the new (nested) group is there"
run_ranks 1 info "$TMP/two.h5" --group /more/types
expect_in "$OUT" "group /more/types: 5 rows, 7 columns" "info --group"

# A failure after the group was created removes it again; the file stays good.
for np in 1 3; do
  cp "$TMP/seed1.h5" "$TMP/fault.h5"
  HLM_FAULT_INJECT=import_write@0 run_ranks $np import "$T" "$TMP/fault.h5" --group g/h
  expect_rcs "fault while writing an existing file on $np" "$(all 1 $np)"
  h5ls -r "$TMP/fault.h5" >"$TMP/ls"
  if grep -q "^/g " "$TMP/ls"; then fail "partial group left in the file"
  else pass "partial group deleted on $np"; fi
  expect_in "$TMP/ls" "/data/weight" "the other group survives"
  HLM_FAULT_INJECT=import_write@0 run_ranks $np import "$T" "$TMP/fault-new.h5"
  expect_rcs "fault while writing a new file on $np" "$(all 1 $np)"
  no_output "failed new file on $np" "$TMP/fault-new.h5"
done

# ---- bad input: every rank fails, no output ---------------------------------------
printf '' >"$TMP/empty.csv"
printf '"a","b"\n' >"$TMP/header.csv"
printf 'a,b\n1,2\n3,4,5\n' >"$TMP/long.csv"
printf 'a,b\r\n1,2\r\n3\r\n' >"$TMP/crlf.csv"
printf 'a,b\n1,"two\nlines"\n2\n' >"$TMP/multiline.csv"
printf 'a,b,a\n1,2,3\n' >"$TMP/dup.csv"
printf 'a,,c\n1,2,3\n' >"$TMP/noname.csv"
printf 'a,b\n1,2\n3,x"y\n' >"$TMP/quote.csv"
printf 'a,b\n1,"open\n2,3\n' >"$TMP/open.csv"
printf 'id,weight\n' >"$TMP/weight.csv"
for i in $(seq 1 15); do echo "$i,$i.5" >>"$TMP/weight.csv"; done
echo "16,abc" >>"$TMP/weight.csv"
echo "not HDF5" >"$TMP/text.h5"
cp "$TMP/text.h5" "$TMP/text.orig"

# bad_case RC "ARGS" "MESSAGE" [OUTPUT]: at 1 and 3 ranks.
bad_case() {
  local rc=$1 args=$2 msg=$3 out=${4:-$TMP/out.h5} np
  for np in 1 3; do
    rm -f "$TMP/out.h5"
    run_ranks $np $args
    expect_rcs "$args on $np" "$(all "$rc" $np)"
    expect_in "$ERR" "$msg" "message: $msg"
    [ "$out" = none ] || no_output "$args on $np" "$out"
  done
}
bad_case 6 "import $TMP/missing.csv $TMP/out.h5" "cannot open CSV file '$TMP/missing.csv'"
bad_case 5 "import $TMP/empty.csv $TMP/out.h5" "empty.csv is empty"
bad_case 5 "import $TMP/header.csv $TMP/out.h5" "header.csv has a header but no data rows"
bad_case 5 "import $TMP/long.csv $TMP/out.h5" "long.csv:3: 3 fields, but the header has 2 columns"
bad_case 5 "import $TMP/crlf.csv $TMP/out.h5" "crlf.csv:3: 1 field, but the header has 2 columns"
bad_case 5 "import $TMP/multiline.csv $TMP/out.h5" "multiline.csv:4: 1 field"
bad_case 5 "import $TMP/dup.csv $TMP/out.h5" "dup.csv:1: column name \`a\` appears twice (columns 1 and 3)"
bad_case 5 "import $TMP/noname.csv $TMP/out.h5" "noname.csv:1: column 2 has an empty name"
bad_case 5 "import $TMP/quote.csv $TMP/out.h5" "quote.csv:3: malformed CSV"
bad_case 5 "import $TMP/open.csv $TMP/out.h5" "open.csv:2: a quoted field is not closed"
bad_case 5 "import $TMP/weight.csv $TMP/out.h5 --type weight=numeric" \
  "weight.csv:17: column \`weight\`: \`abc\` is not a number"
bad_case 5 "import $TMP/weight.csv $TMP/out.h5 --type id=integer --type weight=integer" \
  "weight.csv:2: column \`weight\`: \`1.5\` is not an integer"
bad_case 5 "import $SEED $TMP/out.h5 --type wieght=numeric" \
  "--type names column \`wieght\`, which $SEED does not have (its columns: genotype, tray, seedling, weight)"
bad_case 2 "import $SEED $TMP/out.h5 --type weight=real" "unknown type 'real'"
bad_case 2 "import $SEED $TMP/out.h5 --type weight" "--type needs COL=KIND"
bad_case 2 "import $SEED" "usage: hlm-mpi import"
bad_case 2 "import $SEED $TMP/out.h5 extra" "unexpected argument 'extra'"
bad_case 2 "import $SEED $TMP/out.h5 --group" "--group needs a NAME"
bad_case 5 "import $SEED $TMP/two.h5" \
  "two.h5 already holds \`/data\`, which import never overwrites (groups there: data, more)" none
bad_case 6 "import $SEED $TMP/text.h5" "text.h5 exists and is not an HDF5 file" none
same "a file that is not HDF5 is left alone" "$TMP/text.orig" "$TMP/text.h5"
bad_case 6 "info $TMP/missing.h5" "cannot open data file '$TMP/missing.h5'" none
bad_case 5 "info $TMP/text.h5" "'$TMP/text.h5' is not an HDF5 file" none
bad_case 5 "info $TMP/two.h5 --group nope" \
  "has no group \`nope\`; groups there: data, more" none
bad_case 2 "info" "usage: hlm-mpi info DATA.h5 [--group NAME]" none
finish
