/*
 * test_toml_suite: run the toml-test conformance vectors against the TOML
 * reader.
 *
 *   test_toml_suite <toml-test tests dir> <files list>
 *
 * For every `valid/X.toml` in the list the document must parse and equal
 * `valid/X.json` (toml-test's tagged JSON: {"type": "integer", "value":
 * "42"}); for every `invalid/X.toml` parsing must fail with HLM_ERR_PARSE
 * and a message of the form "path:line:column: ...".  `.json` lines are the
 * expected values of valid cases and are not run on their own.  Floats are
 * compared by value (any NaN matches any NaN; the sign of zero must match);
 * date-times are compared after normalising as toml-test does (offset
 * date-times as instants, fractional seconds by value).  Prints each failure
 * and a summary; exits non-zero on any failure.  Local.
 */
#include "hlm/toml.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PATH_MAX_LEN = 4096 };

static const char *current_case;

static bool fail_at(const char *keypath, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static bool fail_at(const char *keypath, const char *fmt, ...)
{
  va_list ap;
  printf("FAIL %s: at `%s`: ", current_case, keypath[0] ? keypath : "<root>");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  return false;
}

/* ---- NUL in expected keys ----
 * jansson cannot hold NUL bytes in object keys, so the expected file is read
 * with every \u0000 escape replaced by \uFDD0 (a noncharacter no test
 * uses), and expected keys and strings are mapped back before comparing. */

#define NUL_STANDIN "\xEF\xB7\x90"

static char *unmap_nul(const char *s, size_t n, size_t *outn)
{
  char *out = malloc(n + 1);
  size_t w = 0;
  for (size_t i = 0; out != NULL && i < n; i++) {
    if (i + 3 <= n && memcmp(s + i, NUL_STANDIN, 3) == 0) {
      out[w++] = '\0';
      i += 2;
    } else {
      out[w++] = s[i];
    }
  }
  if (out != NULL) {
    out[w] = '\0';
  }
  *outn = w;
  return out;
}

static json_t *load_expected(const char *path, json_error_t *err)
{
  FILE *f = fopen(path, "rb");
  char *text = NULL;
  long n;
  json_t *j = NULL;
  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0 || (text = malloc((size_t)n + 1)) == NULL ||
      fread(text, 1, (size_t)n, f) != (size_t)n) {
    snprintf(err->text, sizeof err->text, "cannot read the file");
  } else {
    for (long i = 0; i + 1 < n; i++) {
      if (text[i] == '\\' && text[i + 1] == 'u' && i + 5 < n &&
          memcmp(text + i + 2, "0000", 4) == 0) {
        memcpy(text + i + 2, "FDD0", 4);
      }
      i += text[i] == '\\'; /* skip the escaped character */
    }
    j = json_loadb(text, (size_t)n, JSON_ALLOW_NUL, err);
  }
  free(text);
  if (f != NULL) {
    fclose(f);
  }
  return j;
}

/* ---- expected date-times ---- */

typedef struct stamp {
  int year, month, day, hour, minute, second;
  long nanos;
  int offset; /* minutes */
  bool has_date, has_time, has_offset;
} stamp;

