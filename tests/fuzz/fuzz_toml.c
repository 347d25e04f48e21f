/*
 * fuzz_toml: libFuzzer harness for the TOML reader.
 *
 * Parses arbitrary bytes; when they parse, walks the whole tree through the
 * public API and checks invariants (every key is found again by
 * hlm_toml_table_get_n, positions are positive, strings are NUL-terminated,
 * getters agree with hlm_toml_value_type).  The bytes are also used as a
 * dotted path for hlm_toml_lookup on a fixed document.  Any violated
 * invariant aborts.  Local.
 *
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *     src/error.c src/toml*.c tests/fuzz/fuzz_toml.c -lm -o fuzz_toml
 *   ./fuzz_toml -max_total_time=60 corpus/ /work/shared/toml-test/tests/valid
 */
#include "hlm/toml.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      abort();                                                                 \
    }                                                                          \
  } while (0)

static void walk(const hlm_toml_value *v, int depth);

static void check_scalar(const hlm_toml_value *v)
{
  hlm_toml_type t = hlm_toml_value_type(v);
  const char *s = NULL;
  size_t len = 0;
  int64_t i;
  double f;
  bool b;
  hlm_toml_datetime dt;
  bool is_dt = t == HLM_TOML_OFFSET_DATETIME || t == HLM_TOML_LOCAL_DATETIME ||
               t == HLM_TOML_LOCAL_DATE || t == HLM_TOML_LOCAL_TIME;
  CHECK((hlm_toml_get_string(v, &s, &len) == HLM_OK) == (t == HLM_TOML_STRING));
  if (t == HLM_TOML_STRING) {
    CHECK(s != NULL && s[len] == '\0');
  }
  CHECK((hlm_toml_get_integer(v, &i) == HLM_OK) == (t == HLM_TOML_INTEGER));
  CHECK((hlm_toml_get_float(v, &f) == HLM_OK) == (t == HLM_TOML_FLOAT));
  CHECK((hlm_toml_get_boolean(v, &b) == HLM_OK) == (t == HLM_TOML_BOOLEAN));
  CHECK((hlm_toml_get_datetime(v, &dt) == HLM_OK) == is_dt);
  if (is_dt) {
    CHECK(dt.has_date == (t != HLM_TOML_LOCAL_TIME));
    CHECK(dt.has_time == (t != HLM_TOML_LOCAL_DATE));
    CHECK(dt.has_offset == (t == HLM_TOML_OFFSET_DATETIME));
    CHECK(!dt.has_date || (dt.month >= 1 && dt.month <= 12 && dt.day >= 1 &&
                           dt.day <= 31 && dt.year <= 9999));
    CHECK(!dt.has_time ||
          (dt.hour <= 23 && dt.minute <= 59 && dt.second <= 60 &&
           dt.nanosecond >= 0 && dt.nanosecond <= 999999999));
  }
  (void)hlm_toml_get_number(v, &f);
}

static void walk_table(const hlm_toml_value *v, int depth)
{
  size_t n = hlm_toml_table_count(v);
  for (size_t k = 0; k < n; k++) {
    size_t len = 0;
    const char *key = hlm_toml_table_key(v, k, &len);
    const hlm_toml_value *item = hlm_toml_table_value(v, k);
    CHECK(key != NULL && item != NULL && key[len] == '\0');
    CHECK(hlm_toml_table_get_n(v, key, len) == item);
    CHECK(hlm_toml_table_key_line(v, k) >= 1);
    CHECK(hlm_toml_table_key_column(v, k) >= 1);
    walk(item, depth + 1);
  }
  CHECK(hlm_toml_table_value(v, n) == NULL);
}

static void walk(const hlm_toml_value *v, int depth)
{
  CHECK(v != NULL && depth <= HLM_TOML_MAX_DEPTH);
  CHECK(hlm_toml_value_line(v) >= 1 && hlm_toml_value_column(v) >= 1);
  CHECK(hlm_toml_value_file(v) != NULL);
  switch (hlm_toml_value_type(v)) {
  case HLM_TOML_TABLE:
    walk_table(v, depth);
    break;
  case HLM_TOML_ARRAY:
    for (size_t i = 0; i < hlm_toml_array_count(v); i++) {
      walk(hlm_toml_array_item(v, i), depth + 1);
    }
    CHECK(hlm_toml_array_item(v, hlm_toml_array_count(v)) == NULL);
    break;
  default:
    check_scalar(v);
  }
}

/* The input as a path into a fixed document. */
static void lookup_path(const uint8_t *data, size_t size)
{
  static hlm_toml_doc *fixed;
  static const char text[] = "a.b.c = 1\n\"x y\".'z' = 2\n[t]\n\"\" = 3\n";
  char *path;
  if (fixed == NULL &&
      hlm_toml_parse_string(text, sizeof text - 1, "fixed", &fixed) != HLM_OK) {
    abort();
  }
  path = malloc(size + 1);
  if (path == NULL) {
    return;
  }
  memcpy(path, data, size);
  path[size] = '\0';
  (void)hlm_toml_lookup(hlm_toml_root(fixed), path);
  free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  hlm_toml_doc *doc = NULL;
  hlm_status status =
      hlm_toml_parse_string((const char *)data, size, "fuzz.toml", &doc);
  if (status == HLM_OK) {
    CHECK(doc != NULL);
    walk(hlm_toml_root(doc), 0);
  } else {
    CHECK(doc == NULL);
    CHECK(status == HLM_ERR_PARSE || status == HLM_ERR_NOMEM);
    CHECK(strncmp(hlm_error_message(), "fuzz.toml:", 10) == 0);
  }
  hlm_toml_doc_destroy(&doc);
  if (size < 256) {
    lookup_path(data, size);
  }
  return 0;
}
