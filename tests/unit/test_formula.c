/* test_formula.c: unit tests of the lme4 formula parser (hlm/formula.h).
 *
 * Build: cc -std=c11 -Iinclude src/error.c src/formula*.c
 *        tests/unit/test_formula.c -lcmocka */
/* cmocka needs these first, in this order */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "hlm/formula.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Helpers --------------------------------------------------------------
 */

static hlm_formula *parse_ok(const char *text)
{
  hlm_formula *f = NULL;
  hlm_status status = hlm_formula_parse(text, &f);
  if (status != HLM_OK) {
    print_error("parsing \"%s\" failed:\n%s\n", text, hlm_error_message());
    fail();
  }
  assert_non_null(f);
  return f;
}

static char *format_alloc(const hlm_formula *f)
{
  size_t n = hlm_formula_format(f, NULL, 0);
  char *s = malloc(n + 1);
  assert_non_null(s);
  assert_int_equal(hlm_formula_format(f, s, n + 1), n);
  return s;
}

/* text parses and prints back as canonical. */
static void check_format(const char *text, const char *canonical)
{
  hlm_formula *f = parse_ok(text);
  char *s = format_alloc(f);
  if (strcmp(s, canonical) != 0) {
    print_error("\"%s\"\n  formatted as \"%s\"\n  expected     \"%s\"\n", text,
                s, canonical);
    free(s);
    hlm_formula_destroy(&f);
    fail();
  }
  free(s);
  hlm_formula_destroy(&f);
}

static char *term_label(const hlm_formula_term *t)
{
  size_t n = hlm_formula_term_format(t, NULL, 0);
  char *s = malloc(n + 1);
  assert_non_null(s);
  hlm_formula_term_format(t, s, n + 1);
  return s;
}

static void check_label(const hlm_formula_term *t, const char *label)
{
  char *s = term_label(t);
  assert_string_equal(s, label);
  free(s);
}

/* Parsing text fails at line:col with a message containing what; for a
 * short single-line ASCII text also check the excerpt and the caret. */
