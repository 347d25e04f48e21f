#!/usr/bin/env bash
# Every example in docs/config.md is a test: `hlm-mpi check` on 1 and 3
# ranks must end as the `<!-- expect: ... -->` line before it says
# (ok: exit 0, error: exit 4 (configuration error), not-implemented: exit 3, on every rank).
. "$(dirname "$0")/../lib.sh"
DOC=$SRC/docs/config.md
ln -s "$SRC/data" "$TMP/data"

# Split the examples into $TMP/ex<N>.toml and $TMP/ex<N>.expect.
awk -v dir="$TMP" '
  /<!-- expect: / { expect = $3; frag = $0;
    sub(/.*<!-- expect: [a-z-]+ ?/, "", frag); sub(/ ?-->.*/, "", frag);
    print frag > (dir "/ex" (n + 1) ".frag"); next }
  /^```toml/ && expect != "" { n++; file = dir "/ex" n ".toml";
    print expect > (dir "/ex" n ".expect"); inblock = 1; next }
  /^```/ && inblock { inblock = 0; expect = ""; close(file); next }
  inblock { print > file }
' "$DOC"

count=$(ls "$TMP"/ex*.toml 2>/dev/null | wc -l)
[ "$count" -ge 10 ] || fail "only $count examples found in docs/config.md"

for f in "$TMP"/ex*.toml; do
  expect=$(cat "${f%.toml}.expect")
  case $expect in
    ok) code=0 ;; error) code=4 ;; not-implemented) code=3 ;;
    *) fail "$(basename "$f"): unknown expectation '$expect'"; continue ;;
  esac
  for np in 1 3; do
    run_ranks $np check "$f"
    want=$(printf "$code"' %.0s' $(seq $np) | sed 's/ $//')
    expect_rcs "$(basename "$f") ($expect) on $np ranks" "$want"
    if [ "$expect" = not-implemented ]; then
      expect_in "$ERR" "not implemented yet" "$(basename "$f") says so"
    fi
    frag=$(cat "${f%.toml}.frag" 2>/dev/null)
    [ -z "$frag" ] || expect_in "$ERR" "$frag" "$(basename "$f") names the problem"
  done
done
finish
