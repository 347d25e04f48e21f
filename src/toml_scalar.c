/* toml_scalar.c: TOML strings (four forms, escapes), integers, floats,
 * booleans, dates and times.  Local. */
#include "toml_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TOKEN_SHOW_MAX = 64 };

#define PARSE_CHECK(cond, p, at, ...)                                          \
  do {                                                                         \
    if (!(cond)) {                                                             \
      status = toml_fail((p), (at), __VA_ARGS__);                              \
      goto cleanup;                                                            \
    }                                                                          \
  } while (0)

#define DESCRIBE(p, at) toml_describe((p), (at), (char[48]){0}, 48)

static int peek(const toml_parser *p, size_t ahead)
{
  return p->pos + ahead < p->len ? (unsigned char)p->src[p->pos + ahead] : -1;
}

static bool is_forbidden_control(int c)
{
  return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7F;
}

/* ---- string buffer ---- */

typedef struct sbuf {
  char *p;
  size_t n, cap;
} sbuf;

static hlm_status sbuf_put(sbuf *b, const char *s, size_t n)
{
  hlm_status status = HLM_OK;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 32;
    char *grown;
    while (cap < b->n + n + 1) {
      cap *= 2;
    }
    grown = realloc(b->p, cap);
    HLM_CHECK(grown != NULL, HLM_ERR_NOMEM,
              "out of memory reading a string of %zu bytes", cap);
    b->p = grown;
    b->cap = cap;
  }
  if (n > 0) {
    memcpy(b->p + b->n, s, n);
  }
  b->n += n;
  b->p[b->n] = '\0';
cleanup:
  return status;
}

static hlm_status sbuf_put_utf8(sbuf *b, unsigned long cp)
{
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  return sbuf_put(b, u, n);
}

/* ---- strings ---- */

static int hex_value(int c)
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return 99;
}

static hlm_status parse_unicode_escape(toml_parser *p, sbuf *b, int kind)
{
  hlm_status status = HLM_OK;
  size_t at = p->pos;
  int ndig = kind == 'u' ? 4 : 8;
  unsigned long cp = 0;
  for (int i = 0; i < ndig; i++) {
    int d = hex_value(peek(p, 2 + (size_t)i));
    PARSE_CHECK(d < 16, p, at,
                "escape `\\%c` must be followed by %d hexadecimal digits", kind,
                ndig);
    cp = cp * 16 + (unsigned long)d;
  }
  PARSE_CHECK(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF), p, at,
              "escape `\\%c%.*s` is not a Unicode scalar value (surrogates "
              "and values above 10FFFF are not allowed)",
              kind, ndig, p->src + at + 2);
  HLM_TRY(sbuf_put_utf8(b, cp));
  p->pos += 2 + (size_t)ndig;
cleanup:
  return status;
}

/* At a backslash in a basic string. */
static hlm_status parse_escape(toml_parser *p, sbuf *b)
{
  hlm_status status = HLM_OK;
  int e = peek(p, 1);
  const char *simple = NULL;
  switch (e) {
  case 'b':
    simple = "\b";
    break;
  case 't':
    simple = "\t";
    break;
  case 'n':
    simple = "\n";
    break;
  case 'f':
    simple = "\f";
    break;
  case 'r':
    simple = "\r";
    break;
  case '"':
    simple = "\"";
    break;
  case '\\':
    simple = "\\";
    break;
  default:
    break;
  }
  if (simple != NULL) {
    HLM_TRY(sbuf_put(b, simple, 1));
    p->pos += 2;
  } else if (e == 'u' || e == 'U') {
    HLM_TRY(parse_unicode_escape(p, b, e));
  } else {
    PARSE_CHECK(false, p, p->pos,
                "invalid escape sequence: backslash followed by %s (allowed: "
                "\\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)",
                DESCRIBE(p, p->pos + 1));
  }
cleanup:
  return status;
}

/* Copy the run of ordinary characters at pos (stopping at stop, a
 * backslash if escapes, a newline or a control character). */
static hlm_status copy_run(toml_parser *p, sbuf *b, int stop, bool escapes)
{
  size_t start = p->pos;
  while (p->pos < p->len) {
    int c = (unsigned char)p->src[p->pos];
    if (c == stop || (escapes && c == '\\') || c == '\n' || c == '\r' ||
        is_forbidden_control(c)) {
      break;
    }
    p->pos++;
  }
  return sbuf_put(b, p->src + start, p->pos - start);
}

