/*
 * test_toml: unit tests of the TOML reader (hlm/toml.h) with cmocka:
 * error messages and their exact positions, lookup by dotted path,
 * iteration order, typed getters and their messages, overflow detection and
 * values checked by hand.  Local.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen */
#include "hlm/toml.h"

/* cmocka needs these first, in this order */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static hlm_toml_doc *parse_ok(const char *text)
{
  hlm_toml_doc *doc = NULL;
  hlm_status status = hlm_toml_parse_string(text, strlen(text), "t.toml", &doc);
  if (status != HLM_OK) {
    print_error("unexpected failure: %s\n", hlm_error_message());
  }
  assert_int_equal(status, HLM_OK);
  assert_non_null(doc);
  return doc;
}

/* Parsing must fail with exactly this message. */
static void parse_fails(const char *text, const char *message)
{
  hlm_toml_doc *doc = NULL;
  hlm_status status = hlm_toml_parse_string(text, strlen(text), "t.toml", &doc);
  assert_int_equal(status, HLM_ERR_PARSE);
  assert_null(doc);
  assert_string_equal(hlm_error_message(), message);
}

/* Parsing must fail with a message that starts with prefix. */
static void parse_fails_at(const char *text, const char *prefix)
{
  hlm_toml_doc *doc = NULL;
  hlm_status status = hlm_toml_parse_string(text, strlen(text), "t.toml", &doc);
  assert_int_equal(status, HLM_ERR_PARSE);
  assert_null(doc);
  if (strncmp(hlm_error_message(), prefix, strlen(prefix)) != 0) {
    print_error("message: %s\nwanted prefix: %s\n", hlm_error_message(),
                prefix);
    fail();
  }
}

static int64_t integer_of(const char *text)
{
  hlm_toml_doc *doc = parse_ok(text);
  int64_t v = 0;
  assert_int_equal(
      hlm_toml_get_integer(hlm_toml_lookup(hlm_toml_root(doc), "a"), &v),
      HLM_OK);
  hlm_toml_doc_destroy(&doc);
  return v;
}

static double float_of(const char *text)
{
  hlm_toml_doc *doc = parse_ok(text);
  double v = 0;
  assert_int_equal(
      hlm_toml_get_float(hlm_toml_lookup(hlm_toml_root(doc), "a"), &v), HLM_OK);
  hlm_toml_doc_destroy(&doc);
  return v;
}

/* ---- error messages and positions ---- */

static void test_error_positions(void **state)
{
  (void)state;
  parse_fails("a = 1\nb = \n",
              "t.toml:2:5: expected a value (string, number, boolean, date, "
              "array or inline table), found end of line");
  /* columns count characters, not bytes: é is two bytes */
  parse_fails("s = \"\xC3\xA9\" x\n",
              "t.toml:1:9: expected the end of the line after the value, "
              "found `x`");
  /* a tab is one column */
  parse_fails("\ta = 1 x\n", "t.toml:1:8: expected the end of the line after "
                             "the value, found `x`");
  /* lines counted across multi-line strings and CRLF */
  parse_fails("a = \"\"\"\r\nline\r\n\"\"\"\r\nb = ?\r\n",
              "t.toml:4:5: expected a value (string, number, boolean, date, "
              "array or inline table), found `?`");
  parse_fails("a = [\n  1,\n  2\n  3]\n",
              "t.toml:4:3: expected `,` or `]` in the array opened at 1:5, "
              "found `3`");
  parse_fails("name = 1\nname = 2\n",
              "t.toml:2:1: duplicate key `name` (first defined at 1:1)");
  parse_fails("[a]\nx = 1\n[a]\n",
              "t.toml:3:2: cannot define table [a]: it was already defined by "
              "a table header at 1:1");
  parse_fails("p = {x = 1}\np.y = 2\n",
              "t.toml:2:1: cannot add keys to `p` with a dotted key: it is an "
              "inline table (written at 1:5) and inline tables cannot be "
              "extended");
  parse_fails("[fruit]\napple.color = \"red\"\n[fruit.apple]\n",
              "t.toml:3:8: cannot define table [fruit.apple]: it was already "
              "defined by a dotted key at 2:1");
  parse_fails("a = \"tab\\q\"\n",
              "t.toml:1:9: invalid escape sequence: backslash followed by `q` "
              "(allowed: \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)");
  parse_fails("a = \"\\uD800\"\n",
              "t.toml:1:6: escape `\\uD800` is not a Unicode scalar value "
              "(surrogates and values above 10FFFF are not allowed)");
  parse_fails("a = 'x\x01'\n",
              "t.toml:1:7: control character U+0001 is not allowed in a "
              "string");
  parse_fails("# ok\n# bad \xC3\x28\n",
              "t.toml:2:7: invalid UTF-8 (byte 0xC3); TOML files must be "
              "encoded in UTF-8");
  parse_fails("a = 1\rb = 2\n", "t.toml:1:6: carriage return not followed by "
                                "a line feed (a lone CR is not a newline in "
                                "TOML)");
  parse_fails("a = 2023-02-29\n",
              "t.toml:1:5: invalid date or date-time `2023-02-29`: that day "
              "does not exist in that month");
  parse_fails("a = 1\n[t]\nb = yes\n",
              "t.toml:3:5: invalid value `yes`: not a number, boolean or date "
              "(strings must be in quotes; booleans are `true` and `false`)");
  parse_fails("t = {a = 1,}\n",
              "t.toml:1:12: trailing comma is not allowed in an inline table");
  parse_fails("t = {a = 1,\n b = 2}\n",
              "t.toml:1:12: expected a key, found end of line");
}

