/* formula_internal.h: shared by formula.c, formula_lex.c, formula_parse.c
 * and formula_terms.c.  Not installed; nothing here is public API. */
#ifndef HLM_FORMULA_INTERNAL_H
#define HLM_FORMULA_INTERNAL_H

#include "hlm/formula.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Term algebra (formula_terms.c) ----------------------------------- */

/* A term: a set of variable indices, ascending and unique (the canonical
 * form used for equality while expanding; hlm_ftl_relabel() reorders them
 * for display at the end).  hash caches its hash. */
typedef struct hlm_fterm {
  int *v;
  int n;
  uint32_t hash;
} hlm_fterm;

/* An ordered list of distinct terms with a hash index for duplicates. */
typedef struct hlm_ftl {
  hlm_fterm *t;
  int n, cap;
  int *slot; /* open addressing: index into t, or -1 */
  int nslot; /* power of two, > 2 * cap; 0 when not allocated */
} hlm_ftl;

/* Expansion budget shared by the operations of one parse: the total number
 * of variable indices merged, so that `(a+b+...)^k` and friends stay fast. */
typedef struct hlm_falg {
  long work_left;
  int *scratch;
  int nscratch;
} hlm_falg;

/* Results of the algebra.  The parser turns them into positioned
 * messages; the algebra itself records nothing. */
typedef enum hlm_falg_rc {
  HLM_FALG_OK = 0,
  HLM_FALG_NOMEM,
  HLM_FALG_TOO_MANY,   /* more than HLM_FORMULA_MAX_TERMS terms */
  HLM_FALG_TOO_COMPLEX /* work budget exhausted */
} hlm_falg_rc;

enum { HLM_FALG_WORK = 1 << 24 };

void hlm_falg_free(hlm_falg *a);
void hlm_ftl_free(hlm_ftl *l);
/* l += {v[0..n)} unless already present or n == 0; v ascending. */
hlm_falg_rc hlm_ftl_add(hlm_ftl *l, const int *v, int n, hlm_falg *a);
/* dst = dst + src (R's PlusTerms). */
hlm_falg_rc hlm_ftl_union(hlm_ftl *dst, const hlm_ftl *src, hlm_falg *a);
/* out = x:y, x*y, x/y, x %in% y, x^k (R's Interact/Cross/Nest/In/Power-
 * Terms).  out must be empty on entry. */
hlm_falg_rc hlm_ftl_interact(const hlm_ftl *x, const hlm_ftl *y, hlm_ftl *out,
                             hlm_falg *a);
hlm_falg_rc hlm_ftl_cross(const hlm_ftl *x, const hlm_ftl *y, hlm_ftl *out,
                          hlm_falg *a);
hlm_falg_rc hlm_ftl_nest(const hlm_ftl *x, const hlm_ftl *y, hlm_ftl *out,
                         hlm_falg *a);
hlm_falg_rc hlm_ftl_in(const hlm_ftl *x, const hlm_ftl *y, hlm_ftl *out,
                       hlm_falg *a);
hlm_falg_rc hlm_ftl_power(const hlm_ftl *x, int k, hlm_ftl *out, hlm_falg *a);
/* x = x - y (R's DeleteTerms on expanded lists). */
hlm_falg_rc hlm_ftl_remove(hlm_ftl *x, const hlm_ftl *y, hlm_falg *a);
/* Stable sort by the number of variables (R's terms() step 3). */
hlm_falg_rc hlm_ftl_sort_by_order(hlm_ftl *l);
/* Put each term's variables in display order: ascending rank[v], where
 * var_of is the inverse permutation of rank.  Afterwards the terms are no
 * longer ascending, so l must not be combined any more (hlm_ftl_add of
 * its terms into another list is fine). */
hlm_falg_rc hlm_ftl_relabel(hlm_ftl *l, const int *rank, const int *var_of);

/* ---- Tokens (formula_lex.c) ------------------------------------------- */

typedef enum hlm_ftok_kind {
  HLM_FTOK_END,
  HLM_FTOK_ERROR, /* a lexical error; hlm_flex.errmsg says what */
  HLM_FTOK_NAME,
  HLM_FTOK_NUMBER,
  HLM_FTOK_PLUS,
  HLM_FTOK_MINUS,
  HLM_FTOK_STAR,
  HLM_FTOK_SLASH,
  HLM_FTOK_COLON,
  HLM_FTOK_CARET,
  HLM_FTOK_IN, /* %in% */
  HLM_FTOK_LPAREN,
  HLM_FTOK_RPAREN,
  HLM_FTOK_BAR,
  HLM_FTOK_DBAR,
  HLM_FTOK_TILDE,
  HLM_FTOK_COMMA /* only between the arguments of cmean(), cwc(), gmc() */
} hlm_ftok_kind;