/* "..." or '...' */
static hlm_status parse_single_line(toml_parser *p, sbuf *b, int quote)
{
  hlm_status status = HLM_OK;
  size_t open = p->pos;
  bool escapes = quote == '"';
  p->pos++;
  for (;;) {
    int c = peek(p, 0);
    PARSE_CHECK(c != -1, p, open, "unterminated string (missing closing `%c`)",
                quote);
    if (c == quote) {
      p->pos++;
      break;
    }
    if (escapes && c == '\\') {
      HLM_TRY(parse_escape(p, b));
      continue;
    }
    PARSE_CHECK(c != '\n' && c != '\r', p, open,
                "unterminated string: a string opened with `%c` must end on "
                "the same line (use `%c%c%c` for multi-line strings)",
                quote, quote, quote, quote);
    PARSE_CHECK(!is_forbidden_control(c), p, p->pos,
                "control character U+%04X is not allowed in a string%s", c,
                escapes ? " (write it as an escape)" : "");
    HLM_TRY(copy_run(p, b, quote, escapes));
  }
cleanup:
  return status;
}

static void skip_ws(toml_parser *p)
{
  while (peek(p, 0) == ' ' || peek(p, 0) == '\t') {
    p->pos++;
  }
}

/* At a backslash followed by whitespace or a newline in a multi-line basic
 * string: drop it and all whitespace and newlines that follow. */
static hlm_status line_ending_backslash(toml_parser *p)
{
  hlm_status status = HLM_OK;
  size_t at = p->pos;
  p->pos++;
  skip_ws(p);
  PARSE_CHECK(peek(p, 0) == '\n' || peek(p, 0) == '\r', p, at,
              "invalid escape: a backslash followed by whitespace must be "
              "the last thing on its line, found %s after it",
              DESCRIBE(p, p->pos));
  while (peek(p, 0) == '\n' || peek(p, 0) == '\r') {
    HLM_TRY(toml_newline(p));
    skip_ws(p);
  }
cleanup:
  return status;
}

/* At a run of quote characters inside a multi-line string; sets *done when
 * the run closes the string. */
static hlm_status quote_run(toml_parser *p, sbuf *b, int quote, bool *done)
{
  hlm_status status = HLM_OK;
  size_t q = 0;
  while (peek(p, q) == quote) {
    q++;
  }
  PARSE_CHECK(q <= 5, p, p->pos + 5,
              "too many `%c` characters: at most two may come before the "
              "closing `%c%c%c`",
              quote, quote, quote, quote);
  *done = q >= 3;
  HLM_TRY(sbuf_put(b, p->src + p->pos, *done ? q - 3 : q));
  p->pos += q;
cleanup:
  return status;
}

/* """...""" or '''...''' */
static hlm_status parse_multi_line(toml_parser *p, sbuf *b, int quote)
{
  hlm_status status = HLM_OK;
  size_t open = p->pos;
  bool escapes = quote == '"', done = false;
  p->pos += 3;
  if (peek(p, 0) == '\n' || peek(p, 0) == '\r') {
    HLM_TRY(toml_newline(p)); /* a newline right after the quotes is dropped */
  }
  while (!done) {
    int c = peek(p, 0);
    PARSE_CHECK(c != -1, p, open,
                "unterminated multi-line string (missing closing `%c%c%c`)",
                quote, quote, quote);
    if (c == quote) {
      HLM_TRY(quote_run(p, b, quote, &done));
    } else if (escapes && c == '\\') {
      int e = peek(p, 1);
      if (e == ' ' || e == '\t' || e == '\n' || e == '\r') {
        HLM_TRY(line_ending_backslash(p));
      } else {
        HLM_TRY(parse_escape(p, b));
      }
    } else if (c == '\n' || c == '\r') {
      HLM_TRY(toml_newline(p)); /* CRLF is stored as LF */
      HLM_TRY(sbuf_put(b, "\n", 1));
    } else {
      PARSE_CHECK(!is_forbidden_control(c), p, p->pos,
                  "control character U+%04X is not allowed in a string%s", c,
                  escapes ? " (write it as an escape)" : "");
      HLM_TRY(copy_run(p, b, quote, escapes));
    }
  }
cleanup:
  return status;
}