static int num(const char *s, int n)
{
  int v = 0;
  for (int i = 0; i < n; i++) {
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Parse toml-test's expected form; false if it does not look right. */
static bool parse_stamp(const char *s, stamp *st)
{
  memset(st, 0, sizeof *st);
  if (strlen(s) >= 10 && s[4] == '-') {
    st->year = num(s, 4);
    st->month = num(s + 5, 2);
    st->day = num(s + 8, 2);
    st->has_date = true;
    s += 10;
    if (*s == '\0') {
      return true;
    }
    s++; /* T, t or space */
  }
  if (strlen(s) < 8 || s[2] != ':' || s[5] != ':') {
    return false;
  }
  st->hour = num(s, 2);
  st->minute = num(s + 3, 2);
  st->second = num(s + 6, 2);
  st->has_time = true;
  s += 8;
  if (*s == '.') {
    long scale = 100000000;
    for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10) {
      st->nanos += scale * (*s - '0');
    }
  }
  if (*s == 'Z' || *s == 'z') {
    st->has_offset = true;
    s++;
  } else if (*s == '+' || *s == '-') {
    st->has_offset = true;
    st->offset = (*s == '-' ? -1 : 1) * (num(s + 1, 2) * 60 + num(s + 4, 2));
    s += 6;
  }
  return *s == '\0';
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long days_from_civil(int y, int m, int d)
{
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  long yoe = y - era * 400;
  long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static long long instant(const stamp *s)
{
  return (days_from_civil(s->year, s->month, s->day) * 86400LL +
          s->hour * 3600LL + s->minute * 60LL + s->second - s->offset * 60LL);
}

static bool cmp_datetime(const hlm_toml_value *v, const char *want,
                         const char *keypath)
{
  hlm_toml_datetime dt;
  stamp e, g;
  char got[96];
  if (hlm_toml_get_datetime(v, &dt) != HLM_OK || !parse_stamp(want, &e)) {
    return fail_at(keypath, "cannot compare date-time %s%s", want, "");
  }
  g = (stamp){dt.year,     dt.month,    dt.day,        dt.hour,
              dt.minute,   dt.second,   dt.nanosecond, dt.offset_minutes,
              dt.has_date, dt.has_time, dt.has_offset};
  snprintf(got, sizeof got, "%04d-%02d-%02dT%02d:%02d:%02d.%09d%+d", dt.year,
           dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.nanosecond,
           dt.offset_minutes);
  bool same = e.has_date == g.has_date && e.has_time == g.has_time &&
              e.has_offset == g.has_offset && e.nanos == g.nanos;
  if (same && e.has_offset) {
    same = instant(&e) == instant(&g);
  } else if (same) {
    same = e.year == g.year && e.month == g.month && e.day == g.day &&
           e.hour == g.hour && e.minute == g.minute && e.second == g.second;
  }
  return same ? true
              : fail_at(keypath, "date-time: expected %s, got %s", want, got);
}

/* ---- scalars ---- */

static bool cmp_float(const hlm_toml_value *v, const char *want,
                      const char *keypath)
{
  double got, exp;
  char buf[64];
  hlm_toml_get_float(v, &got);
  snprintf(buf, sizeof buf, "%.17g", got);
  if (strstr(want, "nan") != NULL) {
    return isnan(got)
               ? true
               : fail_at(keypath, "float: expected %s, got %s", want, buf);
  }
  if (strcmp(want, "inf") == 0 || strcmp(want, "+inf") == 0) {
    exp = INFINITY;
  } else if (strcmp(want, "-inf") == 0) {
    exp = -INFINITY;
  } else {
    exp = strtod(want, NULL);
  }
  if (got == exp && !signbit(got) == !signbit(exp)) {
    return true;
  }
  return fail_at(keypath, "float: expected %s, got %s", want, buf);
}

static const char *tag_of(hlm_toml_type t)
{
  switch (t) {
  case HLM_TOML_STRING:
    return "string";
  case HLM_TOML_INTEGER:
    return "integer";
  case HLM_TOML_FLOAT:
    return "float";
  case HLM_TOML_BOOLEAN:
    return "bool";
  case HLM_TOML_OFFSET_DATETIME:
    return "datetime";
  case HLM_TOML_LOCAL_DATETIME:
    return "datetime-local";
  case HLM_TOML_LOCAL_DATE:
    return "date-local";
  case HLM_TOML_LOCAL_TIME:
    return "time-local";
  case HLM_TOML_TABLE:
    return "table";
  case HLM_TOML_ARRAY:
    return "array";
  }
  return "?";
}

static bool cmp_scalar(const hlm_toml_value *v, const char *type, json_t *val,
                       const char *keypath)
{
  const char *want = json_string_value(val);
  hlm_toml_type t = hlm_toml_value_type(v);
  if (strcmp(type, tag_of(t)) != 0) {
    return fail_at(keypath, "expected type %s, got %s", type, tag_of(t));
  }
  if (t == HLM_TOML_STRING) {
    const char *s;
    size_t n, wn;
    char *w = unmap_nul(want, json_string_length(val), &wn);
    bool same;
    hlm_toml_get_string(v, &s, &n);
    same = w != NULL && n == wn && memcmp(s, w, n) == 0;
    free(w);
    return same ? true
                : fail_at(keypath, "string: expected \"%s\", got \"%s\"", want,
                          s);
  }
  if (t == HLM_TOML_INTEGER) {
    int64_t i;
    char got[32];
    hlm_toml_get_integer(v, &i);
    snprintf(got, sizeof got, "%lld", (long long)i);
    return strtoll(want, NULL, 10) == i
               ? true
               : fail_at(keypath, "integer: expected %s, got %s", want, got);
  }
  if (t == HLM_TOML_FLOAT) {
    return cmp_float(v, want, keypath);
  }
  if (t == HLM_TOML_BOOLEAN) {
    bool b;
    hlm_toml_get_boolean(v, &b);
    return strcmp(want, b ? "true" : "false") == 0
               ? true
               : fail_at(keypath, "bool: expected %s, got %s", want,
                         b ? "true" : "false");
  }
  return cmp_datetime(v, want, keypath);
}

/* ---- structure ---- */

static bool cmp_value(const hlm_toml_value *v, json_t *j, char *keypath,
                      size_t cap);

static bool is_tagged(json_t *j)
{
  return json_is_object(j) && json_object_size(j) == 2 &&
         json_is_string(json_object_get(j, "type")) &&
         json_is_string(json_object_get(j, "value"));
}

static bool cmp_table(const hlm_toml_value *v, json_t *j, char *keypath,
                      size_t cap)
{
  const char *key;
  json_t *item;
  size_t used = strlen(keypath);
  bool ok = true;
  char count[2][32];
  if (hlm_toml_value_type(v) != HLM_TOML_TABLE) {
    return fail_at(keypath, "expected a table, got %s%s",
                   tag_of(hlm_toml_value_type(v)), "");
  }
  if (hlm_toml_table_count(v) != json_object_size(j)) {
    snprintf(count[0], 32, "%zu", json_object_size(j));
    snprintf(count[1], 32, "%zu", hlm_toml_table_count(v));
    ok = fail_at(keypath, "expected %s keys, got %s", count[0], count[1]);
  }
  json_object_foreach(j, key, item)
  {
    size_t kn;
    char *k = unmap_nul(key, strlen(key), &kn);
    const hlm_toml_value *sub = k ? hlm_toml_table_get_n(v, k, kn) : NULL;
    free(k);
    snprintf(keypath + used, cap - used, "%s%s", used ? "." : "", key);
    if (sub == NULL) {
      ok = fail_at(keypath, "missing key%s%s", "", "");
    } else {
      ok = cmp_value(sub, item, keypath, cap) && ok;
    }
    keypath[used] = '\0';
  }
  return ok;
}

static bool cmp_array(const hlm_toml_value *v, json_t *j, char *keypath,
                      size_t cap)
{
  size_t used = strlen(keypath);
  bool ok = true;
  if (hlm_toml_value_type(v) != HLM_TOML_ARRAY ||
      hlm_toml_array_count(v) != json_array_size(j)) {
    return fail_at(keypath, "expected an array of the same length%s%s", "", "");
  }
  for (size_t i = 0; i < json_array_size(j); i++) {
    snprintf(keypath + used, cap - used, "[%zu]", i);
    ok = cmp_value(hlm_toml_array_item(v, i), json_array_get(j, i), keypath,
                   cap) &&
         ok;
    keypath[used] = '\0';
  }
  return ok;
}

static bool cmp_value(const hlm_toml_value *v, json_t *j, char *keypath,
                      size_t cap)
{
  if (json_is_array(j)) {
    return cmp_array(v, j, keypath, cap);
  }
  if (is_tagged(j)) {
    return cmp_scalar(v, json_string_value(json_object_get(j, "type")),
                      json_object_get(j, "value"), keypath);
  }
  if (json_is_object(j)) {
    return cmp_table(v, j, keypath, cap);
  }
  return fail_at(keypath, "unexpected JSON in the expected file%s%s", "", "");
}

/* ---- cases ---- */

/* dir/name into out; false (with a message) if it does not fit. */
static bool join_path(char *out, size_t cap, const char *dir, const char *name)
{
  int n = snprintf(out, cap, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= cap) {
    printf("FAIL %s: path too long\n", name);
    return false;
  }
  return true;
}

static bool run_valid(const char *dir, const char *name)
{
  char path[PATH_MAX_LEN], jpath[PATH_MAX_LEN], keypath[PATH_MAX_LEN] = "";
  hlm_toml_doc *doc = NULL;
  json_t *want = NULL;
  json_error_t jerr;
  bool ok;
  if (!join_path(path, sizeof path, dir, name)) {
    return false;
  }
  snprintf(jpath, sizeof jpath, "%.*s.json", (int)(strlen(path) - 5), path);
  if (hlm_toml_parse_file(path, &doc) != HLM_OK) {
    printf("FAIL %s: rejected: %s\n", name, hlm_error_message());
    return false;
  }
  want = load_expected(jpath, &jerr);
  if (want == NULL) {
    printf("FAIL %s: cannot read %s: %s\n", name, jpath, jerr.text);
    hlm_toml_doc_destroy(&doc);
    return false;
  }
  ok = cmp_value(hlm_toml_root(doc), want, keypath, sizeof keypath);
  json_decref(want);
  hlm_toml_doc_destroy(&doc);
  return ok;
}

/* "path:line:column: text" with positive line and column. */
static bool well_formed_message(const char *msg, const char *path)
{
  size_t n = strlen(path);
  long line, col;
  char *end;
  if (strncmp(msg, path, n) != 0 || msg[n] != ':') {
    return false;
  }
  line = strtol(msg + n + 1, &end, 10);
  if (*end != ':' || line < 1) {
    return false;
  }
  col = strtol(end + 1, &end, 10);
  return col >= 1 && end[0] == ':' && end[1] == ' ' && end[2] != '\0';
}

static bool run_invalid(const char *dir, const char *name, bool verbose)
{
  char path[PATH_MAX_LEN];
  hlm_toml_doc *doc = NULL;
  hlm_status status;
  if (!join_path(path, sizeof path, dir, name)) {
    return false;
  }
  status = hlm_toml_parse_file(path, &doc);
  if (status == HLM_OK) {
    printf("FAIL %s: accepted an invalid document\n", name);
    hlm_toml_doc_destroy(&doc);
    return false;
  }
  if (status != HLM_ERR_PARSE ||
      !well_formed_message(hlm_error_message(), path)) {
    printf("FAIL %s: bad error (%s): %s\n", name, hlm_strerror(status),
           hlm_error_message());
    return false;
  }
  if (verbose) {
    printf("ok   %s\n", hlm_error_message());
  }
  return true;
}

int main(int argc, char **argv)
{
  char line[PATH_MAX_LEN];
  FILE *list;
  int passed = 0, failed = 0, lines = 0, valid = 0, invalid = 0, expected = 0;
  bool verbose = getenv("TOML_SUITE_VERBOSE") != NULL;
  if (argc != 3) {
    fprintf(stderr, "usage: %s <toml-test tests dir> <files list>\n", argv[0]);
    return 2;
  }
  list = fopen(argv[2], "r");
  if (list == NULL) {
    fprintf(stderr, "%s: cannot open %s\n", argv[0], argv[2]);
    return 2;
  }
  while (fgets(line, sizeof line, list) != NULL) {
    size_t n = strcspn(line, "\r\n");
    bool ok;
    line[n] = '\0';
    lines += n > 0;
    if (n > 5 && strcmp(line + n - 5, ".json") == 0) {
      expected++; /* the expected value of a valid case */
      continue;
    }
    if (n < 5 || strcmp(line + n - 5, ".toml") != 0) {
      continue;
    }
    valid += strncmp(line, "valid/", 6) == 0;
    invalid += strncmp(line, "invalid/", 8) == 0;
    current_case = line;
    if (strncmp(line, "valid/", 6) == 0) {
      ok = run_valid(argv[1], line);
    } else if (strncmp(line, "invalid/", 8) == 0) {
      ok = run_invalid(argv[1], line, verbose);
    } else {
      printf("FAIL %s: neither valid/ nor invalid/\n", line);
      ok = false;
    }
    passed += ok;
    failed += !ok;
  }
  fclose(list);
  if (expected != valid) {
    printf("FAIL list: %d valid cases but %d expected-value files\n", valid,
           expected);
    failed++;
  }
  printf("toml-test: %d list lines (%d valid cases with %d expected-value "
         "files, %d invalid cases): %d cases passed, %d failed\n",
         lines, valid, expected, invalid, passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
