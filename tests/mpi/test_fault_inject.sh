#!/usr/bin/env bash
# An error injected on one rank makes every rank exit non-zero, quickly,
# with that rank's message, and nobody hangs in a collective: the other
# ranks have gone on to the next stage's collectives when the fault hits.
. "$(dirname "$0")/../lib.sh"
CONFIG=$SRC/data/seedlings/seedlings.toml

# stage@rank: the stages of a fit, in order (src/run.c).
for spec in "reading the configuration@0" "reading the data@2" \
            "examining the grouping factors@3" "partitioning the rows@1" \
            "building the design@2" "fitting@3"; do
  stage=${spec%@*} culprit=${spec#*@}
  HLM_FAULT_INJECT=$spec run_ranks 4 fit "$CONFIG"
  expect_rcs "fault in '$stage' on rank $culprit of 4" "1 1 1 1"
  expect_in "$ERR" "rank $culprit of 4: internal error: fault injected in $stage on rank $culprit" \
    "rank $culprit names itself"
  if [ "$culprit" -ne 0 ]; then
    expect_in "$ERR" "stopped: 1 of 4 ranks failed; rank $culprit failed during $stage" \
      "rank 0 summarises '$stage'"
  fi
done

# Every rank fails alike: one message, not four.
HLM_FAULT_INJECT='reading the data@*' run_ranks 4 fit "$CONFIG"
expect_rcs "fault on every rank" "1 1 1 1"
expect_in "$ERR" "fault injected in reading the data on rank 0" "first rank's message"
expect_in "$ERR" "fault injected in reading the data on rank 3" "each rank's own message"

# Control: without a fault the same run gets through every stage.
run_ranks 4 fit "$CONFIG"
if grep -q "fault injected" "$ERR"; then fail "fault without injection"; fi
expect_rcs "no fault" "0 0 0 0"
expect_in "$ERR" "partition: 56 rows on 4 ranks" "control run partitioned (log on stderr)"
expect_in "$OUT" "Fixed effects:" "control run fitted"
finish
