# Shared helpers for the shell-driven tests.  Source it; it expects
# HLM_BUILD_DIR, HLM_SOURCE_DIR and HLM_MPIEXEC (set by CTest).
set -u
HLM=${HLM_BUILD_DIR:?}/hlm-mpi
SRC=${HLM_SOURCE_DIR:?}
MPIEXEC=${HLM_MPIEXEC:-mpirun}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hlm-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAILS=0

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

# run_ranks NP ARGS...: run hlm-mpi on NP ranks with a 60 s deadline.
# mpirun normally kills the other ranks as soon as one exits non-zero; the
# tests turn that off to see every rank's own exit code.
# Sets RC (mpirun's exit code), OUT and ERR (files), and RANK_RCS (each
# rank's own exit code, in rank order; "missing" if a rank never exited).
run_ranks() {
  local np=$1; shift
  rm -f "$TMP"/rank.*
  OUT=$TMP/out ERR=$TMP/err
  timeout --signal=KILL 60 "$MPIEXEC" -n "$np" --oversubscribe \
    --mca orte_abort_on_non_zero_status 0 \
    sh -c '"$0" "$@"; rc=$?; echo $rc > "'"$TMP"'/rank.$OMPI_COMM_WORLD_RANK"; exit $rc' \
    "$HLM" "$@" >"$OUT" 2>"$ERR"
  RC=$?
  RANK_RCS=""
  local r
  for r in $(seq 0 $((np - 1))); do
    if [ -f "$TMP/rank.$r" ]; then
      RANK_RCS="$RANK_RCS $(cat "$TMP/rank.$r")"
    else
      RANK_RCS="$RANK_RCS missing"
    fi
  done
  RANK_RCS=${RANK_RCS# }
}

# expect_rcs "WHAT" "1 1 1 1": every rank's exit code as listed.
expect_rcs() {
  if [ "$RANK_RCS" = "$2" ]; then pass "$1: rank exit codes $RANK_RCS"
  else fail "$1: rank exit codes '$RANK_RCS', expected '$2' (mpirun $RC)"; cat "$ERR" >&2; fi
}

# expect_in FILE "TEXT" "WHAT"
expect_in() {
  if grep -qF -- "$2" "$1"; then pass "$3"
  else fail "$3: '$2' not in output:"; cat "$1" >&2; fi
}

# expect_count FILE "TEXT" N "WHAT": TEXT occurs on exactly N lines.
expect_count() {
  local n; n=$(grep -cF -- "$2" "$1")
  if [ "$n" -eq "$3" ]; then pass "$4"
  else fail "$4: '$2' printed $n times, expected $3:"; cat "$1" >&2; fi
}

finish() {
  if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed" >&2; exit 1; fi
  echo "all checks passed"
}
