/*
 * hlm/formula.h: lme4 model formulas.
 *
 * hlm_formula_parse() turns the text of an lme4 formula such as
 *
 *     yield ~ nitro * Variety + (1 | Block/Variety)
 *
 * into a model description: the response, the intercept flag, the fixed
 * terms (each a list of variables, interactions like nitro:Variety having
 * two) and the random terms (effects | grouping factor).  The parser does
 * not look at data: whether a variable is numeric or a factor, and whether
 * grouping factors nest, are decided later by the data layer.
 *
 * Expansion follows R's terms() and lme4's findbars():
 *   - a*b is a + b + a:b; a/b is a + a:b; a %in% b is a:b; (a+b)^2 is
 *     a + b + a:b; `- t` removes a term; `- 1` or `+ 0` removes the
 *     intercept;
 *   - the variables of an interaction are listed in the order in which they
 *     first appear in that part of the formula (f:x1 after x1 + f is x1:f),
 *     repeated variables are dropped (a:a is a), and terms are ordered by
 *     interaction order (main effects, then two-way, ...), each in order of
 *     appearance;
 *   - (1 + x || g) becomes (1 | g) + (0 + x | g), every resulting term
 *     flagged correlated = false;
 *   - (1 | a/b) becomes (1 | b:a) + (1 | a), innermost first, with the
 *     grouping variables of b:a listed innermost first, exactly as lme4
 *     names them ("Variety:Block" for Block/Variety).
 * Three functions make derived variables, computed later from the data by
 * the design layer: cmean(x, g), cwc(x, g) and gmc(x) (cluster mean,
 * centering within cluster, grand-mean centering); each is one variable
 * named by its canonical text ("cwc(x, g)").
 * docs/formula.md has the full grammar, the error messages and the limits.
 *
 * A parsed formula is immutable; every pointer returned by an accessor
 * stays valid until hlm_formula_destroy().  All functions are Local (no
 * communication) and use no global state: separate formulas may be used
 * from separate threads.
 */
#ifndef HLM_FORMULA_H
#define HLM_FORMULA_H

#include "hlm/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Limits.  Formulas beyond them fail with HLM_ERR_PARSE and a message that
 * points at the offending place. */
enum {
  /* Parentheses nested deeper than this are refused (protects the stack). */
  HLM_FORMULA_MAX_DEPTH = 64,
  /* Maximum number of fixed terms, of effect terms in one random term, and
   * of random terms after expansion. */
  HLM_FORMULA_MAX_TERMS = 10000
};

/* Roles of a variable (bits of hlm_formula_var.roles). */
enum {
  HLM_FORMULA_ROLE_RESPONSE = 1u << 0, /* the response, left of `~` */
  HLM_FORMULA_ROLE_FIXED = 1u << 1,    /* in a fixed term */
  HLM_FORMULA_ROLE_RANDOM = 1u << 2,   /* in a random term's effects */
  HLM_FORMULA_ROLE_GROUPING = 1u << 3, /* in a grouping factor (always a
                                          factor, whatever its data type) */
  HLM_FORMULA_ROLE_SOURCE = 1u << 4    /* an argument of a derived variable
                                          (x or g of cwc(x, g)) */
};

/* What a variable is: a column of the data, or a variable derived from
 * columns by the design layer (docs/formula.md, "Centering and cluster
 * means"). */
typedef enum hlm_formula_derived {
  HLM_FORMULA_COLUMN = 0, /* a column of the data */
  HLM_FORMULA_CMEAN,      /* cmean(x, g): mean of x over the rows of the
                             row's level of g */
  HLM_FORMULA_CWC,        /* cwc(x, g) = x - cmean(x, g) */
  HLM_FORMULA_GMC         /* gmc(x) = x - the mean of x over all rows */
} hlm_formula_derived;

/* A parsed formula (opaque). */
typedef struct hlm_formula hlm_formula;

/* A term: one variable, or the interaction of several (x1:f has two).
 * Never empty.  var[k] indexes hlm_formula_variable(); name[k] is that
 * variable's name. */
typedef struct hlm_formula_term {
  int nvars;
  const int *var;
  const char *const *name;
} hlm_formula_term;

/* A variable the model uses. */
typedef struct hlm_formula_var {
  const char *name; /* as written, without backquotes; a derived variable's
                       name is its canonical text, "cwc(x, a:b)" (R's
                       deparse, which lme4 uses for coefficient names) */
  unsigned roles;   /* HLM_FORMULA_ROLE_* bits */
  size_t offset;    /* byte offset of its first appearance in the text (a
                       derived variable: of its function name) */
  int line, column; /* the same position, 1-based (column in characters) */
  hlm_formula_derived derived; /* HLM_FORMULA_COLUMN for a data column */
  int source;                  /* derived: index of x; -1 for a column */
  hlm_formula_term by;         /* cmean, cwc: the grouping factor g (variables
                                  as written); nvars 0 otherwise */
} hlm_formula_var;

