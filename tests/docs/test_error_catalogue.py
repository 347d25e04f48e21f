#!/usr/bin/python3
"""Every user-facing error message has an entry in docs/errors.md (issue 16).

    test_error_catalogue.py SOURCE_DIR

scripts/error_messages.py extracts the format string of every call that
records an error (HLM_CHECK, HLM_ERROR and the TOML, formula, HDF5 and
LAPACK wrappers) from SOURCE_DIR/src.  Every message of a user-facing kind
(usage, configuration, data, I/O, numerical, memory, MPI, not implemented;
not internal errors, which are bugs) must contain one of the fragments
listed in the "## Messages" section of docs/errors.md.  Entries that match
no message any more are reported as warnings.  A self-test on a small C
fixture checks the extractor first, so the check cannot pass by finding
nothing.
"""
import importlib.util
import os
import sys
import tempfile

FIXTURE_C = r'''
/* HLM_CHECK(x, HLM_ERR_DATA, "in a comment: not a message"); */
static hlm_status f(int n, const char *s)
{
  HLM_CHECK(n > 0, HLM_ERR_DATA,
            "the column `%s` has %" PRId64 " rows, "
            "fewer than %d", s, (int64_t)n, 2);
  HLM_CHECK(n != 1, n > 2 ? HLM_ERR_IO : HLM_ERR_INTERNAL,
            "cannot read '%s': %s", s, strerror(errno));
  H5_CHECK(H5Fclose(fid), "cannot close %s", s);
  HLM_CHECK(n != 3, HLM_ERR_INTERNAL, "f: NULL argument (a bug)");
  HLM_CHECK(n != 4, HLM_ERR_CONFIG, "%s", s);
  PARSE_CHECK(n != 5, p, at, "expected `=` after %s", s);
cleanup:
  return status;
}
'''
FIXTURE_WRAPPER = r'''
static hlm_status my_error(int x, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
'''
FIXTURE_DOC = '''# Errors
| message | cause | fix |
| --- | --- | --- |
| `fewer than ...` | not here: outside the section | |
## Messages
| message | cause | fix |
| --- | --- | --- |
| `` the column `...` has `` and `cannot close` | a cause | a fix |
| `gone from the code` | stale | |
| `the `, `...` | too generic: ignored | |
## Next
| `cannot read` | outside the section | |
'''


def load_extractor(root):
    path = os.path.join(root, "scripts", "error_messages.py")
    spec = importlib.util.spec_from_file_location("error_messages", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Checks:
    def __init__(self):
        self.failed = 0

    def expect(self, cond, what):
        print(("ok: " if cond else "FAIL: ") + what)
        self.failed += not cond


def self_test(em, t):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "a.c"), "w") as f:
            f.write(FIXTURE_C)
        with open(os.path.join(d, "errors.md"), "w") as f:
            f.write(FIXTURE_DOC)
        msgs, problems = em.extract(d)
        texts = {m["text"]: m for m in msgs}
        t.expect(problems == [], "fixture: no unknown wrappers")
        t.expect(len(msgs) == 5, "fixture: 5 messages (comment and '%%s' "
                 "skipped), got %s" % sorted(texts))
        m = texts.get("the column `...` has ... rows, fewer than ...")
        t.expect(m is not None and m["kind"] == "data" and m["line"] == 5,
                 "fixture: concatenated strings and PRId64, kind and line")
        m = texts.get("cannot read '...': ...")
        t.expect(m is not None and m["kind"] == "io",
                 "fixture: a ternary status with a user-facing code is "
                 "user-facing")
        t.expect(texts.get("cannot close ...", {}).get("kind") == "io",
                 "fixture: H5_CHECK is an I/O message")
        t.expect(texts.get("expected `=` after ...", {}).get("kind") ==
                 "config", "fixture: PARSE_CHECK is a config message")
        t.expect(texts.get("f: NULL argument (a bug)", {}).get("kind") ==
                 "internal", "fixture: HLM_ERR_INTERNAL is internal")
        keys, undocumented, stale = em.check(os.path.join(d, "errors.md"),
                                             msgs)
        t.expect([k for k, _ in keys] ==
                 ["the column `...` has", "cannot close", "gone from the code"],
                 "fixture: entries from the Messages section only, "
                 "double-backtick spans, got %s" % keys)
        t.expect([m["text"] for m in undocumented] ==
                 ["cannot read '...': ...", "expected `=` after ..."],
                 "fixture: undocumented messages found")
        t.expect([k for k, _ in stale] == ["gone from the code"],
                 "fixture: stale entries found")
        with open(os.path.join(d, "b.h"), "w") as f:
            f.write(FIXTURE_WRAPPER)
        _, problems = em.extract(d)
        t.expect(len(problems) == 1 and "my_error" in problems[0],
                 "fixture: an unknown printf-style wrapper is refused")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    em = load_extractor(root)
    t = Checks()
    self_test(em, t)
    msgs, problems = em.extract(os.path.join(root, "src"))
    for p in problems:
        print("FAIL: %s is not in scripts/error_messages.py's MESSAGE_CALLS "
              "or LOG_CALLS" % p)
    t.failed += len(problems)
    user = [m for m in msgs if em.user_facing(m)]
    t.expect(len(user) > 100, "src: %d messages, %d user-facing" %
             (len(msgs), len(user)))
    doc = os.path.join(root, "docs", "errors.md")
    keys, undocumented, stale = em.check(doc, msgs)
    for m in undocumented:
        print("FAIL: undocumented %s message %s:%d: %s" %
              (m["kind"], os.path.join("src", m["file"]), m["line"],
               m["text"]))
    t.expect(not undocumented,
             "every user-facing message has an entry in docs/errors.md "
             "(%d entries; add a row to its '## Messages' section with a "
             "fragment of the message)" % len(keys))
    for k, no in stale:
        print("warning: docs/errors.md:%d: entry `%s` matches no message "
              "(reworded or removed?)" % (no, k))
    if t.failed:
        print("%d check(s) failed" % t.failed)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
