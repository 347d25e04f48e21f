#!/usr/bin/env bash
# A fit across two emulated hosts (issue 17; tests/net/netns.sh): two
# network namespaces joined by a veth pair, the ranks talking over TCP.
# At 2, 3 and 4 ranks the fit must agree with lme4 (data/<set>/lme4.json)
# and with the single-host fits (shared memory) at 1 and 4 ranks, to the
# engine's rank-count tolerance (criterion 1e-9, every
# estimate 1e-7 relative; test_fit_ranks.c's).  The ranks must have run in
# both namespaces, and the MPI traffic must have crossed the veth pair.
# Skips (77) when not root or when namespaces cannot be made.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/netns.sh"
PY=/usr/bin/python3
CMP=$SRC/tests/net/compare_json.py
hosts_up
# a hang anywhere ends within 20 s (the watchdog), not at the timeout
export HLM_WATCHDOG_SECONDS=20

# config NAME SET FORMULA METHOD
config() {
  printf '[data]\nfile = "%s"\n[model]\nformula = "%s"\nmethod = "%s"\n[output]\nsummary = "%s"\n' \
    "$SRC/data/$2/$2.h5" "$3" "$4" "$TMP/$1.json" >"$TMP/$1.toml"
}

# same A B WHAT: the rank-count tolerance
same() {
  if "$PY" "$CMP" same "$TMP/$1.json" "$TMP/$2.json" 1e-9 1e-7 >"$TMP/cmp" 2>&1
  then pass "$3 ($(head -1 "$TMP/cmp"))"; else fail "$3: $(cat "$TMP/cmp")"; fi
}

for c in "sleepstudy@Reaction ~ Days + (Days | Subject)@reml" \
         "pastes@strength ~ 1 + (1 | batch/cask)@ml"; do
  IFS=@ read -r set formula method <<<"$c"
  upper=$(echo "$method" | tr a-z A-Z)
  for np in 1 4; do
    config "$set.one$np" "$set" "$formula" "$method"
    run_ranks "$np" --quiet "$TMP/$set.one$np.toml"
    expect_rcs "$set: one host, $np ranks" "$(zeros "$np")"
  done
  for np in 2 3 4; do
    config "$set.two$np" "$set" "$formula" "$method"
    before=$(link_bytes)
    run_hosts "$np" --quiet "$TMP/$set.two$np.toml"
    sent=$(($(link_bytes) - before))
    expect_rcs "$set: two hosts, $np ranks" "$(zeros "$np")"
    if [ "$RC" -ne 0 ]; then cat "$ERR" >&2; continue; fi
    if [ "$NSES" -eq 2 ]; then pass "$set: the $np ranks ran on both hosts"
    else fail "$set: the $np ranks ran in $NSES network namespaces, not 2"; fi
    # the data, the cross-products and every evaluation's reductions
    if [ "$sent" -gt 20000 ]; then pass "$set: $sent bytes crossed the veth pair"
    else fail "$set: only $sent bytes crossed the veth pair"; fi
    if "$PY" "$CMP" lme4 "$TMP/$set.two$np.json" "$SRC/data/$set/lme4.json" \
         "$upper" >"$TMP/cmp" 2>&1; then
      pass "$set: two hosts, $np ranks: agrees with lme4"
    else
      fail "$set: two hosts, $np ranks against lme4: $(cat "$TMP/cmp")"
    fi
    same "$set.two$np" "$set.one1" "$set: two hosts at $np ranks = one host, 1 rank"
    same "$set.two$np" "$set.one4" "$set: two hosts at $np ranks = one host, 4 ranks"
  done
done

finish