static void test_embedded_nul_and_bom(void **state)
{
  hlm_toml_doc *doc = NULL;
  const char text[] = "a = 1\0\n";
  (void)state;
  assert_int_equal(hlm_toml_parse_string(text, sizeof text - 1, "n.toml", &doc),
                   HLM_ERR_PARSE);
  assert_string_equal(hlm_error_message(),
                      "n.toml:1:6: expected the end of the line after the "
                      "value, found control character U+0000");
  /* a byte order mark at the start is skipped and does not shift columns */
  doc = parse_ok("\xEF\xBB\xBF"
                 "a = 1\n");
  assert_int_equal(hlm_toml_table_key_column(hlm_toml_root(doc), 0), 1);
  hlm_toml_doc_destroy(&doc);
  /* an empty document is an empty table */
  assert_int_equal(hlm_toml_parse_string(NULL, 0, NULL, &doc), HLM_OK);
  assert_int_equal(hlm_toml_table_count(hlm_toml_root(doc)), 0);
  assert_string_equal(hlm_toml_doc_name(doc), "<string>");
  hlm_toml_doc_destroy(&doc);
}

static void test_key_and_value_positions(void **state)
{
  const char *text = "# config\n"
                     "[estimation]\n"
                     "  tolerance = 1e-8\n"
                     "  formla = \"y ~ x\"\n"
                     "site.\"name\" = 'x'\n"
                     "[[runs]]\n"
                     "[[runs]]\n"
                     "  seed = [1, 2]\n";
  hlm_toml_doc *doc = parse_ok(text);
  const hlm_toml_value *root = hlm_toml_root(doc), *est, *runs, *site;
  (void)state;
  assert_int_equal(hlm_toml_value_line(root), 1);
  assert_int_equal(hlm_toml_value_column(root), 1);
  est = hlm_toml_table_value(root, 0);
  assert_string_equal(hlm_toml_table_key(root, 0, NULL), "estimation");
  assert_int_equal(hlm_toml_table_key_line(root, 0), 2);
  assert_int_equal(hlm_toml_table_key_column(root, 0), 2);
  assert_int_equal(hlm_toml_value_line(est), 2);
  assert_int_equal(hlm_toml_value_column(est), 1);
  assert_string_equal(hlm_toml_value_file(est), "t.toml");
  /* keys and values inside [estimation] */
  assert_int_equal(hlm_toml_table_count(est), 3);
  assert_string_equal(hlm_toml_table_key(est, 1, NULL), "formla");
  assert_int_equal(hlm_toml_table_key_line(est, 1), 4);
  assert_int_equal(hlm_toml_table_key_column(est, 1), 3);
  assert_int_equal(hlm_toml_value_line(hlm_toml_table_value(est, 1)), 4);
  assert_int_equal(hlm_toml_value_column(hlm_toml_table_value(est, 1)), 12);
  assert_int_equal(hlm_toml_value_column(hlm_toml_table_value(est, 0)), 15);
  /* the dotted key site."name" belongs to [estimation]: site is at 5:1 and
   * name at 5:6 */
  site = hlm_toml_table_value(est, 2);
  assert_int_equal(hlm_toml_value_type(site), HLM_TOML_TABLE);
  assert_int_equal(hlm_toml_table_key_column(est, 2), 1);
  assert_int_equal(hlm_toml_table_key_line(site, 0), 5);
  assert_int_equal(hlm_toml_table_key_column(site, 0), 6);
  assert_int_equal(hlm_toml_value_column(hlm_toml_table_value(site, 0)), 15);
  /* arrays of tables: each element at its own [[ */
  runs = hlm_toml_lookup(root, "runs");
  assert_int_equal(hlm_toml_array_count(runs), 2);
  assert_int_equal(hlm_toml_value_line(runs), 6);
  assert_int_equal(hlm_toml_value_line(hlm_toml_array_item(runs, 1)), 7);
  assert_int_equal(
      hlm_toml_value_column(hlm_toml_array_item(
          hlm_toml_table_get(hlm_toml_array_item(runs, 1), "seed"), 1)),
      14);
  hlm_toml_doc_destroy(&doc);
}