/* A random term (effects | group) after the expansion of || and /. */
typedef struct hlm_formula_random {
  bool intercept;               /* the effects include an intercept */
  int nterms;                   /* effect terms besides the intercept */
  const hlm_formula_term *term; /* ... in R's terms() order */
  hlm_formula_term group;       /* the grouping factor: a variable, or the
                                   interaction of several (a:b) */
  bool correlated;              /* false when expanded from `||` */
  size_t offset;                /* byte offset of the `(` it came from */
  int line, column;             /* the same position, 1-based */
} hlm_formula_random;

/* Parse text (NUL-terminated) into *out.  On failure *out is NULL and the
 * error record holds a message of the form
 *
 *     formula:LINE:COL: what is wrong
 *       <the line of the formula>
 *       <spaces>^
 *
 * (LINE and COL 1-based, COL counted in characters; very long lines are
 * shown as a window around the column).
 * Returns HLM_OK, HLM_ERR_PARSE (syntax or limit), HLM_ERR_INVALID_ARG
 * (NULL text or out) or HLM_ERR_NOMEM.  Local. */
hlm_status hlm_formula_parse(const char *text, hlm_formula **out);

/* Free a formula and set *f to NULL.  NULL-safe (f or *f).  Local. */
void hlm_formula_destroy(hlm_formula **f);

/* The text the formula was parsed from (a copy owned by f). */
const char *hlm_formula_text(const hlm_formula *f);

/* The response variable's name. */
const char *hlm_formula_response(const hlm_formula *f);

/* Whether the fixed part has an intercept. */
bool hlm_formula_has_intercept(const hlm_formula *f);

/* Fixed terms, in R's terms() order; the intercept is not a term.
 * hlm_formula_fixed_term() returns NULL when i is out of range. */
int hlm_formula_fixed_count(const hlm_formula *f);
const hlm_formula_term *hlm_formula_fixed_term(const hlm_formula *f, int i);

/* Random terms, in lme4's order (order of appearance, each || and /
 * expanded in place).  NULL when i is out of range. */
int hlm_formula_random_count(const hlm_formula *f);
const hlm_formula_random *hlm_formula_random_term(const hlm_formula *f, int i);

/* The variables the model uses (each once): the response first, then the
 * others in order of first appearance.  Variables that appear only in
 * removed terms (x in `y ~ z - x`) are not listed.  The data layer reads
 * exactly the columns among them (derived == HLM_FORMULA_COLUMN); the
 * arguments of a derived variable are listed before it, with role
 * HLM_FORMULA_ROLE_SOURCE.  NULL when i is out of range. */
int hlm_formula_var_count(const hlm_formula *f);
const hlm_formula_var *hlm_formula_variable(const hlm_formula *f, int i);

/* Index of the variable called name, or -1. */
int hlm_formula_var_find(const hlm_formula *f, const char *name);

/* Write the formula in canonical lme4 form, snprintf-style: at most len
 * bytes including the NUL (buf may be NULL when len is 0); returns the
 * length of the full text, so a result >= len means it was truncated.
 * Canonical form: `y ~ x + f + x:f + (1 + x | g) + (1 | b:a)`: fixed
 * terms in order, the intercept written only when it is needed (`1 +`
 * with no fixed terms, `0 +` when removed), `||` and `/` shown expanded,
 * each random term with an explicit `1 +` or `0 +`, names backquoted
 * when they are not syntactic R names.  Parsing the result gives the same
 * model: the same terms in the same order.  Only the `correlated` flag of
 * terms from `||` is lost, and, as in R, the variables inside an
 * interaction may be listed in another order (`x + x:l*b` prints as
 * `x + b + x:l + x:l:b`, whose last term reads back as x:b:l). */
size_t hlm_formula_format(const hlm_formula *f, char *buf, size_t len);

/* The same text written to out, followed by a newline.  Returns HLM_OK or
 * HLM_ERR_IO. */
hlm_status hlm_formula_print(const hlm_formula *f, FILE *out);

/* Write one term as R labels it ("x:f"), snprintf-style as above. */
size_t hlm_formula_term_format(const hlm_formula_term *t, char *buf,
                               size_t len);

/* Record an error about the formula at byte offset (e.g. a variable's
 * offset when the data has no such column), in the same form as parse
 * errors, and return code.  Later modules use this so that every
 * formula-related message points into the formula text. */
hlm_status hlm_formula_error_at(const hlm_formula *f, size_t offset,
                                hlm_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif /* HLM_FORMULA_H */