typedef struct hlm_ftok {
  hlm_ftok_kind kind;
  size_t pos, len;  /* bytes of the token in the text (with backquotes) */
  const char *name; /* NAME: points into the text, not NUL-terminated */
  size_t nlen;      /* NAME: length of name */
  bool quoted;      /* NAME: written in backquotes */
  double value;     /* NUMBER */
  int match;        /* LPAREN: index of the matching RPAREN, or -1 */
  int bar;          /* LPAREN: index of the first | or || directly inside,
                       or -1 */
} hlm_ftok;

typedef struct hlm_flex {
  hlm_ftok *tok; /* ends with one END or ERROR token */
  int ntok;
  char errmsg[256]; /* the ERROR token's message */
} hlm_flex;

/* Tokenize text and match parentheses.  Lexical errors become a final
 * ERROR token (reported when the parser reaches it).  Fails only with
 * HLM_ERR_NOMEM. */
hlm_status hlm_flex_run(const char *text, hlm_flex *lex);
void hlm_flex_free(hlm_flex *lex);
/* A short description of a token for messages ("`+`", "name `x`"). */
void hlm_ftok_describe(const char *text, const hlm_ftok *t, char *buf,
                       size_t len);

/* Whether s[0..n) is a syntactic R name (as the lexer reads one, `.`
 * alone excepted): such names are written without backquotes. */
bool hlm_formula_is_plain_name(const char *s, size_t n);

/* Whether the NUL-terminated s has the shape of a derived variable's
 * canonical name ("cwc(x, g)"), for printing a term without its formula. */
bool hlm_formula_is_derived_name(const char *s);

/* A position in the text: byte offset, 1-based line and column (in
 * characters). */
typedef struct hlm_fpos {
  size_t offset;
  int line, column;
} hlm_fpos;

/* Move *at to offset, scanning forward from where it is (from the start
 * when offset is behind it or *at is zeroed): linear over many calls with
 * increasing offsets. */
void hlm_formula_seek(const char *text, hlm_fpos *at, size_t offset);
/* 1-based line and column (in characters) of byte offset in text. */
void hlm_formula_position(const char *text, size_t offset, int *line,
                          int *column);
/* Record "formula:L:C: <message>" plus the line and a caret. */
hlm_status hlm_formula_vreport(const char *text, size_t offset, hlm_status code,
                               const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 0)))
#endif
    ;
hlm_status hlm_formula_report(const char *text, size_t offset, hlm_status code,
                              const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* ---- Parser output (formula_parse.c) ---------------------------------- */

/* A variable name seen in the text (any part, including removed terms).
 * A derived variable (cmean(x, g), cwc(x, g), gmc(x)) has its canonical
 * name in own (s points there) and its arguments as variable indices. */
typedef struct hlm_fvar {
  const char *s; /* into the text (not NUL-terminated), or own */
  size_t n;
  size_t pos;     /* first appearance */
  char *own;      /* derived: the canonical name, NUL-terminated */
  int fn;         /* hlm_formula_derived: 0 for a data column */
  int arg;        /* derived: x */
  int *grp, ngrp; /* cmean, cwc: the variables of g, as written */
} hlm_fvar;

/* A random term after expansion.  Term variables are in display order. */
typedef struct hlm_frand {
  bool intercept, correlated;
  hlm_ftl terms;
  int *group;
  int ngroup;
  size_t pos;
} hlm_frand;

/* Everything the parser found; term variables index vars[] and are in
 * display order (R's), terms in terms() order. */
typedef struct hlm_fparsed {
  hlm_fvar *vars;
  int nvars, capvars;
  int response; /* index into vars */
  bool intercept;
  hlm_ftl fixed;
  hlm_frand *rand;
  int nrand, caprand;
} hlm_fparsed;

hlm_status hlm_fparse_run(const char *text, hlm_fparsed *out);
void hlm_fparsed_free(hlm_fparsed *p);

#endif /* HLM_FORMULA_INTERNAL_H */