/* ---- lookup and iteration ---- */

static void test_lookup(void **state)
{
  hlm_toml_doc *doc = parse_ok("top = 1\n"
                               "[a.b]\n"
                               "c = 2\n"
                               "\"d.e\" = 3\n"
                               "'x y' = 4\n"
                               "\"\" = 5\n"
                               "[a]\n"
                               "list = [{k = 6}]\n");
  const hlm_toml_value *root = hlm_toml_root(doc);
  int64_t v = 0;
  (void)state;
  assert_int_equal(hlm_toml_get_integer(hlm_toml_lookup(root, "a.b.c"), &v),
                   HLM_OK);
  assert_int_equal(v, 2);
  assert_int_equal(
      hlm_toml_get_integer(hlm_toml_lookup(root, "a.b.\"d.e\""), &v), HLM_OK);
  assert_int_equal(v, 3);
  assert_int_equal(
      hlm_toml_get_integer(hlm_toml_lookup(root, " a . b . 'x y' "), &v),
      HLM_OK);
  assert_int_equal(v, 4);
  assert_int_equal(hlm_toml_get_integer(hlm_toml_lookup(root, "a.b.\"\""), &v),
                   HLM_OK);
  assert_int_equal(v, 5);
  assert_ptr_equal(hlm_toml_lookup(root, "a.b"),
                   hlm_toml_table_get(hlm_toml_table_get(root, "a"), "b"));
  assert_null(hlm_toml_lookup(root, "a.b.d"));    /* absent */
  assert_null(hlm_toml_lookup(root, "a.b.d.e"));  /* not quoted */
  assert_null(hlm_toml_lookup(root, "top.x"));    /* through an integer */
  assert_null(hlm_toml_lookup(root, "a.list.k")); /* arrays not searched */
  assert_null(hlm_toml_lookup(root, "a..b"));     /* malformed */
  assert_null(hlm_toml_lookup(root, ""));         /* malformed */
  assert_null(hlm_toml_lookup(root, "a.b.c x"));  /* trailing junk */
  assert_null(hlm_toml_lookup(root, "a.\"b"));    /* unterminated */
  assert_null(hlm_toml_lookup(NULL, "a"));
  assert_null(hlm_toml_lookup(root, NULL));
  assert_null(hlm_toml_table_get(root, "missing"));
  assert_null(hlm_toml_table_get(hlm_toml_lookup(root, "top"), "x"));
  hlm_toml_doc_destroy(&doc);
}

static void test_iteration_order(void **state)
{
  hlm_toml_doc *doc = parse_ok("z = 1\n"
                               "b.y = 2\n"
                               "a = [3, 'x', [4]]\n"
                               "[m.n]\n"
                               "[c]\n"
                               "[m]\n"
                               "k = 5\n");
  const hlm_toml_value *root = hlm_toml_root(doc), *arr, *m;
  const char *want[] = {"z", "b", "a", "m", "c"};
  (void)state;
  assert_int_equal(hlm_toml_table_count(root), 5);
  for (size_t i = 0; i < 5; i++) {
    size_t len = 99;
    assert_string_equal(hlm_toml_table_key(root, i, &len), want[i]);
    assert_int_equal(len, 1);
  }
  assert_null(hlm_toml_table_key(root, 5, NULL));
  assert_null(hlm_toml_table_value(root, 5));
  assert_int_equal(hlm_toml_table_key_line(root, 5), 0);
  m = hlm_toml_table_get(root, "m");
  assert_string_equal(hlm_toml_table_key(m, 0, NULL), "n");
  assert_string_equal(hlm_toml_table_key(m, 1, NULL), "k");
  arr = hlm_toml_table_get(root, "a");
  assert_int_equal(hlm_toml_array_count(arr), 3);
  assert_int_equal(hlm_toml_value_type(hlm_toml_array_item(arr, 0)),
                   HLM_TOML_INTEGER);
  assert_int_equal(hlm_toml_value_type(hlm_toml_array_item(arr, 1)),
                   HLM_TOML_STRING);
  assert_int_equal(hlm_toml_value_type(hlm_toml_array_item(arr, 2)),
                   HLM_TOML_ARRAY);
  assert_null(hlm_toml_array_item(arr, 3));
  assert_int_equal(hlm_toml_array_count(root), 0);
  assert_int_equal(hlm_toml_table_count(arr), 0);
  hlm_toml_doc_destroy(&doc);
}