hlm_status toml_parse_string(toml_parser *p, bool allow_multiline, char **out,
                             size_t *len)
{
  hlm_status status = HLM_OK;
  sbuf b = {0};
  int quote = peek(p, 0);
  bool multi = peek(p, 1) == quote && peek(p, 2) == quote;
  PARSE_CHECK(!multi || allow_multiline, p, p->pos,
              "a multi-line string cannot be used as a key");
  if (multi) {
    HLM_TRY(parse_multi_line(p, &b, quote));
  } else {
    HLM_TRY(parse_single_line(p, &b, quote));
  }
  HLM_TRY(sbuf_put(&b, "", 0));
  *out = b.p;
  *len = b.n;
  b.p = NULL;
cleanup:
  free(b.p);
  return status;
}

/* ---- numbers ---- */

static bool is_digit(int c)
{
  return c >= '0' && c <= '9';
}

/* Digits of base with single underscores between digits, from tok[*i].
 * Copies the digits (without underscores) to out[*outn...] if out is not
 * NULL.  Returns the number of digits; sets *bad on a misplaced
 * underscore. */
static size_t scan_digits(const char *tok, size_t n, size_t *i, int base,
                          char *out, size_t *outn, bool *bad)
{
  size_t count = 0;
  while (*i < n) {
    int c = (unsigned char)tok[*i];
    if (hex_value(c) < base) {
      if (out != NULL) {
        out[(*outn)++] = (char)c;
      }
      count++;
    } else if (c == '_') {
      if (count == 0 || *i + 1 >= n ||
          hex_value((unsigned char)tok[*i + 1]) >= base) {
        *bad = true;
        return count;
      }
    } else {
      break;
    }
    (*i)++;
  }
  return count;
}

typedef struct token {
  const char *s;
  size_t n;
  size_t at; /* offset in the source */
} token;

#define TOK_FMT "`%.*s%s`"
#define TOK_ARG(t)                                                             \
  (int)((t)->n > TOKEN_SHOW_MAX ? TOKEN_SHOW_MAX : (t)->n), (t)->s,            \
      ((t)->n > TOKEN_SHOW_MAX ? "..." : "")

static hlm_status bad_underscore(toml_parser *p, const token *t)
{
  return toml_fail(p, t->at,
                   "misplaced underscore in " TOK_FMT
                   ": each underscore must be between two digits",
                   TOK_ARG(t));
}

/* 0x..., 0o..., 0b... */
static hlm_status parse_prefixed(toml_parser *p, const token *t,
                                 hlm_toml_value *v)
{
  hlm_status status = HLM_OK;
  int base = t->s[1] == 'x' ? 16 : t->s[1] == 'o' ? 8 : 2;
  const char *what = base == 16  ? "hexadecimal"
                     : base == 8 ? "octal"
                                 : "binary";
  size_t i = 2;
  bool bad = false;
  uint64_t acc = 0;
  size_t count = scan_digits(t->s, t->n, &i, base, NULL, NULL, &bad);
  if (bad) {
    status = bad_underscore(p, t);
    goto cleanup;
  }
  PARSE_CHECK(count > 0 && i == t->n, p, t->at, "invalid %s integer " TOK_FMT,
              what, TOK_ARG(t));
  for (size_t j = 2; j < t->n; j++) {
    if (t->s[j] != '_') {
      uint64_t d = (uint64_t)hex_value((unsigned char)t->s[j]);
      PARSE_CHECK(acc <= ((uint64_t)INT64_MAX - d) / (uint64_t)base, p, t->at,
                  "integer " TOK_FMT " is too large for a 64-bit integer "
                  "(largest 0x7FFFFFFFFFFFFFFF)",
                  TOK_ARG(t));
      acc = acc * (uint64_t)base + d;
    }
  }
  v->type = HLM_TOML_INTEGER;
  v->u.i = (int64_t)acc;
cleanup:
  return status;
}

static hlm_status parse_decimal(toml_parser *p, const token *t,
                                hlm_toml_value *v)
{
  hlm_status status = HLM_OK;
  size_t i = 0, first;
  bool neg = false, bad = false;
  uint64_t acc = 0, limit;
  if (t->s[0] == '+' || t->s[0] == '-') {
    neg = t->s[0] == '-';
    i = 1;
  }
  first = i;
  size_t count = scan_digits(t->s, t->n, &i, 10, NULL, NULL, &bad);
  if (bad) {
    status = bad_underscore(p, t);
    goto cleanup;
  }
  PARSE_CHECK(count > 0 && i == t->n, p, t->at, "invalid value " TOK_FMT,
              TOK_ARG(t));
  PARSE_CHECK(t->s[first] != '0' || count == 1, p, t->at,
              "leading zeros are not allowed in the integer " TOK_FMT,
              TOK_ARG(t));
  limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (size_t j = first; j < t->n; j++) {
    if (t->s[j] != '_') {
      uint64_t d = (uint64_t)(t->s[j] - '0');
      PARSE_CHECK(acc <= (limit - d) / 10, p, t->at,
                  "integer " TOK_FMT " does not fit in 64 bits (range "
                  "-9223372036854775808 to 9223372036854775807)",
                  TOK_ARG(t));
      acc = acc * 10 + d;
    }
  }
  v->type = HLM_TOML_INTEGER;
  v->u.i = !neg                        ? (int64_t)acc
           : acc > (uint64_t)INT64_MAX ? INT64_MIN
                                       : -(int64_t)acc;
cleanup:
  return status;
}