static void check_error(const char *text, int line, int col, const char *what)
{
  hlm_formula *f = NULL;
  hlm_status status = hlm_formula_parse(text, &f);
  const char *msg = hlm_error_message();
  char prefix[64];
  snprintf(prefix, sizeof prefix, "formula:%d:%d: ", line, col);
  if (status != HLM_ERR_PARSE || strncmp(msg, prefix, strlen(prefix)) != 0 ||
      strstr(msg, what) == NULL) {
    print_error("\"%s\": status %d, message:\n%s\nexpected %s... %s\n", text,
                (int)status, msg, prefix, what);
    hlm_formula_destroy(&f);
    fail();
  }
  assert_null(f);
  bool simple = strlen(text) <= 100 && strpbrk(text, "\n\t\r") == NULL;
  for (const char *p = text; *p && simple; p++) {
    simple = (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f;
  }
  if (simple) {
    char expect[512];
    snprintf(expect, sizeof expect, "\n  %s\n  %*s^", text, col - 1, "");
    const char *nl = strchr(msg, '\n');
    assert_non_null(nl);
    assert_string_equal(nl, expect);
  }
}

/* ---- The reference models (../shared/reference/ * /lme4.json) ------------ */

static void test_reference_formulas(void **state)
{
  (void)state;
  check_format("angle ~ recipe * temp + (1 | recipe:replicate)",
               "angle ~ recipe + temp + recipe:temp + (1 | recipe:replicate)");
  check_format("Yield ~ 1 + (1 | Batch)", "Yield ~ 1 + (1 | Batch)");
  check_format("yield ~ nitro * Variety + (1 | Block/Variety)",
               "yield ~ nitro + Variety + nitro:Variety + (1 | Variety:Block) "
               "+ (1 | Block)");
  check_format("strength ~ 1 + (1 | batch/cask)",
               "strength ~ 1 + (1 | cask:batch) + (1 | batch)");
  check_format("diameter ~ 1 + (1 | plate) + (1 | sample)",
               "diameter ~ 1 + (1 | plate) + (1 | sample)");
  check_format("logwage ~ exper + (1 | sector/firm)",
               "logwage ~ exper + (1 | firm:sector) + (1 | sector)");
  check_format("weight ~ genotype + (1 | tray)",
               "weight ~ genotype + (1 | tray)");
  check_format("Reaction ~ Days + (Days | Subject)",
               "Reaction ~ Days + (1 + Days | Subject)");
  check_format("Reaction ~ Days + (Days || Subject)",
               "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)");
}

static void test_oats_structure(void **state)
{
  (void)state;
  hlm_formula *f = parse_ok("yield ~ nitro * Variety + (1 | Block/Variety)");
  assert_string_equal(hlm_formula_response(f), "yield");
  assert_true(hlm_formula_has_intercept(f));
  assert_int_equal(hlm_formula_fixed_count(f), 3);
  check_label(hlm_formula_fixed_term(f, 0), "nitro");
  check_label(hlm_formula_fixed_term(f, 1), "Variety");
  const hlm_formula_term *t = hlm_formula_fixed_term(f, 2);
  assert_int_equal(t->nvars, 2);
  assert_string_equal(t->name[0], "nitro");
  assert_string_equal(t->name[1], "Variety");
  assert_string_equal(hlm_formula_variable(f, t->var[1])->name, "Variety");
  assert_null(hlm_formula_fixed_term(f, 3));
  assert_null(hlm_formula_fixed_term(f, -1));

  /* lme4: (1 | Block/Variety) is (1 | Variety:Block) + (1 | Block) */
  assert_int_equal(hlm_formula_random_count(f), 2);
  const hlm_formula_random *r = hlm_formula_random_term(f, 0);
  assert_true(r->intercept);
  assert_int_equal(r->nterms, 0);
  assert_true(r->correlated);
  assert_int_equal(r->group.nvars, 2);
  assert_string_equal(r->group.name[0], "Variety");
  assert_string_equal(r->group.name[1], "Block");
  assert_int_equal(r->offset, 26);
  assert_int_equal(r->line, 1);
  assert_int_equal(r->column, 27);
  r = hlm_formula_random_term(f, 1);
  assert_int_equal(r->group.nvars, 1);
  assert_string_equal(r->group.name[0], "Block");
  assert_int_equal(r->column, 27);
  assert_null(hlm_formula_random_term(f, 2));

  /* the columns to read, with their roles */
  assert_int_equal(hlm_formula_var_count(f), 4);
  const hlm_formula_var *v = hlm_formula_variable(f, 0);
  assert_string_equal(v->name, "yield");
  assert_int_equal(v->roles, HLM_FORMULA_ROLE_RESPONSE);
  v = hlm_formula_variable(f, 1);
  assert_string_equal(v->name, "nitro");
  assert_int_equal(v->roles, HLM_FORMULA_ROLE_FIXED);
  assert_int_equal(v->column, 9);
  v = hlm_formula_variable(f, 2);
  assert_string_equal(v->name, "Variety");
  assert_int_equal(v->roles,
                   HLM_FORMULA_ROLE_FIXED | HLM_FORMULA_ROLE_GROUPING);
  v = hlm_formula_variable(f, 3);
  assert_string_equal(v->name, "Block");
  assert_int_equal(v->roles, HLM_FORMULA_ROLE_GROUPING);
  assert_null(hlm_formula_variable(f, 4));
  assert_int_equal(hlm_formula_var_find(f, "Block"), 3);
  assert_int_equal(hlm_formula_var_find(f, "block"), -1);
  hlm_formula_destroy(&f);
  assert_null(f);
}

static void test_sleepstudy_structure(void **state)
{
  (void)state;
  hlm_formula *f = parse_ok("Reaction ~ Days + (Days | Subject)");
  assert_int_equal(hlm_formula_random_count(f), 1);
  const hlm_formula_random *r = hlm_formula_random_term(f, 0);
  assert_true(r->intercept); /* implicit, as in lme4 */
  assert_int_equal(r->nterms, 1);
  check_label(&r->term[0], "Days");
  check_label(&r->group, "Subject");
  assert_true(r->correlated);
  const hlm_formula_var *v = hlm_formula_variable(f, 1);
  assert_int_equal(v->roles, HLM_FORMULA_ROLE_FIXED | HLM_FORMULA_ROLE_RANDOM);
  hlm_formula_destroy(&f);

  f = parse_ok("Reaction ~ Days + (Days || Subject)");
  assert_int_equal(hlm_formula_random_count(f), 2);
  r = hlm_formula_random_term(f, 0);
  assert_true(r->intercept);
  assert_int_equal(r->nterms, 0);
  assert_false(r->correlated);
  r = hlm_formula_random_term(f, 1);
  assert_false(r->intercept);
  assert_int_equal(r->nterms, 1);
  check_label(&r->term[0], "Days");
  assert_false(r->correlated);
  assert_int_equal(r->column, 19);
  hlm_formula_destroy(&f);
}

static void test_crossed_and_nested(void **state)
{
  (void)state;
  hlm_formula *f = parse_ok("diameter ~ 1 + (1 | plate) + (1 | sample)");
  assert_int_equal(hlm_formula_fixed_count(f), 0);
  assert_true(hlm_formula_has_intercept(f));
  assert_int_equal(hlm_formula_random_count(f), 2);
  check_label(&hlm_formula_random_term(f, 0)->group, "plate");
  check_label(&hlm_formula_random_term(f, 1)->group, "sample");
  assert_int_equal(hlm_formula_random_term(f, 0)->column, 16);
  assert_int_equal(hlm_formula_random_term(f, 1)->column, 30);
  hlm_formula_destroy(&f);

  f = parse_ok("y ~ (1 | a/b/c)");
  assert_int_equal(hlm_formula_random_count(f), 3);
  check_label(&hlm_formula_random_term(f, 0)->group, "c:b:a");
  check_label(&hlm_formula_random_term(f, 1)->group, "b:a");
  check_label(&hlm_formula_random_term(f, 2)->group, "a");
  hlm_formula_destroy(&f);

  check_format("y ~ (1 | a:b)", "y ~ 1 + (1 | a:b)");
  check_format("y ~ (1 | b:a)", "y ~ 1 + (1 | b:a)");
  check_format("y ~ (1 | a:a:b)", "y ~ 1 + (1 | a:b)");
  check_format("y ~ (1 | a/b:c)", "y ~ 1 + (1 | b:c:a) + (1 | a)");
  check_format("y ~ (1 | a/a)", "y ~ 1 + (1 | a) + (1 | a)");
  check_format("y ~ (1|plate) + (1|sample)",
               "y ~ 1 + (1 | plate) + (1 | sample)");
}

/* ---- Fixed part ------------------------------------------------------------
 */

static void test_fixed_terms(void **state)
{
  (void)state;
  check_format("y ~ x1 + x2 + f + x1:f + a*b - 1",
               "y ~ 0 + x1 + x2 + f + a + b + x1:f + a:b");
  check_format("y ~ x", "y ~ x");
  check_format("y ~ x + x", "y ~ x");
  check_format("y ~ a:b + c + a", "y ~ c + a + a:b");
  check_format("y ~ a:b:c + a:b + a", "y ~ a + a:b + a:b:c");
  check_format("y ~ (a + b):c", "y ~ a:c + b:c");
  check_format("y ~ a:(b + c)", "y ~ a:b + a:c");
  check_format("y ~ a*b", "y ~ a + b + a:b");
  check_format("y ~ a*b*c", "y ~ a + b + c + a:b + a:c + b:c + a:b:c");
  check_format("y ~ (a + b + c)^2", "y ~ a + b + c + a:b + a:c + b:c");
  check_format("y ~ (a + b)^3", "y ~ a + b + a:b");
  check_format("y ~ (a + b)**2", "y ~ a + b + a:b");
  check_format("y ~ a^2", "y ~ a");
  check_format("y ~ (a + b)^100000", "y ~ a + b + a:b");
  check_format("y ~ a/b", "y ~ a + a:b");
  check_format("y ~ (a + b)/c", "y ~ a + b + a:b:c");
  check_format("y ~ a/(b + c)", "y ~ a + a:b + a:c");
  check_format("y ~ a %in% b", "y ~ a:b");
  check_format("y ~ (a + b) %in% c", "y ~ a:c + b:c");
  check_format("y ~ ((a))", "y ~ a");
}

static void test_interaction_order(void **state)
{
  (void)state;
  /* variables of an interaction in order of first appearance, like R */
  check_format("y ~ x1 + f + f:x1", "y ~ x1 + f + x1:f");
  check_format("y ~ x1 + f + x1:f + f:x1", "y ~ x1 + f + x1:f");
  check_format("y ~ b + a + a:b", "y ~ b + a + b:a");
  check_format("y ~ a:a", "y ~ a");
  check_format("y ~ a:b:a", "y ~ a:b");
  check_format("y ~ f:x + x", "y ~ x + f:x");
  /* R's ExtractVars skips removed operands: b is ordered after a */
  check_format("y ~ -b + a + b:a", "y ~ a + a:b");
}

static void test_intercept(void **state)
{
  (void)state;
  check_format("y ~ 1", "y ~ 1");
  check_format("y ~ 0", "y ~ 0");
  check_format("y ~ -1", "y ~ 0");
  check_format("y ~ 0 + f", "y ~ 0 + f");
  check_format("y ~ f + 0", "y ~ 0 + f");
  check_format("y ~ -1 + f", "y ~ 0 + f");
  check_format("y ~ f - 1", "y ~ 0 + f");
  check_format("y ~ 1 + f", "y ~ f");
  check_format("y ~ 0 + f + 1", "y ~ f");
  check_format("y ~ f - 0", "y ~ f");
  check_format("y ~ 1 - 1", "y ~ 0");
  check_format("y ~ f - (1 + g)", "y ~ 0 + f");
  check_format("y ~ f + 1.0", "y ~ f");
  check_format("y ~ f - 1L", "y ~ 0 + f");
  hlm_formula *f = parse_ok("y ~ x - 1");
  assert_false(hlm_formula_has_intercept(f));
  assert_int_equal(hlm_formula_fixed_count(f), 1);
  hlm_formula_destroy(&f);
}

static void test_removal(void **state)
{
  (void)state;
  check_format("y ~ a*b - a", "y ~ b + a:b");
  check_format("y ~ a*b - a:b", "y ~ a + b");
  check_format("y ~ a*b - b:a", "y ~ a + b");
  check_format("y ~ a + b + c - (a + b)", "y ~ c");
  check_format("y ~ a - a", "y ~ 1");
  check_format("y ~ a - b", "y ~ a");
  check_format("y ~ (a + b + c)^2 - a:b", "y ~ a + b + c + a:c + b:c");
  /* z only appears in a removed term: it is not a column to read */
  hlm_formula *f = parse_ok("y ~ x - z");
  assert_int_equal(hlm_formula_var_count(f), 2);
  assert_int_equal(hlm_formula_var_find(f, "z"), -1);
  hlm_formula_destroy(&f);
}

/* ---- Random part ------------------------------------------------------------
 */

static void check_random(const char *text, int index, bool intercept,
                         const char *terms, const char *group, bool correlated)
{
  hlm_formula *f = parse_ok(text);
  const hlm_formula_random *r = hlm_formula_random_term(f, index);
  assert_non_null(r);
  assert_int_equal(r->intercept, intercept);
  assert_int_equal(r->correlated, correlated);
  char joined[256] = "";
  for (int i = 0; i < r->nterms; i++) {
    char *s = term_label(&r->term[i]);
    strcat(joined, i ? " " : "");
    strcat(joined, s);
    free(s);
  }
  assert_string_equal(joined, terms);
  check_label(&r->group, group);
  hlm_formula_destroy(&f);
}

static void test_random_terms(void **state)
{
  (void)state;
  check_random("y ~ (1 | g)", 0, true, "", "g", true);
  check_random("y ~ (1 + x | g)", 0, true, "x", "g", true);
  check_random("y ~ (x | g)", 0, true, "x", "g", true);
  check_random("y ~ (0 + x | g)", 0, false, "x", "g", true);
  check_random("y ~ (-1 + x | g)", 0, false, "x", "g", true);
  check_random("y ~ (x - 1 | g)", 0, false, "x", "g", true);
  check_random("y ~ (x + 0 | g)", 0, false, "x", "g", true);
  check_random("y ~ (x*f | g)", 0, true, "x f x:f", "g", true);
  check_random("y ~ (1 + f:x + x | g)", 0, true, "x f:x", "g", true);
  check_random("y ~ (1 + x || g)", 0, true, "", "g", false);
  check_random("y ~ (1 + x || g)", 1, false, "x", "g", false);
  check_random("y ~ (0 + x || g)", 0, false, "x", "g", false);
  check_random("y ~ (1 | a:b)", 0, true, "", "a:b", true);
  check_format("y ~ (0 + x + z || g)", "y ~ 1 + (0 + x | g) + (0 + z | g)");
  check_format("y ~ (x + z || g)",
               "y ~ 1 + (1 | g) + (0 + x | g) + (0 + z | g)");
  /* || first, then / (lme4's expandDoubleVerts, then expandSlash) */
  check_format("y ~ (1 + x || a/b)",
               "y ~ 1 + (1 | b:a) + (1 | a) + (0 + x | b:a) + (0 + x | a)");
  check_format("y ~ x + (1 + x | a/b)", "y ~ x + (1 + x | b:a) + (1 + x | a)");
  check_format("y ~ (1|g) + x + (x|h) - 1",
               "y ~ 0 + x + (1 | g) + (1 + x | h)");
  check_format("y ~ (1|g) + (1|g)", "y ~ 1 + (1 | g) + (1 | g)");
  /* each random term is its own terms() call: order and intercept are
   * local to it */
  check_format("y ~ b:a + (a:b + b | g)", "y ~ b:a + (1 + b + a:b | g)");
  check_format("y ~ 0 + x + (x | g)", "y ~ 0 + x + (1 + x | g)");
}

static void test_positions(void **state)
{
  (void)state;
  hlm_formula *f = parse_ok("y ~ x +\n    (1 | g) +\n\t(0 + x | h)");
  const hlm_formula_random *r = hlm_formula_random_term(f, 0);
  assert_int_equal(r->line, 2);
  assert_int_equal(r->column, 5);
  assert_int_equal(r->offset, 12);
  r = hlm_formula_random_term(f, 1);
  assert_int_equal(r->line, 3);
  assert_int_equal(r->column, 2);
  const hlm_formula_var *v =
      hlm_formula_variable(f, hlm_formula_var_find(f, "h"));
  assert_int_equal(v->line, 3);
  assert_int_equal(v->column, 11);
  hlm_formula_destroy(&f);

  /* columns count characters, not bytes */
  f = parse_ok("y ~ größe + (1 | g)");
  assert_int_equal(hlm_formula_random_term(f, 0)->column, 13);
  hlm_formula_destroy(&f);
}

/* ---- Names and whitespace ---------------------------------------------------
 */

static void test_names(void **state)
{
  (void)state;
  check_format("y ~ `my var` + (1 | `my group`)",
               "y ~ `my var` + (1 | `my group`)");
  check_format("`log y` ~ x", "`log y` ~ x");
  check_format("y ~ `x` + x", "y ~ x");
  check_format("y ~ .x + x.1 + a_b + x_ + X9", "y ~ .x + x.1 + a_b + x_ + X9");
  check_format("y ~ `1x` + `a:b` + `.`", "y ~ `1x` + `a:b` + `.`");
  check_format("y ~ größe", "y ~ größe");
  check_format("y~x+(1|g)", "y ~ x + (1 | g)");
  check_format(" \t y\n~\r\n x *\tf +( 1+x |\n g ) ",
               "y ~ x + f + x:f + (1 + x | g)");
  hlm_formula *f = parse_ok("y ~ `my var`:z");
  const hlm_formula_term *t = hlm_formula_fixed_term(f, 0);
  assert_string_equal(t->name[0], "my var");
  check_label(t, "`my var`:z");
  assert_int_equal(hlm_formula_var_find(f, "my var"), 1);
  hlm_formula_destroy(&f);
}

/* ---- Formatting
 * --------------------------------------------------------------- */

static void test_format_roundtrip(void **state)
{
  (void)state;
  static const char *const texts[] = {
      "yield ~ nitro * Variety + (1 | Block/Variety)",
      "Reaction ~ Days + (Days || Subject)",
      "y ~ (a + b + c)^3 - a:b:c + (x*f | g/h) + (0 + x || k)",
      "`a b` ~ 0 + `c d`:e + (1 | `f g`:h)",
      "y ~ -1",
      "y ~ 1 + (0 + x | g)",
  };
  for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
    hlm_formula *f = parse_ok(texts[k]);
    char *once = format_alloc(f);
    hlm_formula *g = parse_ok(once);
    char *twice = format_alloc(g);
    assert_string_equal(once, twice);
    assert_int_equal(hlm_formula_fixed_count(f), hlm_formula_fixed_count(g));
    assert_int_equal(hlm_formula_random_count(f), hlm_formula_random_count(g));
    free(once);
    free(twice);
    hlm_formula_destroy(&f);
    hlm_formula_destroy(&g);
  }
}