static void test_large_table(void **state)
{
  /* enough keys to use the hash index; order and lookup must hold */
  size_t cap = 64 * 1000, used = 0;
  char *text = malloc(cap);
  hlm_toml_doc *doc = NULL;
  const hlm_toml_value *root;
  (void)state;
  assert_non_null(text);
  for (int i = 0; i < 2000; i++) {
    used +=
        (size_t)snprintf(text + used, cap - used, "k%d = %d\n", 1999 - i, i);
  }
  assert_int_equal(hlm_toml_parse_string(text, used, "big.toml", &doc), HLM_OK);
  root = hlm_toml_root(doc);
  assert_int_equal(hlm_toml_table_count(root), 2000);
  for (int i = 0; i < 2000; i++) {
    char key[16];
    int64_t v = -1;
    snprintf(key, sizeof key, "k%d", 1999 - i);
    assert_string_equal(hlm_toml_table_key(root, (size_t)i, NULL), key);
    assert_int_equal(hlm_toml_get_integer(hlm_toml_table_get(root, key), &v),
                     HLM_OK);
    assert_int_equal(v, i);
  }
  hlm_toml_doc_destroy(&doc);
  memcpy(text + used, "k5 = 1\n", 8);
  assert_int_equal(hlm_toml_parse_string(text, used + 7, "big.toml", &doc),
                   HLM_ERR_PARSE);
  assert_string_equal(hlm_error_message(), "big.toml:2001:1: duplicate key "
                                           "`k5` (first defined at 1995:1)");
  free(text);
}

/* ---- typed getters ---- */

static void test_getters(void **state)
{
  hlm_toml_doc *doc = parse_ok("s = \"a\\u0000b\"\n"
                               "i = 42\n"
                               "f = 2.5\n"
                               "b = true\n"
                               "d = 1979-05-27\n"
                               "big = 9007199254740993\n"
                               "t = {}\n");
  const hlm_toml_value *root = hlm_toml_root(doc);
  const char *s = NULL;
  size_t len = 0;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  hlm_toml_datetime dt;
  (void)state;
  assert_int_equal(hlm_toml_get_string(hlm_toml_lookup(root, "s"), &s, &len),
                   HLM_OK);
  assert_int_equal(len, 3);
  assert_memory_equal(s, "a\0b", 4);
  assert_int_equal(hlm_toml_get_integer(hlm_toml_lookup(root, "i"), &i),
                   HLM_OK);
  assert_int_equal(i, 42);
  assert_int_equal(hlm_toml_get_boolean(hlm_toml_lookup(root, "b"), &b),
                   HLM_OK);
  assert_true(b);
  assert_int_equal(hlm_toml_get_number(hlm_toml_lookup(root, "i"), &f), HLM_OK);
  assert_true(f == 42.0);
  assert_int_equal(hlm_toml_get_number(hlm_toml_lookup(root, "f"), &f), HLM_OK);
  assert_true(f == 2.5);

  /* mismatches name the position, the expected and the actual type */
  i = 7;
  assert_int_equal(hlm_toml_get_integer(hlm_toml_lookup(root, "s"), &i),
                   HLM_ERR_CONFIG);
  assert_int_equal(i, 7);
  assert_string_equal(hlm_error_message(),
                      "t.toml:1:5: expected an integer, found a string");
  assert_int_equal(hlm_toml_get_float(hlm_toml_lookup(root, "i"), &f),
                   HLM_ERR_CONFIG);
  assert_string_equal(hlm_error_message(),
                      "t.toml:2:5: expected a float, found an integer");
  assert_int_equal(hlm_toml_get_string(hlm_toml_lookup(root, "d"), &s, NULL),
                   HLM_ERR_CONFIG);
  assert_string_equal(hlm_error_message(),
                      "t.toml:5:5: expected a string, found a local date");
  assert_int_equal(hlm_toml_get_boolean(hlm_toml_lookup(root, "t"), &b),
                   HLM_ERR_CONFIG);
  assert_string_equal(hlm_error_message(),
                      "t.toml:7:5: expected a boolean, found a table");
  assert_int_equal(hlm_toml_get_datetime(hlm_toml_lookup(root, "f"), &dt),
                   HLM_ERR_CONFIG);
  assert_string_equal(hlm_error_message(),
                      "t.toml:3:5: expected a date or time, found a float");
  assert_int_equal(hlm_toml_get_number(hlm_toml_lookup(root, "b"), &f),
                   HLM_ERR_CONFIG);
  assert_string_equal(hlm_error_message(),
                      "t.toml:4:5: expected a number, found a boolean");
  assert_int_equal(hlm_toml_get_number(hlm_toml_lookup(root, "big"), &f),
                   HLM_ERR_CONFIG);
  assert_string_equal(hlm_error_message(),
                      "t.toml:6:7: integer 9007199254740993 is too large to "
                      "be used as a floating-point number exactly (limit "
                      "2^53)");
  assert_int_equal(hlm_toml_get_integer(NULL, &i), HLM_ERR_INVALID_ARG);
  assert_int_equal(hlm_toml_get_integer(root, NULL), HLM_ERR_INVALID_ARG);
  assert_int_equal(hlm_toml_value_type(NULL), 0);
  assert_string_equal(hlm_toml_type_name(HLM_TOML_OFFSET_DATETIME),
                      "offset date-time");
  hlm_toml_doc_destroy(&doc);
}

