#!/usr/bin/env bash
# An error injected on one rank makes every rank exit non-zero, quickly,
# with that rank's message, and nobody hangs in a collective.
. "$(dirname "$0")/../lib.sh"
CONFIG=$SRC/data/seedlings/seedlings.toml

for culprit in 0 2 3; do
  HLM_FAULT_INJECT=config@$culprit run_ranks 4 fit "$CONFIG"
  expect_rcs "fault on rank $culprit of 4" "1 1 1 1"
  expect_count "$ERR" "fault injected in config on rank $culprit" \
    $([ "$culprit" -eq 0 ] && echo 1 || echo 2) \
    "rank $culprit's message reported by it (and rank 0's summary)"
  expect_in "$ERR" "rank $culprit of 4" "failing rank names itself"
done
expect_in "$ERR" "stopped: 1 of 4 ranks failed" "rank 0 summarises"

# Every rank fails alike: one message, not four.
HLM_FAULT_INJECT='config@*' run_ranks 4 fit "$CONFIG"
expect_rcs "fault on every rank" "1 1 1 1"
expect_in "$ERR" "fault injected in config on rank 0" "first rank's message"
expect_in "$ERR" "fault injected in config on rank 3" "each rank's own message"

# Control: without a fault, the same run gets past the config phase.
run_ranks 4 fit "$CONFIG"
if grep -q "fault injected" "$ERR"; then fail "fault without injection"; fi
finish