static void test_format_truncation(void **state)
{
  (void)state;
  hlm_formula *f = parse_ok("y ~ x + (1 | g)");
  const char *full = "y ~ x + (1 | g)";
  char buf[8];
  assert_int_equal(hlm_formula_format(f, NULL, 0), strlen(full));
  memset(buf, 'z', sizeof buf);
  assert_int_equal(hlm_formula_format(f, buf, sizeof buf), strlen(full));
  assert_string_equal(buf, "y ~ x +");
  assert_int_equal(hlm_formula_format(f, buf, 1), strlen(full));
  assert_string_equal(buf, "");
  char label[2];
  assert_int_equal(
      hlm_formula_term_format(hlm_formula_fixed_term(f, 0), label, 2), 1);
  assert_string_equal(label, "x");

  FILE *tmp = tmpfile();
  assert_non_null(tmp);
  assert_int_equal(hlm_formula_print(f, tmp), HLM_OK);
  rewind(tmp);
  char line[64] = "";
  assert_non_null(fgets(line, sizeof line, tmp));
  assert_string_equal(line, "y ~ x + (1 | g)\n");
  fclose(tmp);
  assert_string_equal(hlm_formula_text(f), full);
  hlm_formula_destroy(&f);
  hlm_formula_destroy(&f); /* NULL-safe */
  hlm_formula_destroy(NULL);
}

