#!/usr/bin/env bash
# The optimizer's progress lines and the per-phase timing of the job log
# (issues 14 and 16; docs/user-guide.md "The job log"), at 1, 2 and 3
# ranks: rank 0 alone prints them, on stderr; by default the first and the
# last evaluation (and one at most every HLM_PROGRESS_SECONDS); with
# --verbose every evaluation, numbered 1..N where N is the count the
# summary reports, and a phase table whose rows are slowest >= mean >=
# fastest; --quiet prints none of it.  The evaluation count and the
# criterion are checked against the JSON summary (docs/results-json.md).
. "$(dirname "$0")/../lib.sh"
unset HLM_PROGRESS_SECONDS
SEED=$SRC/data/seedlings/seedlings.h5
all() { printf "$1"' %.0s' $(seq "$2") | sed 's/ $//'; }
printf '[data]\nfile = "%s"\ncluster = "tray"\n[model]\nformula = "weight ~ genotype + (1 | tray)"\n[output]\nsummary = "%s"\n' \
  "$SEED" "$TMP/fit.json" >"$TMP/ok.toml"

# a field of the JSON summary
json() { /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$TMP/fit.json" "$1"; }
nevals() { json evaluations; }
# the numbers of the progress lines, one per line
numbers() { sed -n 's/.*optimizer: evaluation \([0-9][0-9]*\).*/\1/p' "$ERR"; }

for np in 1 2 3; do
  run_ranks $np "$TMP/ok.toml"
  expect_rcs "fit on $np" "$(all 0 $np)"
  n=$(nevals)
  if [ -n "$n" ] && [ "$n" -gt 1 ]; then pass "summary reports $n evaluations"
  else fail "no evaluation count in the JSON summary"; fi
  expect_count "$ERR" "optimizer: evaluation 1:" 1 "default: the first evaluation once on $np"
  expect_count "$ERR" "optimizer: evaluation $n (last):" 1 "default: the last evaluation once on $np"
  expect_count "$ERR" "optimizer: evaluation" 2 "default: no other progress lines on $np"
  if grep -q "optimizer: evaluation" "$OUT"; then fail "progress on stdout"; else pass "progress not on stdout"; fi
  if grep -q "time per phase" "$ERR"; then fail "phase table without --verbose"; else pass "no phase table by default"; fi
  if grep -qE '^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} \+[0-9.]+s\] optimizer: evaluation 1: criterion [-0-9.e+]+ \(best [-0-9.e+]+\), [0-9.]+ s' "$ERR"; then
    pass "progress line format"; else fail "progress line format"; cat "$ERR" >&2; fi
  # the best criterion of the last line (10 digits) is the fit's criterion
  crit=$(json deviance_or_reml_criterion)
  best=$(sed -n 's/.*(last): criterion [^ ]* (best \([^,)]*\).*/\1/p' "$ERR")
  if awk -v c="$crit" -v b="$best" 'BEGIN {
      tol = 1e-8 * (c < 0 ? -c : c); exit !(b != "" && b - c <= tol && c - b <= tol) }'; then
    pass "last line's best $best is the summary's criterion $crit"
  else fail "best $best against summary criterion '$crit'"; fi

  run_ranks $np --verbose "$TMP/ok.toml"
  n=$(nevals)
  if [ "$(numbers | tr '\n' ' ')" = "$(seq -s ' ' 1 "$n") " ]; then
    pass "--verbose: evaluations 1..$n, one line each, on $np"
  else fail "--verbose: progress numbers '$(numbers | tr '\n' ' ')', expected 1..$n"; fi
  expect_count "$ERR" "time per phase (s):" 1 "--verbose: one phase table on $np"
  for ph in config read groups shuffle design cross-products iterations estimates inference output; do
    expect_count "$ERR" "    $ph " 1 "--verbose: phase $ph"
  done
  # slowest >= mean >= fastest on every row (rounding is monotonic)
  bad=$(sed -n '/time per phase/,$p' "$ERR" | awk 'NR > 1 && NF >= 4 {
      mx = $(NF-2); me = $(NF-1); mn = $NF;
      if (!(mx + 0 >= me + 0 && me + 0 >= mn + 0)) print }')
  if [ -z "$bad" ]; then pass "phase rows: slowest >= mean >= fastest"
  else fail "phase rows out of order: $bad"; fi
  total=$(sed -n 's/^  total time: \([0-9.]*\) s/\1/p' "$ERR")
  over=$(sed -n '/time per phase/,$p' "$ERR" | awk -v t="$total" 'NR > 1 && NF >= 4 && $(NF-2) > t + 0.01')
  if [ -z "$over" ]; then pass "no phase longer than the total time $total s"
  else fail "phases longer than the total $total s: $over"; fi

  HLM_PROGRESS_SECONDS=0 run_ranks $np "$TMP/ok.toml"
  expect_count "$ERR" "optimizer: evaluation" "$(nevals)" "HLM_PROGRESS_SECONDS=0: a line per evaluation on $np"

  run_ranks $np --quiet "$TMP/ok.toml"
  if [ -s "$ERR" ]; then fail "--quiet wrote to stderr:"; cat "$ERR" >&2; else pass "--quiet: no progress"; fi
done
finish
