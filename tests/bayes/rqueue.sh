# rqueue.sh: the R checks of a part, queued and then run in one R session
# (rbatch.R), so that lme4 loads once per part instead of once per check.
# Source it after lib.sh.
#
#   rq_add ID SCRIPT ARG...   queue `Rscript SCRIPT ARG...`
#   rq_run                    run the queued checks (and empty the queue)
#   rq_check ID OK FAILMSG    after rq_run: pass "OK: <last line of its
#                             output>" if check ID exited 0, else fail
#                             FAILMSG with its output
#   rq_rc ID                  its exit status ("missing" if it never ended)
#   rq_out ID                 its output file
RQ_JOBS=$TMP/rq.jobs
: >"$RQ_JOBS"

rq_out() { echo "$TMP/rq.$1.out"; }

rq_add() {
  local id=$1
  shift
  rm -f "$(rq_out "$id")" "$(rq_out "$id").rc"
  { printf '%s' "$(rq_out "$id")"; printf '\t%s' "$@"; printf '\n'; } >>"$RQ_JOBS"
}

rq_run() {
  [ -s "$RQ_JOBS" ] || return 0
  Rscript "$SRC/tests/bayes/rbatch.R" "$RQ_JOBS" || fail "rbatch.R failed"
  : >"$RQ_JOBS"
}

rq_rc() { cat "$(rq_out "$1").rc" 2>/dev/null || echo missing; }

rq_check() {
  if [ "$(rq_rc "$1")" = 0 ]; then
    pass "$2: $(tail -1 "$(rq_out "$1")")"
  else
    fail "$3"
    cat "$(rq_out "$1")" >&2
  fi
}