/* ---- Errors -----------------------------------------------------------------
 */

static void test_error_caret(void **state)
{
  (void)state;
  hlm_formula *f = NULL;
  assert_int_equal(hlm_formula_parse("y ~ x + (1 | g", &f), HLM_ERR_PARSE);
  assert_string_equal(hlm_error_message(),
                      "formula:1:15: expected `)` to close `(` opened at "
                      "column 9\n"
                      "  y ~ x + (1 | g\n"
                      "                ^");
  assert_int_equal(hlm_error_status(), HLM_ERR_PARSE);
  assert_null(f);
}

static void test_error_parens(void **state)
{
  (void)state;
  check_error("y ~ x + (1 | g", 1, 15,
              "expected `)` to close `(` opened at "
              "column 9");
  check_error("y ~ (a + b", 1, 11,
              "expected `)` to close `(` opened at "
              "column 5");
  check_error("y ~ (a + b c)", 1, 12,
              "unexpected `c`: expected an operator "
              "or `)` to close `(` opened at column 5");
  check_error("y ~ (1 | g + h)", 1, 12,
              "unexpected `+`: expected `:`, `/` or "
              "`)` to close `(` opened at column 5");
  check_error("y ~ x )", 1, 7, "unmatched `)`");
  check_error("y ~ ()", 1, 5, "empty parentheses");
  check_error("y ~ (x +\n  z", 2, 4,
              "expected `)` to close `(` opened at line 1, column 5");
}