/* The exponent digits tok[from, to) (underscores skipped), saturated. */
static long long exponent_value(const char *tok, size_t from, size_t to)
{
  long long e = 0;
  for (size_t j = from; j < to; j++) {
    if (is_digit((unsigned char)tok[j]) && e < 1000000000000000LL) {
      e = e * 10 + (tok[j] - '0');
    }
  }
  return e;
}

/* Validated float syntax -> "DIGITSe<exp>" (no decimal point, so strtod
 * does not depend on the locale's radix character). */
static hlm_status float_digits(toml_parser *p, const token *t, size_t i,
                               char *buf)
{
  hlm_status status = HLM_OK;
  size_t dn = 0, frac = 0;
  long long exp = 0;
  bool bad = false;
  size_t whole = scan_digits(t->s, t->n, &i, 10, buf, &dn, &bad);
  PARSE_CHECK(whole > 0 || bad, p, t->at,
              "invalid float " TOK_FMT ": digits are required before the "
              "decimal point or exponent",
              TOK_ARG(t));
  PARSE_CHECK(bad || buf[0] != '0' || whole == 1, p, t->at,
              "leading zeros are not allowed in the float " TOK_FMT,
              TOK_ARG(t));
  if (!bad && i < t->n && t->s[i] == '.') {
    i++;
    frac = scan_digits(t->s, t->n, &i, 10, buf, &dn, &bad);
    PARSE_CHECK(frac > 0 || bad, p, t->at,
                "invalid float " TOK_FMT ": the decimal point must be "
                "followed by digits",
                TOK_ARG(t));
  }
  if (!bad && i < t->n && (t->s[i] == 'e' || t->s[i] == 'E')) {
    bool neg = false;
    size_t from;
    i++;
    if (i < t->n && (t->s[i] == '+' || t->s[i] == '-')) {
      neg = t->s[i] == '-';
      i++;
    }
    from = i;
    size_t ecount = scan_digits(t->s, t->n, &i, 10, NULL, NULL, &bad);
    PARSE_CHECK(ecount > 0 || bad, p, t->at,
                "invalid float " TOK_FMT ": the exponent needs digits",
                TOK_ARG(t));
    exp = exponent_value(t->s, from, i);
    exp = neg ? -exp : exp;
  }
  if (bad) {
    status = bad_underscore(p, t);
    goto cleanup;
  }
  PARSE_CHECK(i == t->n, p, t->at, "invalid float " TOK_FMT, TOK_ARG(t));
  snprintf(buf + dn, 32, "e%lld", exp - (long long)frac);
cleanup:
  return status;
}

static hlm_status parse_float(toml_parser *p, const token *t, hlm_toml_value *v)
{
  hlm_status status = HLM_OK;
  size_t i = 0;
  bool neg = false;
  char *buf = NULL, *end = NULL;
  double d;
  if (t->s[0] == '+' || t->s[0] == '-') {
    neg = t->s[0] == '-';
    i = 1;
  }
  v->type = HLM_TOML_FLOAT;
  if (t->n - i == 3 &&
      (memcmp(t->s + i, "inf", 3) == 0 || memcmp(t->s + i, "nan", 3) == 0)) {
    d = t->s[i] == 'i' ? INFINITY : NAN;
    v->u.f = neg ? -d : d;
    goto cleanup;
  }
  HLM_ALLOC(buf, t->n + 32);
  HLM_TRY(float_digits(p, t, i, buf));
  errno = 0;
  d = strtod(buf, &end);
  PARSE_CHECK(end != buf && *end == '\0', p, t->at,
              "internal error converting the float " TOK_FMT, TOK_ARG(t));
  PARSE_CHECK(!isinf(d), p, t->at,
              "float " TOK_FMT " is too large for a double (largest about "
              "1.8e308)",
              TOK_ARG(t));
  v->u.f = neg ? -d : d;
cleanup:
  free(buf);
  return status;
}

