#!/usr/bin/python3
"""List every error message hlm-mpi can print, from the C sources.

    scripts/error_messages.py [SRC_DIR]            messages grouped by kind
    scripts/error_messages.py --json [SRC_DIR]     the same as JSON
    scripts/error_messages.py --check DOC [SRC_DIR]
        every user-facing message (not internal errors) has an entry in
        DOC's "## Messages" section (docs/errors.md), and every entry there
        matches a message; exit 1 with the list of gaps otherwise

A message is the format string of a call that records an error: HLM_CHECK,
HLM_ERROR, hlm_error_set_at, and the wrappers listed in MESSAGE_CALLS
(TOML, formula, HDF5, LAPACK).  Its printf conversions are shown as "...",
so "the response `%s` has no variation" reads "the response `...` has no
variation".  A function or macro that takes a printf format and is not in
MESSAGE_CALLS (or LOG_CALLS) stops the script, so a new wrapper cannot hide
its messages.

Entries of the guide: in DOC's "## Messages" section, the code spans in the
first column of the tables, e.g. | `has no variation` | cause | fix |.  A
span is a stable fragment of the message text (conversions written "...");
an entry covers every message that contains it.  Pick a fragment that names
this message and not others; fragments shorter than 6 characters or without
a word of 3 letters are ignored.
"""
import json
import os
import re
import sys

# name -> (index of the format argument, index of the status argument or a
# fixed status)
MESSAGE_CALLS = {
    "HLM_CHECK": (2, 1),
    "HLM_ERROR": (1, 0),
    "hlm_error_set_at": (4, 0),
    "H5_CHECK": (1, "HLM_ERR_HDF5"),
    "hlm_hdf5_error": (0, "HLM_ERR_HDF5"),
    "PARSE_CHECK": (3, "HLM_ERR_PARSE"),
    "toml_fail": (2, "HLM_ERR_PARSE"),
    "lex_error": (2, "HLM_ERR_PARSE"),
    "perr": (2, "HLM_ERR_PARSE"),
    "hlm_formula_report": (3, 2),
    "hlm_formula_vreport": (3, 2),
    "hlm_formula_error_at": (3, 2),
    # LAPACK: "ROUTINE failed (info = N): WHAT"; WHAT is the message here
    "HLM_LAPACK_CHECK": (2, "HLM_ERR_LAPACK"),
}
# printf-style functions that are not errors
LOG_CALLS = {"hlm_log_event"}

KIND = {
    "HLM_ERR_USAGE": "usage",
    "HLM_ERR_NOT_IMPLEMENTED": "not implemented",
    "HLM_ERR_CONFIG": "config",
    "HLM_ERR_PARSE": "config",
    "HLM_ERR_DATA": "data",
    "HLM_ERR_IO": "io",
    "HLM_ERR_HDF5": "io",
    "HLM_ERR_NUMERIC": "numeric",
    "HLM_ERR_LAPACK": "numeric",
    "HLM_ERR_GSL": "numeric",
    "HLM_ERR_NOMEM": "memory",
    "HLM_ERR_MPI": "mpi",
    "HLM_ERR_OTHER_RANK": "mpi",
    "HLM_ERR_INTERNAL": "internal",
    "HLM_ERR_INVALID_ARG": "internal",
}
ORDER = ["usage", "config", "data", "io", "numeric", "memory", "mpi",
         "not implemented", "depends", "internal"]

CONVERSION = re.compile(
    r"%[-+ #0']*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?:hh|h|ll|l|L|z|j|t)?"
    r"[diouxXeEfFgGaAcspn%]")
TOKEN = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|'
                   r'[A-Za-z_]\w*|\S', re.S)