static void test_error_structure(void **state)
{
  (void)state;
  check_error("~ x", 1, 1, "missing response");
  check_error("y x", 1, 3, "missing `~`");
  check_error("y", 1, 2, "missing `~`");
  check_error("y + z ~ x", 1, 3,
              "unexpected `+`: expected `~` after the "
              "response");
  check_error("", 1, 1, "empty formula");
  check_error("   ", 1, 4, "empty formula");
  check_error("y ~", 1, 4, "missing the right-hand side after `~`");
  check_error("y ~ x +", 1, 8, "expected a term after `+`");
  check_error("y ~ x + * z", 1, 9, "unexpected `*`");
  check_error("y ~ x z", 1, 7,
              "unexpected `z`: expected an operator such as "
              "`+`, or the end of the formula");
  check_error("y ~ x ~ z", 1, 7, "only one `~`");
  check_error("y ~ x + ~z", 1, 9, "only one `~`");
  check_error("y ~ 2 + x", 1, 5, "`2` is not a term");
  check_error("1 ~ x", 1, 1, "unexpected `1`: expected the response");
  check_error("y ~ y + x", 1, 5, "the response `y` also appears");
  check_error("y ~ x + (1 | y)", 1, 14, "the response `y` also appears");
  check_error("y ~ log(x)", 1, 5,
              "function calls like `log(...)` are not "
              "supported");
  check_error("log(y) ~ x", 1, 1, "function calls like `log(...)`");
  check_error("y ~ x + (1 | factor(g))", 1, 14, "function calls");
  check_error("y ~ .", 1, 5, "`.` (all other columns) is not supported");
  check_error("y ~ x - -z", 1, 9, "unexpected `-`");
}