static hlm_status parse_number(toml_parser *p, const token *t,
                               hlm_toml_value *v)
{
  hlm_status status = HLM_OK;
  size_t i = (t->s[0] == '+' || t->s[0] == '-') ? 1 : 0;
  bool prefixed =
      t->n >= i + 2 && t->s[i] == '0' &&
      (t->s[i + 1] == 'x' || t->s[i + 1] == 'o' || t->s[i + 1] == 'b');
  bool special = t->n - i == 3 && (memcmp(t->s + i, "inf", 3) == 0 ||
                                   memcmp(t->s + i, "nan", 3) == 0);
  bool is_float = special;
  for (size_t j = i; j < t->n && !prefixed; j++) {
    is_float = is_float || t->s[j] == '.' || t->s[j] == 'e' || t->s[j] == 'E';
  }
  PARSE_CHECK(special || (i < t->n && is_digit((unsigned char)t->s[i])), p,
              t->at,
              "invalid value " TOK_FMT ": not a number, boolean or date "
              "(strings must be in quotes; booleans are `true` and `false`)",
              TOK_ARG(t));
  if (prefixed) {
    PARSE_CHECK(i == 0, p, t->at,
                "a sign is not allowed on hexadecimal, octal or binary "
                "integers: " TOK_FMT,
                TOK_ARG(t));
    HLM_TRY(parse_prefixed(p, t, v));
  } else if (is_float) {
    HLM_TRY(parse_float(p, t, v));
  } else {
    HLM_TRY(parse_decimal(p, t, v));
  }
cleanup:
  return status;
}

/* ---- dates and times ---- */

static bool digits_at(const char *s, size_t n, size_t from, int count, int *out)
{
  int v = 0;
  if (from + (size_t)count > n) {
    return false;
  }
  for (int k = 0; k < count; k++) {
    if (!is_digit((unsigned char)s[from + (size_t)k])) {
      return false;
    }
    v = v * 10 + (s[from + (size_t)k] - '0');
  }
  *out = v;
  return true;
}

static int days_in_month(int year, int month)
{
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

/* YYYY-MM-DD at s; NULL or the reason it is invalid. */
static const char *scan_date(const char *s, size_t n, hlm_toml_datetime *dt)
{
  if (!digits_at(s, n, 0, 4, &dt->year) || n < 10 || s[4] != '-' ||
      !digits_at(s, n, 5, 2, &dt->month) || s[7] != '-' ||
      !digits_at(s, n, 8, 2, &dt->day)) {
    return "a date must be written YYYY-MM-DD";
  }
  if (dt->month < 1 || dt->month > 12) {
    return "the month must be 01 to 12";
  }
  if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month)) {
    return "that day does not exist in that month";
  }
  dt->has_date = true;
  return NULL;
}

/* HH:MM:SS[.fraction] at s; *used receives its length. */
static const char *scan_time(const char *s, size_t n, size_t *used,
                             hlm_toml_datetime *dt)
{
  size_t i = 8;
  if (!digits_at(s, n, 0, 2, &dt->hour) || n < 5 || s[2] != ':' ||
      !digits_at(s, n, 3, 2, &dt->minute)) {
    return "a time must be written HH:MM:SS";
  }
  if (n < 8 || s[5] != ':' || !digits_at(s, n, 6, 2, &dt->second)) {
    return "a time must be written HH:MM:SS (TOML 1.0 requires seconds)";
  }
  if (dt->hour > 23 || dt->minute > 59 || dt->second > 60) {
    return "hours must be 00-23, minutes 00-59 and seconds 00-60";
  }
  if (i < n && s[i] == '.') {
    size_t from = ++i;
    while (i < n && is_digit((unsigned char)s[i])) {
      if (i - from < 9) {
        dt->nanosecond = dt->nanosecond * 10 + (s[i] - '0');
        dt->frac_digits++;
      }
      i++;
    }
    if (i == from) {
      return "the decimal point in the seconds must be followed by digits";
    }
    for (int k = dt->frac_digits; k < 9; k++) {
      dt->nanosecond *= 10;
    }
  }
  dt->has_time = true;
  *used = i;
  return NULL;
}

