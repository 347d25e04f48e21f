#!/usr/bin/env bash
# The HDF5 results file (issue 10, docs/results-format.md), read back with
# h5py (tests/cli/check_results_h5.py), not with hlm-mpi's code:
# - sleepstudy (correlated slopes, a contrast), pastes (nested) and
#   penicillin (crossed) at 1-4 ranks, seedlings_weighted at 1 and 3: every documented dataset, lme4's
#   estimates and BLUPs (data/<set>/lme4.json), fitted + residual = y in the
#   CSV's row order, the same values at every rank count;
# - rows shuffled and some responses missing: fitted values in input order,
#   NaN for the rows not used;
# - an existing file is not overwritten (and the run stops before the fit)
#   unless overwrite = true;
# - a failure while writing (HLM_FAULT_INJECT) leaves no file and no
#   temporary; kill -9 while writing leaves nothing or the previous file.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
CHECK=$SRC/tests/cli/check_results_h5.py

conf() { # conf FILE SET FORMULA RESULTS [OUTPUT-TOML] [MODEL-TOML]
  cat > "$1" <<EOT
[data]
file = "$SRC/data/$2/$2.h5"
[model]
formula = "$3"
${6:-}
[output]
results = "$4"
summary = "$4.json"
fitted = true
${5:-}
EOT
}

zeros() { printf '0 %.0s' $(seq "$1") | sed 's/ $//'; }
same_codes() { printf "$1"' %.0s' $(seq "$2") | sed 's/ $//'; }

check_files() { # check_files WHAT CSV REF FILES...
  local what=$1; shift
  if "$PY" "$CHECK" "$@" > "$TMP/check" 2>&1; then pass "$what: $(cat "$TMP/check")"
  else fail "$what: $(cat "$TMP/check")"; fi
}

no_temps() { # no_temps WHAT: no PATH.tmp.* left in $TMP
  local left; left=$(find "$TMP" -name '*.tmp.*' | head -3)
  if [ -z "$left" ]; then pass "$1: no temporary file left"
  else fail "$1: temporaries left: $left"; fi
}

# ---- reference sets at 1-4 ranks ------------------------------------------
run_set() { # run_set SET FORMULA [EXTRA-TOML]
  local set=$1 formula=$2 files=""
  for np in 1 2 3 4; do
    conf "$TMP/$set.toml" "$set" "$formula" "$TMP/$set.np$np.h5" "${3:-}"
    run_ranks $np "$TMP/$set.toml"
    expect_rcs "$set on $np ranks" "$(zeros $np)"
    files="$files $TMP/$set.np$np.h5"
  done
  check_files "$set at 1-4 ranks" "$SRC/data/$set/$set.csv" \
    "$SRC/data/$set/lme4.json" $files
}
run_set sleepstudy "Reaction ~ Days + (Days | Subject)" \
  $'[[contrast]]\nname = "slope"\ncoefficients = { Days = 1 }'
run_set pastes "strength ~ 1 + (1 | batch/cask)"
run_set penicillin "diameter ~ 1 + (1 | plate) + (1 | sample)"
# precision weights: fitted and residual on the response's scale
files=""
for np in 1 3; do
  conf "$TMP/sw.toml" seedlings_weighted "weight ~ genotype + (1 | tray)" \
    "$TMP/sw.np$np.h5"
  sed -i '/^file = /a weights = "w"' "$TMP/sw.toml"
  run_ranks $np "$TMP/sw.toml"
  expect_rcs "seedlings_weighted on $np ranks" "$(zeros $np)"
  files="$files $TMP/sw.np$np.h5"
done
check_files "seedlings_weighted (weights = w)" \
  "$SRC/data/seedlings_weighted/seedlings_weighted.csv" \
  "$SRC/data/seedlings_weighted/lme4.json" $files
no_temps "reference sets"
n=$("$PY" -c "import h5py,sys; print(h5py.File(sys.argv[1])['inference/contrasts/estimate'].shape[0])" \
  "$TMP/sleepstudy.np3.h5")
[ "$n" = 1 ] && pass "the contrast is in the file" || fail "contrasts: $n rows"

# ---- rows shuffled, responses missing ---------------------------------------
"$PY" - "$SRC/data/sleepstudy/sleepstudy.csv" "$TMP/shuf.csv" <<'PYEOF'
import csv, random, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
head, body = rows[0], rows[1:]
random.Random(7).shuffle(body)
for i in (0, 41, 179):
    body[i][0] = ""
csv.writer(open(sys.argv[2], "w", newline="")).writerows([head] + body)
PYEOF
run_ranks 1 import "$TMP/shuf.csv" "$TMP/shuf.h5"
expect_rcs "import the shuffled CSV" "0"
files=""
for np in 1 3; do
  conf "$TMP/shuf.toml" sleepstudy "Reaction ~ Days + (Days | Subject)" \
    "$TMP/shuf.np$np.h5"
  sed -i "s|^file = .*|file = \"$TMP/shuf.h5\"|" "$TMP/shuf.toml"
  run_ranks $np "$TMP/shuf.toml"
  expect_rcs "shuffled rows with missing responses on $np ranks" "$(zeros $np)"
  files="$files $TMP/shuf.np$np.h5"