static void test_error_random(void **state)
{
  (void)state;
  check_error("y ~ x | g", 1, 7, "`|` outside parentheses");
  check_error("y ~ 1 + x || g", 1, 11, "`||` outside parentheses");
  check_error("y ~ ( | g)", 1, 7, "expected the random effects before `|`");
  check_error("y ~ (|| g)", 1, 6, "expected the random effects before `||`");
  check_error("y ~ (1 | )", 1, 10, "expected the grouping factor after `|`");
  check_error("y ~ (1 || )", 1, 11, "expected the grouping factor");
  check_error("y ~ (0 | g)", 1, 5, "the random term has no effects");
  check_error("y ~ (x - 1 - x | g)", 1, 5, "the random term has no effects");
  check_error("y ~ (1 | g | h)", 1, 12, "unexpected `|`");
  check_error("y ~ (1 | a/)", 1, 12,
              "unexpected `)`: expected a variable of "
              "the grouping factor");
  check_error("y ~ (1 | 2)", 1, 10, "expected the grouping factor");
  check_error("y ~ (1 | (g))", 1, 10, "expected the grouping factor");
  check_error("y ~ x*(1|g)", 1, 7, "must be added to the formula with `+`");
  check_error("y ~ (1|g)*x", 1, 10, "must be added to the formula with `+`");
  check_error("y ~ (1|g)^2", 1, 10, "must be added to the formula with `+`");
  check_error("y ~ (1|g):x", 1, 10, "must be added to the formula with `+`");
  check_error("y ~ x - (1|g)", 1, 9, "cannot be removed with `-`");
  check_error("y ~ ((1|g))", 1, 6, "must be added to the formula with `+`");
  check_error("y ~ (1 + (x|h) | g)", 1, 10, "inside another random term");
  check_error("y ~ (1 + x y | g)", 1, 12,
              "unexpected `y`: expected an "
              "operator or `|`");
}

static void test_error_lexical(void **state)
{
  (void)state;
  check_error("y ~ `my var + x", 1, 5, "unterminated backquoted name");
  check_error("y ~ x + ``", 1, 9, "empty backquoted name");
  check_error("y ~ x & z", 1, 7, "unknown operator `&`");
  check_error("y ~ x %o% z", 1, 7, "unknown operator `%o%`");
  check_error("y ~ x %in z", 1, 7, "unterminated `%` operator");
  check_error("y ~ x == z", 1, 7, "unknown operator `==`");
  check_error("y = x", 1, 3, "unknown operator `=`");
  check_error("y ~ x$z", 1, 6, "unknown operator `$`");
  check_error("y ~ stats::x", 1, 10, "unknown operator `::`");
  check_error("y <- x", 1, 3, "unknown operator `<-`");
  check_error("y ~ 'x'", 1, 5, "strings are not allowed");
  check_error("y ~ x, z", 1, 6, "a comma only separates the arguments");
  check_error("y ~ x\x01", 1, 6, "unexpected character (byte 0x01)");
  check_error("y ~ x[1]", 1, 6, "unexpected character `[`");
  /* a syntax error before a lexical one is reported first */
  check_error("y ~ x + + `a", 1, 9, "unexpected `+`");
}