/* ---- numbers ---- */

static void test_integers(void **state)
{
  (void)state;
  assert_true(integer_of("a = 1_000") == 1000);
  assert_true(integer_of("a = +17") == 17);
  assert_true(integer_of("a = -0") == 0);
  assert_true(integer_of("a = 0xDEAD_beef") == 0xDEADBEEF);
  assert_true(integer_of("a = 0o755") == 0755);
  assert_true(integer_of("a = 0b1101") == 13);
  assert_true(integer_of("a = 0x00ff") == 255);
  assert_true(integer_of("a = 9223372036854775807") == INT64_MAX);
  assert_true(integer_of("a = -9223372036854775808") == INT64_MIN);
  assert_true(integer_of("a = 0x7FFFFFFFFFFFFFFF") == INT64_MAX);
  assert_true(integer_of("a = 0o777777777777777777777") == INT64_MAX);
  parse_fails("a = 9223372036854775808",
              "t.toml:1:5: integer `9223372036854775808` does not fit in 64 "
              "bits (range -9223372036854775808 to 9223372036854775807)");
  parse_fails_at("a = -9223372036854775809", "t.toml:1:5: integer "
                                             "`-9223372036854775809` does not "
                                             "fit in 64 bits");
  parse_fails_at("a = 99999999999999999999999", "t.toml:1:5: integer");
  parse_fails_at("a = 0x8000000000000000", "t.toml:1:5: integer "
                                           "`0x8000000000000000` is too large");
  {
    /* binary 1 followed by 62 zeros fits; followed by 63 zeros does not */
    char bin[80] = "a = 0b1_";
    memset(bin + 8, '0', 62);
    bin[70] = '\0';
    assert_true(integer_of(bin) == (int64_t)1 << 62);
    strcat(bin, "0");
    /* long tokens are shown cut to 64 characters */
    parse_fails(bin, "t.toml:1:5: integer `0b1_000000000000000000000000000000"
                     "000000000000000000000000000000...` is too large for a "
                     "64-bit integer (largest 0x7FFFFFFFFFFFFFFF)");
  }
  parse_fails("a = 012", "t.toml:1:5: leading zeros are not allowed in the "
                         "integer `012`");
  parse_fails("a = 1__2", "t.toml:1:5: misplaced underscore in `1__2`: each "
                          "underscore must be between two digits");
  parse_fails("a = -0x1", "t.toml:1:5: a sign is not allowed on hexadecimal, "
                          "octal or binary integers: `-0x1`");
}