done
check_files "shuffled rows, 3 missing" "$TMP/shuf.csv" - $files

# ---- an existing file -------------------------------------------------------
R=$TMP/keep.h5
cp "$TMP/pastes.np2.h5" "$R"
before=$(md5sum < "$R")
conf "$TMP/keep.toml" pastes "strength ~ 1 + (1 | batch/cask)" "$R"
for np in 1 3; do
  run_ranks $np "$TMP/keep.toml"
  expect_rcs "existing results file on $np ranks" "$(same_codes 6 $np)"
  expect_in "$ERR" "the file $R exists; remove it, name another file, or set [output] overwrite = true" \
    "the message says why ($np ranks)"
  if grep -q "optimizer:" "$ERR"; then fail "the fit ran before the refusal"
  else pass "refused before the fit ($np ranks)"; fi
  [ "$(md5sum < "$R")" = "$before" ] && pass "the file is unchanged ($np ranks)" \
    || fail "the existing file was changed ($np ranks)"
done
conf "$TMP/keep.toml" pastes "strength ~ 1 + (1 | batch/cask)" "$R" \
  "overwrite = true" 'method = "ml"'
run_ranks 2 "$TMP/keep.toml"
expect_rcs "overwrite = true" "0 0"
reml=$("$PY" -c "import h5py,sys; print(h5py.File(sys.argv[1])['fit/reml'][()])" "$R")
[ "$reml" = 0 ] && pass "overwrite = true replaced the file (now ML)" \
  || fail "overwrite = true: fit/reml is '$reml', expected 0 (the ML fit)"
check_files "the replaced file" "$SRC/data/pastes/pastes.csv" \
  "$SRC/data/pastes/lme4.json" "$R"

# ---- failures while writing ---------------------------------------------------
conf "$TMP/f.toml" pastes "strength ~ 1 + (1 | batch/cask)" "$TMP/f.h5"
HLM_FAULT_INJECT='writing the results file@1' run_ranks 3 "$TMP/f.toml"
expect_rcs "fault while writing on rank 1 of 3" "1 1 1"
expect_in "$ERR" "fault injected in writing the results file on rank 1" \
  "rank 1 names itself"
[ ! -e "$TMP/f.h5" ] && pass "no results file after the fault" \
  || fail "a results file appeared after a failed write"
no_temps "failed write"
# a failed write keeps the previous file (overwrite = true)
before=$(md5sum < "$R")
HLM_FAULT_INJECT='writing the results file@0' run_ranks 2 "$TMP/keep.toml"
expect_rcs "fault while replacing a file" "1 1"
[ "$(md5sum < "$R")" = "$before" ] && pass "the previous file survives a failed write" \
  || fail "a failed write changed the previous file"
no_temps "failed replacement"
conf "$TMP/d.toml" pastes "strength ~ 1 + (1 | batch/cask)" "$TMP/nodir/d.h5"
run_ranks 2 "$TMP/d.toml"
expect_rcs "results directory missing" "6 6"
expect_in "$ERR" "the directory $TMP/nodir of $TMP/nodir/d.h5 does not exist" \
  "names the missing directory"

# ---- kill -9 while writing ------------------------------------------------------
# The test hook pauses rank 0 with the temporary half written; mpirun and
# every rank are then killed at once, as a node failure or scancel would.
kill_while_writing() { # kill_while_writing CONFIG RESULTS
  local pid kids i
  rm -f "$TMP/kill.err"
  HLM_FAULT_INJECT='pausing in the results file@0' setsid "$MPIEXEC" -n 3 \
    --oversubscribe "$HLM" "$1" > /dev/null 2> "$TMP/kill.err" &
  pid=$!
  for i in $(seq 150); do
    grep -q "pausing" "$TMP/kill.err" 2>/dev/null && break
    sleep 0.2
  done
  if ls "$2".tmp.* > /dev/null 2>&1; then pass "the temporary exists while writing"
  else fail "no temporary while writing: $(cat "$TMP/kill.err")"; fi
  kids=$(ps -o pid= --ppid "$pid")
  kill -9 "$pid" $kids 2> /dev/null
  wait "$pid" 2> /dev/null
  rm -f "$2".tmp.*   # what a killed run leaves: only its temporary
}
conf "$TMP/k.toml" pastes "strength ~ 1 + (1 | batch/cask)" "$TMP/k.h5"
kill_while_writing "$TMP/k.toml" "$TMP/k.h5"
[ ! -e "$TMP/k.h5" ] && pass "killed while writing: no results file" \
  || fail "killed while writing: a results file appeared"
before=$(md5sum < "$R")
kill_while_writing "$TMP/keep.toml" "$R"
[ "$(md5sum < "$R")" = "$before" ] && pass "killed while replacing: the previous file is intact" \
  || fail "killed while replacing: the previous file changed"
check_files "the previous file after the kill" "$SRC/data/pastes/pastes.csv" \
  "$SRC/data/pastes/lme4.json" "$R"
finish