static void test_error_power(void **state)
{
  (void)state;
  check_error("y ~ (a + b)^x", 1, 13, "expected a whole number after `^`");
  check_error("y ~ (a + b)^1.5", 1, 13, "whole number >= 1");
  check_error("y ~ a^0", 1, 7, "whole number >= 1");
  check_error("y ~ a^2^2", 1, 8, "cannot be raised to a power");
}

static void test_error_limits(void **state)
{
  (void)state;
  enum { D = HLM_FORMULA_MAX_DEPTH };
  char text[4 * D + 32];
  /* D nested parentheses are fine, D + 1 are not */
  for (int depth = D; depth <= D + 1; depth++) {
    char *p = text;
    p += sprintf(p, "y ~ ");
    for (int k = 0; k < depth; k++) {
      *p++ = '(';
    }
    *p++ = 'x';
    for (int k = 0; k < depth; k++) {
      *p++ = ')';
    }
    *p = '\0';
    if (depth == D) {
      hlm_formula *f = parse_ok(text);
      hlm_formula_destroy(&f);
    } else {
      check_error(text, 1, 5 + D, "nested more than 64 deep");
    }
  }
  /* (14 variables)^14 has 2^14 - 1 terms */
  check_error("y ~ (a+b+c+d+e+f+g+h+i+j+k+l+m+n)^14", 1, 34,
              "expands to more than 10000 terms");
  check_format("y ~ (a+b+c+d)^4 - a:b:c:d",
               "y ~ a + b + c + d + a:b + a:c + a:d + b:c + b:d + c:d + "
               "a:b:c + a:b:d + a:c:d + b:c:d");
}

static void test_error_excerpt(void **state)
{
  (void)state;
  /* multi-line text: the offending line is shown */
  hlm_formula *f = NULL;
  assert_int_equal(hlm_formula_parse("y ~ x +\n  z & w", &f), HLM_ERR_PARSE);
  assert_string_equal(hlm_error_message(), "formula:2:5: unknown operator `&`\n"
                                           "    z & w\n"
                                           "      ^");
  /* tabs are copied so the caret lines up */
  assert_int_equal(hlm_formula_parse("y ~\tx &", &f), HLM_ERR_PARSE);
  assert_string_equal(hlm_error_message(), "formula:1:7: unknown operator `&`\n"
                                           "  y ~\tx &\n"
                                           "     \t  ^");
  /* a long line is shown as a window around the column */
  char text[600];
  strcpy(text, "y ~ x0");
  for (int k = 1; k < 60; k++) {
    sprintf(text + strlen(text), " + x%d", k);
  }
  strcat(text, " & z");
  assert_int_equal(hlm_formula_parse(text, &f), HLM_ERR_PARSE);
  const char *msg = hlm_error_message();
  assert_non_null(strstr(msg, "unknown operator `&`\n  ..."));
  const char *caret = strrchr(msg, '\n');
  assert_true(strlen(caret) < 100);
  assert_int_equal(caret[strlen(caret) - 1], '^');
  /* the caret sits under the `&` */
  const char *excerpt = strchr(msg, '\n') + 1;
  size_t col = strlen(caret) - 2; /* minus "\n" and "^" */
  assert_int_equal(excerpt[col], '&');
}

static void test_invalid_args(void **state)
{
  (void)state;
  hlm_formula *f = NULL;
  assert_int_equal(hlm_formula_parse(NULL, &f), HLM_ERR_INVALID_ARG);
  assert_null(f);
  assert_int_equal(hlm_formula_parse("y ~ x", NULL), HLM_ERR_INVALID_ARG);
}

static void test_error_at(void **state)
{
  (void)state;
  hlm_formula *f = parse_ok("y ~ x + (1 | school)");
  const hlm_formula_var *v =
      hlm_formula_variable(f, hlm_formula_var_find(f, "school"));
  assert_int_equal(hlm_formula_error_at(f, v->offset, HLM_ERR_DATA,
                                        "no column `%s` in the data", v->name),
                   HLM_ERR_DATA);
  assert_string_equal(hlm_error_message(),
                      "formula:1:14: no column `school` in the data\n"
                      "  y ~ x + (1 | school)\n"
                      "               ^");
  hlm_formula_destroy(&f);
}