static void test_floats(void **state)
{
  double v;
  (void)state;
  assert_true(float_of("a = 6.626e-34") == 6.626e-34);
  assert_true(float_of("a = 1e1_0") == 1e10);
  assert_true(float_of("a = 224_617.445_991_228") == 224617.445991228);
  assert_true(float_of("a = -2E-2") == -0.02);
  assert_true(float_of("a = 5e+22") == 5e22);
  assert_true(float_of("a = 0.1") == 0.1);
  assert_true(float_of("a = 3.141592653589793238462643383279") ==
              3.141592653589793);
  assert_true(float_of("a = 1e-400") == 0.0); /* underflow gives zero */
  assert_true(float_of("a = 0e99999999999999999999999") == 0.0);
  assert_true(float_of("a = 4.9406564584124654e-324") ==
              4.9406564584124654e-324);
  v = float_of("a = -0.0");
  assert_true(v == 0.0 && signbit(v));
  v = float_of("a = +0.0");
  assert_true(v == 0.0 && !signbit(v));
  assert_true(isinf(float_of("a = inf")) && float_of("a = inf") > 0);
  assert_true(isinf(float_of("a = -inf")) && float_of("a = -inf") < 0);
  assert_true(isnan(float_of("a = nan")));
  assert_true(isnan(float_of("a = -nan")));
  parse_fails("a = 1e400", "t.toml:1:5: float `1e400` is too large for a "
                           "double (largest about 1.8e308)");
  parse_fails("a = 1.", "t.toml:1:5: invalid float `1.`: the decimal point "
                        "must be followed by digits");
  parse_fails("a = .5", "t.toml:1:5: expected a value (string, number, "
                        "boolean, date, array or inline table), found `.`");
  parse_fails("a = 01.5", "t.toml:1:5: leading zeros are not allowed in the "
                          "float `01.5`");
  parse_fails("a = 1_.5", "t.toml:1:5: misplaced underscore in `1_.5`: each "
                          "underscore must be between two digits");
  parse_fails("a = 1e_5", "t.toml:1:5: misplaced underscore in `1e_5`: each "
                          "underscore must be between two digits");
  parse_fails_at("a = Inf", "t.toml:1:5: invalid value `Inf`");
}

static void test_float_locale(void **state)
{
  /* The decimal point of the C library's locale must not matter. */
  const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                         "fr_FR.utf8", "C.UTF-8"};
  (void)state;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (setlocale(LC_NUMERIC, names[i]) != NULL) {
      assert_true(float_of("a = 1.5") == 1.5);
      assert_true(float_of("a = 2.5e-3") == 2.5e-3);
    }
  }
  setlocale(LC_NUMERIC, "C");
}

/* ---- strings ---- */

static void test_strings(void **state)
{
  hlm_toml_doc *doc =
      parse_ok("a = \"\\t\\\"q\\\\\\u00e9\\U0001F600\"\n"
               "b = 'C:\\path'\n"
               "c = \"\"\"\nline1\r\nline2\\\n   \n  end\"\"\"\n"
               "d = '''\n''quoted'''''\n"
               "e = \"\"\"\"\"x\"\"\"\"\"\n");
  const hlm_toml_value *root = hlm_toml_root(doc);
  const char *s;
  size_t n;
  (void)state;
  hlm_toml_get_string(hlm_toml_lookup(root, "a"), &s, &n);
  assert_string_equal(s, "\t\"q\\\xC3\xA9\xF0\x9F\x98\x80");
  hlm_toml_get_string(hlm_toml_lookup(root, "b"), &s, &n);
  assert_string_equal(s, "C:\\path");
  hlm_toml_get_string(hlm_toml_lookup(root, "c"), &s, &n);
  assert_string_equal(s, "line1\nline2end");
  hlm_toml_get_string(hlm_toml_lookup(root, "d"), &s, &n);
  assert_string_equal(s, "''quoted''");
  hlm_toml_get_string(hlm_toml_lookup(root, "e"), &s, &n);
  assert_string_equal(s, "\"\"x\"\"");
  hlm_toml_doc_destroy(&doc);
  parse_fails("a = \"\"\"x\"\"\"\"\"\"\n",
              "t.toml:1:14: too many `\"` characters: at most two may come "
              "before the closing `\"\"\"`");
  parse_fails("a = \"\\U00110000\"\n",
              "t.toml:1:6: escape `\\U00110000` is not a Unicode scalar value "
              "(surrogates and values above 10FFFF are not allowed)");
  parse_fails("a = \"\"\"\nabc \\ x\n\"\"\"\n",
              "t.toml:2:5: invalid escape: a backslash followed by whitespace "
              "must be the last thing on its line, found `x` after it");
  parse_fails("a = \"open\nb = 1\n",
              "t.toml:1:5: unterminated string: a string opened with `\"` "
              "must end on the same line (use `\"\"\"` for multi-line "
              "strings)");
  parse_fails("a = '''abc\n", "t.toml:1:5: unterminated multi-line string "
                              "(missing closing `'''`)");
  parse_fails("\"\"\"k\"\"\" = 1\n",
              "t.toml:1:1: a multi-line string cannot be used as a key");
  /* overlong encoding and encoded surrogate are not UTF-8 */
  parse_fails_at("a = \"\xC0\xAF\"\n", "t.toml:1:6: invalid UTF-8 (byte 0xC0)");
  parse_fails_at("a = \"\xED\xA0\x80\"\n",
                 "t.toml:1:6: invalid UTF-8 (byte 0xED)");
  parse_fails_at("a = \"\xF4\x90\x80\x80\"\n",
                 "t.toml:1:6: invalid UTF-8 (byte 0xF4)");
}