def strip_comments(text):
    """Blank out comments, keeping strings, character literals and lines."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            m = re.compile(r'%s(?:\\.|[^%s\\\n])*%s' % (c, c, c), re.S) \
                .match(text, i)
            j = m.end() if m else i + 1
            out.append(text[i:j])
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def call_args(text, open_paren):
    """The top-level arguments of the call whose '(' is at open_paren."""
    depth, args, cur = 0, [], []
    for m in TOKEN.finditer(text, open_paren):
        t = m.group(0)
        if t in "([{":
            depth += 1
            if depth == 1:
                continue
        elif t in ")]}":
            depth -= 1
            if depth == 0:
                args.append(cur)
                return args
        elif t == "," and depth == 1:
            args.append(cur)
            cur = []
            continue
        cur.append(t)
    return None


def unescape(s):
    table = {"n": "\n", "t": "\t", '"': '"', "'": "'", "\\": "\\",
             "a": "", "0": ""}
    return re.sub(r"\\(.)", lambda m: table.get(m.group(1), m.group(1)), s)


def format_text(tokens):
    """The literal format (adjacent strings and PRI macros), or None."""
    parts = []
    for t in tokens:
        if t.startswith('"'):
            parts.append(unescape(t[1:-1]))
        elif re.fullmatch(r"PRI[diouxX](?:8|16|32|64|MAX|PTR|LEAST\d+|FAST\d+)",
                          t):
            parts.append(t[3])
        else:
            return None
    return "".join(parts) if parts else None


def normalize(fmt):
    """Conversions as '...', whitespace collapsed."""
    text = CONVERSION.sub(lambda m: "%" if m.group(0) == "%%" else "...", fmt)
    return re.sub(r"\s+", " ", text).strip()


def kind_of(codes):
    if not codes:
        return "depends"
    kinds = {KIND.get(c, "internal") for c in codes}
    for k in ORDER:
        if k in kinds and k != "internal":
            return k
    return "internal"


def unknown_wrappers(path, text):
    """printf-style functions and variadic macros not in the tables."""
    bad = []
    for m in re.finditer(r"(\w+)\s*\([^;{]*?\)\s*(?:#if[^\n]*\n\s*)?"
                         r"__attribute__\s*\(\(\s*format\s*\(\s*printf",
                         text):
        if m.group(1) not in MESSAGE_CALLS and m.group(1) not in LOG_CALLS:
            bad.append("%s: printf-style function %s" % (path, m.group(1)))
    for m in re.finditer(r"#\s*define\s+(\w+)\s*\([^)]*\.\.\.\)((?:[^\n]*\\\n)*"
                         r"[^\n]*)", text):
        body = m.group(2)
        forwards = re.search(r"\b(%s)\s*\([^;]*__VA_ARGS__" %
                             "|".join(map(re.escape, MESSAGE_CALLS)), body)
        if forwards and m.group(1) not in MESSAGE_CALLS:
            bad.append("%s: variadic macro %s forwards to %s" %
                       (path, m.group(1), forwards.group(1)))
    return bad


def extract_file(path, rel):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = strip_comments(f.read())
    msgs, skipped = [], 0
    names = "|".join(map(re.escape, MESSAGE_CALLS))
    for m in re.finditer(r"(?<![\w#])(%s)\s*\(" % names, text):
        before = text[max(0, m.start() - 40):m.start()]
        if re.search(r"#\s*define\s+$", before):
            continue
        fmt_i, code_i = MESSAGE_CALLS[m.group(1)]
        args = call_args(text, m.end() - 1)
        if args is None or len(args) <= fmt_i:
            continue
        fmt = format_text(args[fmt_i])
        if fmt is None or not re.search(r"[A-Za-z]{2}", CONVERSION.sub("", fmt)):
            skipped += 1  # a declaration or a message passed on
            continue
        if isinstance(code_i, str):
            codes = [code_i]
        else:
            codes = sorted(set(re.findall(r"HLM_ERR_\w+",
                                          " ".join(args[code_i]))))
        msgs.append({
            "file": rel,
            "line": text.count("\n", 0, m.start()) + 1,
            "call": m.group(1),
            "codes": codes,
            "kind": kind_of(codes),
            "format": fmt,
            "text": normalize(fmt),
        })
    return msgs, skipped, unknown_wrappers(rel, text)


def extract(src_dir):
    """All messages under src_dir (sorted by file and line), and problems."""
    msgs, problems = [], []
    for root, _, files in os.walk(src_dir):
        for name in sorted(files):
            if name.endswith((".c", ".h")):
                path = os.path.join(root, name)
                found, _, bad = extract_file(path,
                                             os.path.relpath(path, src_dir))
                msgs += found
                problems += bad
    msgs.sort(key=lambda m: (m["file"], m["line"]))
    return msgs, problems


def doc_keys(doc_path):
    """The entries (code spans in the first table column) of the
    '## Messages' section of doc_path, with their line numbers."""
    keys, inside = [], False
    with open(doc_path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            if line.startswith("## "):
                inside = line.startswith("## Messages")
                continue
            if not inside or not line.startswith("|"):
                continue
            cells = re.split(r"(?<!\\)\|", line.strip())
            first = cells[1] if len(cells) > 2 else ""
            for span in re.finditer(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)",
                                    first):
                k = span.group(2)
                if k.startswith(" ") and k.endswith(" ") and k.strip():
                    k = k[1:-1]
                keys.append((re.sub(r"\s+", " ", k), no))
    return keys


def user_facing(m):
    return m["kind"] != "internal"


def too_generic(key):
    """An entry that would match almost anything ("the ", "..."): shorter
    than 6 characters or without a word of 3 letters."""
    return len(key) < 6 or not re.search(r"[A-Za-z]{3}", key)


def check(doc_path, msgs):
    """Gaps between the messages and the guide: (entries, undocumented,
    stale); entries too_generic() do not count."""
    keys = [(k, no) for k, no in doc_keys(doc_path) if not too_generic(k)]
    undocumented = [m for m in msgs
                    if user_facing(m) and not any(k in m["text"]
                                                  for k, _ in keys)]
    stale = [(k, no) for k, no in keys
             if not any(k in m["text"] for m in msgs)]
    return keys, undocumented, stale


def main(argv):
    mode, doc = "list", None
    args = argv[1:]
    if args and args[0] == "--json":
        mode, args = "json", args[1:]
    elif args and args[0] == "--check":
        if len(args) < 2:
            print(__doc__, file=sys.stderr)
            return 2
        mode, doc, args = "check", args[1], args[2:]
    src = args[0] if args else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src")
    msgs, problems = extract(src)
    for p in problems:
        print("error_messages.py: %s is not in MESSAGE_CALLS or LOG_CALLS"
              % p, file=sys.stderr)
    if problems:
        return 1
    if mode == "json":
        json.dump(msgs, sys.stdout, indent=1)
        print()
    elif mode == "list":
        for k in ORDER:
            group = [m for m in msgs if m["kind"] == k]
            if group:
                print("## %s (%d)" % (k, len(group)))
                for m in group:
                    print("  %s:%d: %s" % (m["file"], m["line"], m["text"]))
        print("%d messages, %d distinct texts" %
              (len(msgs), len({m["text"] for m in msgs})))
    else:
        keys, undocumented, stale = check(doc, msgs)
        for m in undocumented:
            print("undocumented (%s) %s:%d: %s" %
                  (m["kind"], m["file"], m["line"], m["text"]))
        for k, no in stale:
            print("%s:%d: entry `%s` matches no message" % (doc, no, k))
        print("%d messages (%d user-facing), %d entries; %d undocumented, "
              "%d stale entries" %
              (len(msgs), sum(map(user_facing, msgs)), len(keys),
               len(undocumented), len(stale)))
        return 1 if undocumented or stale else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