/* Z or +HH:MM / -HH:MM, exactly the n bytes at s. */
static const char *scan_offset(const char *s, size_t n, hlm_toml_datetime *dt)
{
  int h, m;
  if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
    dt->offset_minutes = 0;
  } else if (n == 6 && (s[0] == '+' || s[0] == '-') &&
             digits_at(s, n, 1, 2, &h) && s[3] == ':' &&
             digits_at(s, n, 4, 2, &m)) {
    if (h > 23 || m > 59) {
      return "the offset must be between -23:59 and +23:59";
    }
    dt->offset_minutes = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
  } else {
    return "expected nothing or a time zone offset (Z, +HH:MM or -HH:MM) "
           "after the time";
  }
  dt->has_offset = true;
  return NULL;
}

static const char *scan_datetime(const char *s, size_t n, hlm_toml_datetime *dt,
                                 hlm_toml_type *type)
{
  const char *why = scan_date(s, n, dt);
  size_t used = 0;
  if (why != NULL) {
    return why;
  }
  if (n == 10) {
    *type = HLM_TOML_LOCAL_DATE;
    return NULL;
  }
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
    return "expected `T` or a space between the date and the time";
  }
  why = scan_time(s + 11, n - 11, &used, dt);
  if (why != NULL) {
    return why;
  }
  if (11 + used == n) {
    *type = HLM_TOML_LOCAL_DATETIME;
    return NULL;
  }
  *type = HLM_TOML_OFFSET_DATETIME;
  return scan_offset(s + 11 + used, n - 11 - used, dt);
}

static hlm_status parse_datetime(toml_parser *p, const token *t, bool date,
                                 hlm_toml_value *v)
{
  hlm_status status = HLM_OK;
  hlm_toml_datetime dt = {0};
  hlm_toml_type type = HLM_TOML_LOCAL_TIME;
  const char *why;
  size_t used = 0;
  if (date) {
    why = scan_datetime(t->s, t->n, &dt, &type);
  } else {
    why = scan_time(t->s, t->n, &used, &dt);
    if (why == NULL && used != t->n) {
      why = "a local time cannot be followed by anything else";
    }
  }
  PARSE_CHECK(why == NULL, p, t->at, "invalid %s " TOK_FMT ": %s",
              date ? "date or date-time" : "time", TOK_ARG(t), why);
  v->type = type;
  v->u.dt = dt;
cleanup:
  return status;
}

/* ---- bare values ---- */

static bool is_token_char(int c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') || c == '_' || c == '+' || c == '-' ||
         c == '.' || c == ':';
}

static bool looks_like_date(const char *s, size_t n)
{
  return n >= 5 && is_digit((unsigned char)s[0]) &&
         is_digit((unsigned char)s[1]) && is_digit((unsigned char)s[2]) &&
         is_digit((unsigned char)s[3]) && s[4] == '-';
}

static bool looks_like_time(const char *s, size_t n)
{
  return n >= 3 && is_digit((unsigned char)s[0]) &&
         is_digit((unsigned char)s[1]) && s[2] == ':';
}

static size_t token_end(const toml_parser *p, size_t from)
{
  while (from < p->len && is_token_char((unsigned char)p->src[from])) {
    from++;
  }
  return from;
}

hlm_status toml_parse_bare_value(toml_parser *p, hlm_toml_value *v)
{
  hlm_status status = HLM_OK;
  size_t end = token_end(p, p->pos);
  token t = {p->src + p->pos, end - p->pos, p->pos};
  /* "1979-05-27 07:32:00": a date, a space and a time are one value */
  if (t.n == 10 && looks_like_date(t.s, t.n) && end + 1 < p->len &&
      p->src[end] == ' ' &&
      looks_like_time(p->src + end + 1, p->len - end - 1)) {
    end = token_end(p, end + 1);
    t.n = end - p->pos;
  }
  if (t.n == 4 && memcmp(t.s, "true", 4) == 0) {
    v->type = HLM_TOML_BOOLEAN;
    v->u.b = true;
  } else if (t.n == 5 && memcmp(t.s, "false", 5) == 0) {
    v->type = HLM_TOML_BOOLEAN;
    v->u.b = false;
  } else if (looks_like_date(t.s, t.n) || looks_like_time(t.s, t.n)) {
    HLM_TRY(parse_datetime(p, &t, looks_like_date(t.s, t.n), v));
  } else {
    PARSE_CHECK(t.n > 0, p, t.at, "expected a value, found %s",
                DESCRIBE(p, t.at));
    HLM_TRY(parse_number(p, &t, v));
  }
  p->pos = end;
cleanup:
  return status;
}