/* Centering and cluster means (issue 8): derived variables. */
static void test_derived(void **state)
{
  (void)state;
  check_format("y ~ cwc(ses,school) + cmean( ses , school ) + "
               "(1 + cwc(ses, school) | school)",
               "y ~ cwc(ses, school) + cmean(ses, school) + "
               "(1 + cwc(ses, school) | school)");
  check_format("y ~ gmc(x) * f + (1 | g)",
               "y ~ gmc(x) + f + gmc(x):f + (1 | g)");
  check_format("y ~ cmean(`my x`, a:b) + (1 | a)",
               "y ~ cmean(`my x`, a:b) + (1 | a)");
  /* a backquoted column that only looks like a call stays a column */
  check_format("y ~ `cwc(x)` + (1 | g)", "y ~ `cwc(x)` + (1 | g)");
  check_format("y ~ cwc(x, g) - cwc(x, g) + z + (1 | g)", "y ~ z + (1 | g)");
  hlm_formula *f =
      parse_ok("y ~ cwc(ses, school) + (0 + cwc(ses, school) | school)");
  assert_int_equal(hlm_formula_var_count(f), 4);
  const hlm_formula_var *ses = hlm_formula_variable(f, 1);
  const hlm_formula_var *school = hlm_formula_variable(f, 2);
  const hlm_formula_var *d = hlm_formula_variable(f, 3);
  assert_string_equal(ses->name, "ses");
  assert_int_equal(ses->roles, HLM_FORMULA_ROLE_SOURCE);
  assert_int_equal(ses->derived, HLM_FORMULA_COLUMN);
  assert_int_equal(school->roles,
                   HLM_FORMULA_ROLE_SOURCE | HLM_FORMULA_ROLE_GROUPING);
  assert_string_equal(d->name, "cwc(ses, school)");
  assert_int_equal(d->derived, HLM_FORMULA_CWC);
  assert_int_equal(d->roles, HLM_FORMULA_ROLE_FIXED | HLM_FORMULA_ROLE_RANDOM);
  assert_int_equal(d->source, 1);
  assert_int_equal(d->by.nvars, 1);
  assert_int_equal(d->by.var[0], 2);
  assert_int_equal(d->column, 5);
  char label[64];
  hlm_formula_term_format(hlm_formula_fixed_term(f, 0), label, sizeof label);
  assert_string_equal(label, "cwc(ses, school)");
  hlm_formula_destroy(&f);
  /* arguments of a derived variable used only in removed terms: not read */
  f = parse_ok("y ~ x - gmc(z) + (1 | g)");
  assert_int_equal(hlm_formula_var_find(f, "z"), -1);
  hlm_formula_destroy(&f);
}

static void test_error_derived(void **state)
{
  (void)state;
  check_error("y ~ cwc(x)", 1, 10, "`cwc()` takes two arguments");
  check_error("y ~ gmc(x, g)", 1, 10, "`gmc()` takes one argument");
  check_error("y ~ cmean(x, x)", 1, 14, "both the variable and the grouping");
  check_error("y ~ cwc(cmean(x, g), g)", 1, 9,
              "the first argument of `cwc()` must be a variable");
  check_error("y ~ cwc(1, g)", 1, 9, "the first argument of `cwc()`");
  check_error("y ~ cwc(x, g + h)", 1, 14, "expected `:` or `)` to close");
  check_error("y ~ cwc(x, 2)", 1, 12, "the grouping factor of `cwc()`");
  check_error("y ~ cwc(y, g)", 1, 9, "the response `y` also appears");
  check_error("cwc(y, g) ~ x", 1, 1, "`cwc(...)` can only stand where");
  check_error("y ~ (1 | cwc(x, g))", 1, 10, "`cwc(...)` can only stand");
  check_error("y ~ `cwc(x, g)` + cwc(x, g)", 1, 19,
              "both a column name (in backquotes) and a derived variable");
  check_error("y ~ cwc(x, g) + `cwc(x, g)`", 1, 17,
              "both a column name (in backquotes) and a derived variable");
  check_error("y ~ scale(x)", 1, 5, "only cmean(), cwc() and gmc()");
  check_error("y ~ `cwc`(x, g)", 1, 5, "function calls like `cwc(...)`");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference_formulas),
      cmocka_unit_test(test_oats_structure),
      cmocka_unit_test(test_sleepstudy_structure),
      cmocka_unit_test(test_crossed_and_nested),
      cmocka_unit_test(test_fixed_terms),
      cmocka_unit_test(test_interaction_order),
      cmocka_unit_test(test_intercept),
      cmocka_unit_test(test_removal),
      cmocka_unit_test(test_random_terms),
      cmocka_unit_test(test_positions),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_format_roundtrip),
      cmocka_unit_test(test_format_truncation),
      cmocka_unit_test(test_error_caret),
      cmocka_unit_test(test_error_parens),
      cmocka_unit_test(test_error_structure),
      cmocka_unit_test(test_error_random),
      cmocka_unit_test(test_error_lexical),
      cmocka_unit_test(test_error_power),
      cmocka_unit_test(test_error_limits),
      cmocka_unit_test(test_error_excerpt),
      cmocka_unit_test(test_invalid_args),
      cmocka_unit_test(test_error_at),
      cmocka_unit_test(test_derived),
      cmocka_unit_test(test_error_derived),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