/* ---- dates and times ---- */

static void test_datetimes(void **state)
{
  hlm_toml_doc *doc = parse_ok("odt = 1979-05-27T07:32:00.999999999123-07:30\n"
                               "ldt = 1979-05-27 07:32:00\n"
                               "ld = 2024-02-29\n"
                               "lt = 23:59:60.5\n"
                               "z = 2000-01-01t00:00:00z\n");
  const hlm_toml_value *root = hlm_toml_root(doc);
  hlm_toml_datetime dt;
  (void)state;
  assert_int_equal(hlm_toml_value_type(hlm_toml_lookup(root, "odt")),
                   HLM_TOML_OFFSET_DATETIME);
  hlm_toml_get_datetime(hlm_toml_lookup(root, "odt"), &dt);
  assert_int_equal(dt.year, 1979);
  assert_int_equal(dt.month, 5);
  assert_int_equal(dt.day, 27);
  assert_int_equal(dt.hour, 7);
  assert_int_equal(dt.minute, 32);
  assert_int_equal(dt.second, 0);
  assert_int_equal(dt.nanosecond, 999999999); /* extra digits truncated */
  assert_int_equal(dt.frac_digits, 9);
  assert_int_equal(dt.offset_minutes, -450);
  assert_true(dt.has_date && dt.has_time && dt.has_offset);
  assert_int_equal(hlm_toml_value_type(hlm_toml_lookup(root, "ldt")),
                   HLM_TOML_LOCAL_DATETIME);
  hlm_toml_get_datetime(hlm_toml_lookup(root, "ldt"), &dt);
  assert_true(dt.has_date && dt.has_time && !dt.has_offset);
  assert_int_equal(dt.nanosecond, 0);
  assert_int_equal(hlm_toml_value_type(hlm_toml_lookup(root, "ld")),
                   HLM_TOML_LOCAL_DATE);
  hlm_toml_get_datetime(hlm_toml_lookup(root, "ld"), &dt);
  assert_true(dt.has_date && !dt.has_time && !dt.has_offset);
  assert_int_equal(dt.day, 29);
  assert_int_equal(hlm_toml_value_type(hlm_toml_lookup(root, "lt")),
                   HLM_TOML_LOCAL_TIME);
  hlm_toml_get_datetime(hlm_toml_lookup(root, "lt"), &dt);
  assert_true(!dt.has_date && dt.has_time && !dt.has_offset);
  assert_int_equal(dt.second, 60);
  assert_int_equal(dt.nanosecond, 500000000);
  assert_int_equal(dt.frac_digits, 1);
  hlm_toml_get_datetime(hlm_toml_lookup(root, "z"), &dt);
  assert_true(dt.has_offset && dt.offset_minutes == 0);
  hlm_toml_doc_destroy(&doc);
  parse_fails_at("a = 1900-02-29", "t.toml:1:5: invalid date or date-time "
                                   "`1900-02-29`");
  assert_non_null((doc = parse_ok("a = 2000-02-29")));
  hlm_toml_doc_destroy(&doc);
  parse_fails_at("a = 2021-04-31", "t.toml:1:5: invalid date");
  parse_fails_at("a = 12:00", "t.toml:1:5: invalid time `12:00`: a time "
                              "must be written HH:MM:SS (TOML 1.0 requires "
                              "seconds)");
  parse_fails_at("a = 12:00:00Z", "t.toml:1:5: invalid time");
  parse_fails_at("a = 2021-01-01T12:00:00+24:00", "t.toml:1:5: invalid date");
  parse_fails_at("a = 2021-01-01 12:00:00 x", "t.toml:1:25: expected the end");
}

/* ---- structure and limits ---- */

static void test_depth_limit(void **state)
{
  char text[1024];
  hlm_toml_doc *doc = NULL;
  size_t n;
  (void)state;
  /* HLM_TOML_MAX_DEPTH nested arrays are fine, one more is not */
  n = (size_t)snprintf(text, sizeof text, "a = ");
  for (int i = 0; i < HLM_TOML_MAX_DEPTH; i++) {
    text[n++] = '[';
  }
  for (int i = 0; i < HLM_TOML_MAX_DEPTH; i++) {
    text[n++] = ']';
  }
  text[n] = '\0';
  doc = parse_ok(text);
  hlm_toml_doc_destroy(&doc);
  n = (size_t)snprintf(text, sizeof text, "a = ");
  for (int i = 0; i <= HLM_TOML_MAX_DEPTH; i++) {
    text[n++] = i % 2 ? '[' : '{';
    if (i % 2 == 0) {
      text[n++] = 'b';
      text[n++] = '=';
    }
  }
  text[n] = '\0';
  parse_fails_at(text, "t.toml:1:");
  assert_non_null(strstr(hlm_error_message(), "nested more than 128 levels"));
  /* dotted keys and headers count too */
  n = 0;
  text[n++] = '[';
  for (int i = 0; i < 200; i++) {
    text[n++] = 'k';
    text[n++] = '.';
  }
  memcpy(text + n, "k]\n", 4);
  parse_fails_at(text, "t.toml:1:");
}

