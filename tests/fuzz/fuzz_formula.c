/* fuzz_formula.c: libFuzzer harness for the formula parser.
 *
 * Build and run (clang 14):
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -fno-sanitize-recover=undefined -Iinclude src/error.c src/formula*.c \
 *     tests/fuzz/fuzz_formula.c -o fuzz_formula
 *   ./fuzz_formula -max_total_time=120 corpus/
 *
 * Each input is parsed as a NUL-terminated string.  A successful parse is
 * walked (every index in range, every name consistent), formatted, and the
 * canonical text must parse again to the same model (same terms in the
 * same order).  A failed
 * parse must leave a "formula:LINE:COL: " message.  Any violation traps. */
#include "hlm/formula.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                          \
  do {                                                                         \
    if (!(cond)) {                                                             \
      __builtin_trap();                                                        \
    }                                                                          \
  } while (0)

static void walk_term(const hlm_formula *f, const hlm_formula_term *t)
{
  REQUIRE(t->nvars > 0);
  for (int k = 0; k < t->nvars; k++) {
    const hlm_formula_var *v = hlm_formula_variable(f, t->var[k]);
    REQUIRE(v != NULL);
    REQUIRE(v->name == t->name[k]);
    for (int j = 0; j < k; j++) {
      REQUIRE(t->var[j] != t->var[k]);
    }
  }
  char label[64];
  size_t n = hlm_formula_term_format(t, label, sizeof label);
  REQUIRE(n > 0 && strlen(label) == (n < sizeof label ? n : sizeof label - 1));
}

static void walk(const hlm_formula *f)
{
  size_t len = strlen(hlm_formula_text(f));
  REQUIRE(hlm_formula_var_count(f) >= 1);
  REQUIRE(strcmp(hlm_formula_response(f), hlm_formula_variable(f, 0)->name) ==
          0);
  for (int k = 0; k < hlm_formula_var_count(f); k++) {
    const hlm_formula_var *v = hlm_formula_variable(f, k);
    REQUIRE(v->roles != 0 && v->offset < len);
    REQUIRE(v->line >= 1 && v->column >= 1);
    REQUIRE(hlm_formula_var_find(f, v->name) == k);
  }
  for (int i = 0; i < hlm_formula_fixed_count(f); i++) {
    walk_term(f, hlm_formula_fixed_term(f, i));
  }
  for (int r = 0; r < hlm_formula_random_count(f); r++) {
    const hlm_formula_random *rt = hlm_formula_random_term(f, r);
    REQUIRE(rt->intercept || rt->nterms > 0);
    REQUIRE(rt->offset < len && f != NULL);
    for (int i = 0; i < rt->nterms; i++) {
      walk_term(f, &rt->term[i]);
    }
    walk_term(f, &rt->group);
  }
}

static char *format_alloc(const hlm_formula *f)
{
  size_t n = hlm_formula_format(f, NULL, 0);
  char *s = malloc(n + 1);
  REQUIRE(s != NULL);
  REQUIRE(hlm_formula_format(f, s, n + 1) == n && strlen(s) == n);
  return s;
}

/* The same variables, possibly in another order (R orders the variables
 * of an interaction by first appearance, which reprinting can change:
 * `x + x:l*b` prints as `x + b + x:l + x:l:b`, which reads back as x:b:l). */
static void same_term(const hlm_formula_term *a, const hlm_formula_term *b)
{
  REQUIRE(a->nvars == b->nvars);
  for (int k = 0; k < a->nvars; k++) {
    int found = 0;
    for (int j = 0; j < b->nvars && !found; j++) {
      found = strcmp(a->name[k], b->name[j]) == 0;
    }
    REQUIRE(found);
  }
}

/* Reading the canonical text back gives the same model: the same terms in
 * the same order. */
static void check_roundtrip(const hlm_formula *f)
{
  char *once = format_alloc(f);
  hlm_formula *g = NULL;
  REQUIRE(hlm_formula_parse(once, &g) == HLM_OK);
  walk(g);
  REQUIRE(hlm_formula_has_intercept(f) == hlm_formula_has_intercept(g));
  REQUIRE(hlm_formula_var_count(f) == hlm_formula_var_count(g));
  REQUIRE(hlm_formula_fixed_count(f) == hlm_formula_fixed_count(g));
  for (int i = 0; i < hlm_formula_fixed_count(f); i++) {
    same_term(hlm_formula_fixed_term(f, i), hlm_formula_fixed_term(g, i));
  }
  REQUIRE(hlm_formula_random_count(f) == hlm_formula_random_count(g));
  for (int r = 0; r < hlm_formula_random_count(f); r++) {
    const hlm_formula_random *a = hlm_formula_random_term(f, r);
    const hlm_formula_random *b = hlm_formula_random_term(g, r);
    REQUIRE(a->intercept == b->intercept && a->nterms == b->nterms);
    for (int i = 0; i < a->nterms; i++) {
      same_term(&a->term[i], &b->term[i]);
    }
    char ga[256], gb[256];
    hlm_formula_term_format(&a->group, ga, sizeof ga);
    hlm_formula_term_format(&b->group, gb, sizeof gb);
    REQUIRE(strcmp(ga, gb) == 0);
  }
  free(once);
  hlm_formula_destroy(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = malloc(size + 1);
  if (text == NULL) {
    return 0;
  }
  memcpy(text, data, size);
  text[size] = '\0';
  hlm_formula *f = NULL;
  hlm_status status = hlm_formula_parse(text, &f);
  if (status == HLM_OK) {
    walk(f);
    check_roundtrip(f);
    char small[8];
    hlm_formula_format(f, small, sizeof small);
    REQUIRE(strlen(small) < sizeof small);
    REQUIRE(hlm_formula_error_at(f, hlm_formula_variable(f, 0)->offset,
                                 HLM_ERR_DATA, "%s", "x") == HLM_ERR_DATA);
  } else {
    REQUIRE(f == NULL);
    REQUIRE(status == HLM_ERR_PARSE || status == HLM_ERR_NOMEM);
    REQUIRE(status != HLM_ERR_PARSE ||
            strncmp(hlm_error_message(), "formula:", 8) == 0);
  }
  hlm_formula_destroy(&f);
  free(text);
  return 0;
}