static void test_tables_and_arrays(void **state)
{
  hlm_toml_doc *doc = parse_ok("[a.b.c]\n"
                               "x = 1\n"
                               "[a]\n"
                               "y = 2\n"
                               "[[fruit]]\n"
                               "name = 'apple'\n"
                               "[fruit.physical]\n"
                               "color = 'red'\n"
                               "[[fruit.variety]]\n"
                               "name = 'red delicious'\n"
                               "[[fruit]]\n"
                               "name = 'banana'\n"
                               "[other]\n"
                               "apple.color = 'red'\n"
                               "[other.apple.texture]\n"
                               "smooth = true\n");
  const hlm_toml_value *root = hlm_toml_root(doc);
  bool b = false;
  (void)state;
  assert_int_equal(hlm_toml_array_count(hlm_toml_lookup(root, "fruit")), 2);
  assert_non_null(
      hlm_toml_lookup(hlm_toml_array_item(hlm_toml_lookup(root, "fruit"), 0),
                      "physical.color"));
  assert_int_equal(hlm_toml_get_boolean(
                       hlm_toml_lookup(root, "other.apple.texture.smooth"), &b),
                   HLM_OK);
  assert_true(b);
  hlm_toml_doc_destroy(&doc);
  parse_fails_at("a = []\n[[a]]\n", "t.toml:2:3: cannot define array of "
                                    "tables [[a]]: it is already an array");
  parse_fails_at("[[a]]\n[a]\n", "t.toml:2:2: cannot define table [a]: it is "
                                 "an array of tables");
  parse_fails_at("[a.b.c]\n[a]\nb.c.d = 1\n",
                 "t.toml:3:1: cannot add keys to `b` with a dotted key");
  parse_fails_at("a = {b = {c = 1}}\n[a.b.d]\n",
                 "t.toml:2:2: cannot define a table inside `a`: it is an "
                 "inline table");
}

static void test_files(void **state)
{
  hlm_toml_doc *doc = NULL;
  char path[] = "/tmp/test_toml_XXXXXX";
  int fd;
  FILE *f;
  (void)state;
  assert_int_equal(hlm_toml_parse_file("/nonexistent/dir/x.toml", &doc),
                   HLM_ERR_IO);
  assert_null(doc);
  assert_non_null(strstr(hlm_error_message(), "/nonexistent/dir/x.toml"));
  fd = mkstemp(path);
  assert_true(fd >= 0);
  f = fdopen(fd, "w");
  assert_non_null(f);
  fputs("[estimation]\nformla = 'y ~ x'\n", f);
  fclose(f);
  assert_int_equal(hlm_toml_parse_file(path, &doc), HLM_OK);
  assert_string_equal(hlm_toml_doc_name(doc), path);
  assert_string_equal(
      hlm_toml_value_file(hlm_toml_lookup(hlm_toml_root(doc), "estimation")),
      path);
  hlm_toml_doc_destroy(&doc);
  assert_null(doc);
  hlm_toml_doc_destroy(&doc); /* NULL-safe */
  hlm_toml_doc_destroy(NULL);
  remove(path);
  assert_int_equal(hlm_toml_parse_file(NULL, &doc), HLM_ERR_INVALID_ARG);
  assert_int_equal(hlm_toml_parse_string("a=1", 3, "x", NULL),
                   HLM_ERR_INVALID_ARG);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_positions),
      cmocka_unit_test(test_embedded_nul_and_bom),
      cmocka_unit_test(test_key_and_value_positions),
      cmocka_unit_test(test_lookup),
      cmocka_unit_test(test_iteration_order),
      cmocka_unit_test(test_large_table),
      cmocka_unit_test(test_getters),
      cmocka_unit_test(test_integers),
      cmocka_unit_test(test_floats),
      cmocka_unit_test(test_float_locale),
      cmocka_unit_test(test_strings),
      cmocka_unit_test(test_datetimes),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_tables_and_arrays),
      cmocka_unit_test(test_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
