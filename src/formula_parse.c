/* formula_parse.c: recursive-descent parser for lme4 formulas.
 *
 * Grammar (R's precedence, loosest first; docs/formula.md has the prose):
 *
 *   formula  := NAME '~' sum END
 *   sum      := [('+'|'-')] product (('+'|'-') product)*
 *   product  := in (('*'|'/') in)*
 *   in       := colon ('%in%' colon)*
 *   colon    := power (':' power)*
 *   power    := primary ['^' NUMBER]
 *   primary  := NAME | NUMBER | '(' sum ')' | random | call
 *   call     := ('cmean'|'cwc') '(' NAME ',' names ')' | 'gmc' '(' NAME ')'
 *   random   := '(' sum ('|'|'||') group ')'     top-level summands only
 *   group    := names ('/' names)*
 *   names    := NAME (':' NAME)*
 *
 * The parser expands terms as it goes (formula_terms.c), the way R's
 * EncodeVars() walks the call tree, with R's `parity` and `intercept`
 * state.  Each part (the fixed part, and the effects of each random term)
 * is a separate terms() call with its own intercept and variable order.
 * Recursion happens only at '(' and is bounded by HLM_FORMULA_MAX_DEPTH. */
#include "formula_internal.h"

#include <stdlib.h>
#include <string.h>

/* State of one terms() call. */
typedef struct part {
  bool intercept;
  bool parity;  /* R's parity: false inside an odd number of `-` operands */
  int deleting; /* > 0 inside the right operand of a `-` */
  int *order;   /* parser variables in R's order: first appearance outside
                   removed operands */
  int norder, caporder;
} part;

typedef struct parser {
  const char *text;
  hlm_flex lex;
  int i; /* current token */
  int depth;
  int in_random; /* > 0 while parsing a random term's effects */
  hlm_falg alg;
  hlm_fparsed *out;
  part *part;
  int *vslot; /* hash index of out->vars: index, or -1 when empty */
  int nvslot; /* power of two, >= 4 * out->capvars */
} parser;

typedef hlm_status (*operand_fn)(parser *p, bool random_ok, hlm_ftl *out,
                                 bool *is_random);

static hlm_status parse_sum(parser *p, bool random_ok, hlm_ftl *out);

/* ---- Helpers ------------------------------------------------------------ */

static const hlm_ftok *cur(const parser *p)
{
  return &p->lex.tok[p->i];
}

static const hlm_ftok *peek(const parser *p)
{
  return p->i + 1 < p->lex.ntok ? &p->lex.tok[p->i + 1] : cur(p);
}

static void advance(parser *p)
{
  if (p->i + 1 < p->lex.ntok) {
    p->i++;
  }
}

static hlm_status perr(const parser *p, size_t pos, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static hlm_status perr(const parser *p, size_t pos, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  hlm_status status = hlm_formula_vreport(p->text, pos, HLM_ERR_PARSE, fmt, ap);
  va_end(ap);
  return status;
}

/* "unexpected X: expected <what>", or the lexer's own message. */
static hlm_status unexpected(const parser *p, const char *what)
{
  const hlm_ftok *t = cur(p);
  if (t->kind == HLM_FTOK_ERROR) {
    return perr(p, t->pos, "%s", p->lex.errmsg);
  }
  if (t->kind == HLM_FTOK_COMMA) {
    return perr(p, t->pos,
                "unexpected `,`: a comma only separates the arguments of "
                "cmean(x, g) and cwc(x, g)");
  }
  char desc[64];
  hlm_ftok_describe(p->text, t, desc, sizeof desc);
  return perr(p, t->pos, "unexpected %s: expected %s", desc, what);
}

static hlm_status alg_error(const parser *p, hlm_falg_rc rc, size_t pos)
{
  switch (rc) {
  case HLM_FALG_OK:
    return HLM_OK;
  case HLM_FALG_NOMEM:
    return HLM_ERROR(HLM_ERR_NOMEM, "out of memory expanding a formula");
  case HLM_FALG_TOO_MANY:
    return perr(p, pos, "the formula expands to more than %d terms",
                HLM_FORMULA_MAX_TERMS);
  default:
    return perr(p, pos, "the formula is too complex to expand");
  }
}

static bool is_dot(const hlm_ftok *t)
{
  return t->kind == HLM_FTOK_NAME && !t->quoted && t->nlen == 1 &&
         t->name[0] == '.';
}

/* The derived-variable functions, indexed by hlm_formula_derived. */
static const char *const fn_name[] = {"", "cmean", "cwc", "gmc"};

/* The hlm_formula_derived of a NAME token followed by `(`, or 0. */
static int call_kind(const parser *p, const hlm_ftok *t)
{
  if (t->kind != HLM_FTOK_NAME || t->quoted ||
      peek(p)->kind != HLM_FTOK_LPAREN) {
    return 0;
  }
  for (int k = 1; k < (int)(sizeof fn_name / sizeof *fn_name); k++) {
    if (t->nlen == strlen(fn_name[k]) &&
        memcmp(t->name, fn_name[k], t->nlen) == 0) {
      return k;
    }
  }
  return 0;
}

/* Check a NAME token for things that are not variables (a call where a
 * derived variable is allowed was taken care of before). */
static hlm_status check_name(const parser *p, const hlm_ftok *t)
{
  if (is_dot(t)) {
    return perr(p, t->pos,
                "`.` (all other columns) is not supported: list the "
                "variables");
  }
  int kind = call_kind(p, t);
  if (kind != 0) {
    return perr(p, t->pos,
                "`%s(...)` can only stand where a numeric variable can: in "
                "the fixed part or as a random effect, not as the response, "
                "a grouping factor or another function's argument",
                fn_name[kind]);
  }
  if (peek(p)->kind == HLM_FTOK_LPAREN) {
    return perr(p, t->pos,
                "function calls like `%.*s(...)` are not supported (only "
                "cmean(), cwc() and gmc() are built in): add the transformed "
                "variable to the data as a column",
                (int)(t->nlen > 40 ? 40 : t->nlen), t->name);
  }
  return HLM_OK;
}

static uint32_t name_hash(const char *s, size_t n)
{
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h = (h ^ (unsigned char)s[i]) * 16777619u;
  }
  return h;
}

/* Slot of the variable called s[0..n) in p->vslot, or the empty slot where
 * it would go. */
static int var_slot(const parser *p, const char *s, size_t n)
{
  const hlm_fvar *vars = p->out->vars;
  int mask = p->nvslot - 1;
  int k = (int)(name_hash(s, n) & (uint32_t)mask);
  while (p->vslot[k] >= 0 && !(vars[p->vslot[k]].n == n &&
                               memcmp(vars[p->vslot[k]].s, s, n) == 0)) {
    k = (k + 1) & mask;
  }
  return k;
}

/* Grow the variable array and its hash index for one more variable. */
static hlm_status grow_vars(parser *p)
{
  hlm_status status = HLM_OK;
  hlm_fparsed *o = p->out;
  if (o->nvars < o->capvars) {
    return HLM_OK;
  }
  int cap = o->capvars ? 2 * o->capvars : 16;
  hlm_fvar *v = realloc(o->vars, (size_t)cap * sizeof *v);
  HLM_CHECK(v != NULL, HLM_ERR_NOMEM, "out of memory parsing a formula");
  o->vars = v;
  o->capvars = cap;
  free(p->vslot);
  p->nvslot = 4 * cap;
  p->vslot = malloc((size_t)p->nvslot * sizeof *p->vslot);
  HLM_CHECK(p->vslot != NULL, HLM_ERR_NOMEM, "out of memory parsing a formula");
  for (int k = 0; k < p->nvslot; k++) {
    p->vslot[k] = -1;
  }
  for (int i = 0; i < o->nvars; i++) {
    p->vslot[var_slot(p, o->vars[i].s, o->vars[i].n)] = i;
  }
cleanup:
  return status;
}

static hlm_status name_clash(const parser *p, size_t pos, const char *name)
{
  return perr(p, pos,
              "`%s` is both a column name (in backquotes) and a derived "
              "variable: rename the column",
              name);
}

/* Index of the variable named by t in out->vars, adding it if new. */
static hlm_status intern_var(parser *p, const hlm_ftok *t, int *index)
{
  hlm_status status = HLM_OK;
  hlm_fparsed *o = p->out;
  if (p->nvslot > 0) {
    int k = var_slot(p, t->name, t->nlen);
    if (p->vslot[k] >= 0) {
      *index = p->vslot[k];
      if (o->vars[*index].fn != HLM_FORMULA_COLUMN) {
        HLM_TRY(name_clash(p, t->pos, o->vars[*index].own));
      }
      return HLM_OK;
    }
  }
  HLM_TRY(grow_vars(p));
  o->vars[o->nvars] = (hlm_fvar){.s = t->name, .n = t->nlen, .pos = t->pos};
  p->vslot[var_slot(p, t->name, t->nlen)] = o->nvars;
  *index = o->nvars++;
cleanup:
  return status;
}

/* Give variable v its place in the current part's order (R's ExtractVars
 * skips removed operands, so variables first seen there come last). */
static hlm_status note_order(parser *p, int v)
{
  hlm_status status = HLM_OK;
  part *pt = p->part;
  if (pt->deleting > 0) {
    return HLM_OK;
  }
  for (int k = 0; k < pt->norder; k++) {
    if (pt->order[k] == v) {
      return HLM_OK;
    }
  }
  if (pt->norder == pt->caporder) {
    int cap = pt->caporder ? 2 * pt->caporder : 16;
    int *o = realloc(pt->order, (size_t)cap * sizeof *o);
    HLM_CHECK(o != NULL, HLM_ERR_NOMEM, "out of memory parsing a formula");
    pt->order = o;
    pt->caporder = cap;
  }
  pt->order[pt->norder++] = v;
cleanup:
  return status;
}

/* A variable on the right-hand side. */
static hlm_status rhs_var(parser *p, const hlm_ftok *t, int *v)
{
  hlm_status status = HLM_OK;
  HLM_TRY(check_name(p, t));
  HLM_TRY(intern_var(p, t, v));
  if (*v == p->out->response) {
    char desc[64];
    hlm_ftok_describe(p->text, t, desc, sizeof desc);
    HLM_TRY(perr(p, t->pos,
                 "the response %s also appears on the right-hand side", desc));
  }
cleanup:
  return status;
}

/* Sort a finished part's terms by order and their variables into the
 * part's order. */
static hlm_status finish_part(parser *p, const part *pt, hlm_ftl *terms)
{
  hlm_status status = HLM_OK;
  int *rank = NULL, *var_of = NULL;
  int n = p->out->nvars;
  HLM_ALLOC(rank, n);
  HLM_ALLOC(var_of, n);
  for (int v = 0; v < n; v++) {
    rank[v] = -1;
  }
  for (int k = 0; k < pt->norder; k++) {
    rank[pt->order[k]] = k;
  }
  for (int v = 0, next = pt->norder; v < n; v++) {
    rank[v] = rank[v] < 0 ? next++ : rank[v];
    var_of[rank[v]] = v;
  }
  hlm_falg_rc rc = hlm_ftl_sort_by_order(terms);
  if (rc == HLM_FALG_OK) {
    rc = hlm_ftl_relabel(terms, rank, var_of);
  }
  HLM_TRY(alg_error(p, rc, 0));
cleanup:
  free(rank);
  free(var_of);
  return status;
}

/* ---- Fixed-effects expressions ------------------------------------------ */

/* `1` or `0`: set the intercept as R's EncodeVars does. */
static hlm_status number_term(parser *p, const hlm_ftok *t)
{
  if (t->value == 1.0) {
    p->part->intercept = p->part->parity;
  } else if (t->value == 0.0) {
    p->part->intercept = !p->part->parity;
  } else {
    return perr(p, t->pos,
                "`%.*s` is not a term: only 1 (the intercept) and 0 (no "
                "intercept) can stand alone in a formula",
                (int)(t->len > 40 ? 40 : t->len), p->text + t->pos);
  }
  advance(p);
  return HLM_OK;
}

static hlm_status missing_term(const parser *p)
{
  const hlm_ftok *t = cur(p);
  const hlm_ftok *prev = p->i > 0 ? &p->lex.tok[p->i - 1] : t;
  char desc[64];
  hlm_ftok_describe(p->text, prev, desc, sizeof desc);
  switch (t->kind) {
  case HLM_FTOK_ERROR:
    return perr(p, t->pos, "%s", p->lex.errmsg);
  case HLM_FTOK_END:
    if (prev->kind == HLM_FTOK_TILDE) {
      return perr(p, t->pos, "missing the right-hand side after `~`");
    }
    return perr(p, t->pos, "expected a term after %s", desc);
  case HLM_FTOK_RPAREN:
    if (prev->kind == HLM_FTOK_LPAREN) {
      return perr(p, prev->pos, "empty parentheses `()`");
    }
    return perr(p, t->pos, "expected a term before `)`");
  case HLM_FTOK_BAR:
  case HLM_FTOK_DBAR:
    if (prev->kind == HLM_FTOK_LPAREN) {
      return perr(p, t->pos,
                  "expected the random effects before `%s`, like `(1 | g)`",
                  t->kind == HLM_FTOK_BAR ? "|" : "||");
    }
    return unexpected(p, "a variable, 0, 1 or `(`");
  case HLM_FTOK_TILDE:
    return perr(p, t->pos, "a formula has only one `~`");
  default:
    return unexpected(p, "a variable, 0, 1 or `(`");
  }
}

static int column_of(const parser *p, size_t pos, int *line)
{
  int col;
  hlm_formula_position(p->text, pos, line, &col);
  return col;
}

/* The current token should be the `)` closing the `(` at open. */
static hlm_status expect_close(const parser *p, const hlm_ftok *open,
                               const char *what)
{
  const hlm_ftok *t = cur(p);
  if (t->kind == HLM_FTOK_RPAREN) {
    return HLM_OK;
  }
  if (t->kind == HLM_FTOK_ERROR) {
    return perr(p, t->pos, "%s", p->lex.errmsg);
  }
  int line, here_line;
  int col = column_of(p, open->pos, &line);
  column_of(p, t->pos, &here_line);
  char where[48];
  if (line == here_line) {
    snprintf(where, sizeof where, "column %d", col);
  } else {
    snprintf(where, sizeof where, "line %d, column %d", line, col);
  }
  if (t->kind == HLM_FTOK_END) {
    return perr(p, t->pos, "expected `)` to close `(` opened at %s", where);
  }
  char desc[64];
  hlm_ftok_describe(p->text, t, desc, sizeof desc);
  return perr(p, t->pos,
              "unexpected %s: expected %s`)` to close `(` opened "
              "at %s",
              desc, what, where);
}

/* ---- Derived variables: cmean(x, g), cwc(x, g), gmc(x) ----------------- */

typedef struct call_args {
  int kind; /* hlm_formula_derived */
  int x;
  int *grp; /* the variables of g, as written, repeats dropped */
  int ngrp;
} call_args;

/* One argument: a variable, not a call or anything else. */
static hlm_status call_var(parser *p, const call_args *a, bool group, int *v)
{
  hlm_status status = HLM_OK;
  const hlm_ftok *t = cur(p);
  const char *fn = fn_name[a->kind];
  if (t->kind == HLM_FTOK_ERROR) {
    HLM_TRY(perr(p, t->pos, "%s", p->lex.errmsg));
  }
  if (t->kind != HLM_FTOK_NAME || peek(p)->kind == HLM_FTOK_LPAREN) {
    if (group) {
      HLM_TRY(perr(p, t->pos,
                   "the grouping factor of `%s()` must be variables joined "
                   "by `:`, like `%s(x, g)` or `%s(x, a:b)`",
                   fn, fn, fn));
    }
    HLM_TRY(perr(p, t->pos,
                 "the first argument of `%s()` must be a variable (a numeric "
                 "column), like `%s(x%s)`",
                 fn, fn, a->kind == HLM_FORMULA_GMC ? "" : ", g"));
  }
  HLM_TRY(rhs_var(p, t, v));
  advance(p);
cleanup:
  return status;
}

/* g of cmean(x, g) and cwc(x, g): NAME (':' NAME)*. */
static hlm_status call_group(parser *p, call_args *a)
{
  hlm_status status = HLM_OK;
  for (;;) {
    size_t pos = cur(p)->pos;
    int v = -1, seen = 0;
    HLM_TRY(call_var(p, a, true, &v));
    if (v == a->x) {
      const hlm_fvar *xv = &p->out->vars[v];
      HLM_TRY(perr(p, pos,
                   "`%.*s` is both the variable and the grouping factor of "
                   "`%s()`",
                   (int)(xv->n > 40 ? 40 : xv->n), xv->s, fn_name[a->kind]));
    }
    for (int k = 0; k < a->ngrp; k++) {
      seen |= a->grp[k] == v;
    }
    if (!seen) {
      int *g = realloc(a->grp, (size_t)(a->ngrp + 1) * sizeof *g);
      HLM_CHECK(g != NULL, HLM_ERR_NOMEM, "out of memory parsing a formula");
      a->grp = g;
      a->grp[a->ngrp++] = v;
    }
    if (cur(p)->kind != HLM_FTOK_COLON) {
      break;
    }
    advance(p);
  }
cleanup:
  return status;
}

/* Append name[0..n) to buf at *at, in backquotes unless plain. */
static void put_arg(char *buf, size_t *at, const char *name, size_t n)
{
  bool plain = hlm_formula_is_plain_name(name, n);
  if (!plain) {
    buf[(*at)++] = '`';
  }
  memcpy(buf + *at, name, n);
  *at += n;
  if (!plain) {
    buf[(*at)++] = '`';
  }
}

/* The canonical name, as R deparses the call: "cwc(x, a:b)". */
static hlm_status call_name(const parser *p, const call_args *a, char **out)
{
  hlm_status status = HLM_OK;
  const hlm_fvar *vars = p->out->vars;
  size_t len = strlen(fn_name[a->kind]) + vars[a->x].n + 8, at = 0;
  for (int k = 0; k < a->ngrp; k++) {
    len += vars[a->grp[k]].n + 3;
  }
  char *s = NULL;
  HLM_ALLOC(s, len);
  at = strlen(fn_name[a->kind]);
  memcpy(s, fn_name[a->kind], at);
  s[at++] = '(';
  put_arg(s, &at, vars[a->x].s, vars[a->x].n);
  for (int k = 0; k < a->ngrp; k++) {
    memcpy(s + at, k ? ":" : ", ", k ? 1 : 2);
    at += k ? 1 : 2;
    put_arg(s, &at, vars[a->grp[k]].s, vars[a->grp[k]].n);
  }
  s[at++] = ')';
  s[at] = '\0';
  *out = s;
cleanup:
  return status;
}

/* The derived variable of a (its arguments move into it), or the one
 * already seen with the same name. */
static hlm_status intern_derived(parser *p, call_args *a, size_t pos, int *v)
{
  hlm_status status = HLM_OK;
  char *name = NULL;
  HLM_TRY(call_name(p, a, &name));
  size_t n = strlen(name);
  hlm_fparsed *o = p->out;
  if (p->nvslot > 0 && p->vslot[var_slot(p, name, n)] >= 0) {
    *v = p->vslot[var_slot(p, name, n)];
    if (o->vars[*v].fn == HLM_FORMULA_COLUMN) {
      HLM_TRY(name_clash(p, pos, name));
    }
    goto cleanup;
  }
  HLM_TRY(grow_vars(p));
  o->vars[o->nvars] = (hlm_fvar){.s = name,
                                 .n = n,
                                 .pos = pos,
                                 .own = name,
                                 .fn = a->kind,
                                 .arg = a->x,
                                 .grp = a->grp,
                                 .ngrp = a->ngrp};
  p->vslot[var_slot(p, name, n)] = o->nvars;
  *v = o->nvars++;
  name = NULL;
  a->grp = NULL;
cleanup:
  free(name);
  return status;
}

/* cmean(x, g), cwc(x, g) or gmc(x) at the current token: a variable. */
static hlm_status parse_call(parser *p, int *v)
{
  hlm_status status = HLM_OK;
  const hlm_ftok *fn = cur(p);
  call_args a = {.kind = call_kind(p, fn)};
  const char *name = fn_name[a.kind];
  advance(p);
  const hlm_ftok *open = cur(p);
  advance(p);
  HLM_TRY(call_var(p, &a, false, &a.x));
  bool comma = cur(p)->kind == HLM_FTOK_COMMA;
  if (a.kind == HLM_FORMULA_GMC && comma) {
    HLM_TRY(perr(p, cur(p)->pos,
                 "`gmc()` takes one argument, like `gmc(x)`: it centers at "
                 "the mean over all rows"));
  }
  if (a.kind != HLM_FORMULA_GMC) {
    if (!comma && cur(p)->kind != HLM_FTOK_ERROR) {
      HLM_TRY(perr(p, cur(p)->pos,
                   "`%s()` takes two arguments, a numeric variable and a "
                   "grouping factor, like `%s(x, g)`",
                   name, name));
    }
    advance(p);
    HLM_TRY(call_group(p, &a));
  }
  HLM_TRY(expect_close(p, open, a.kind == HLM_FORMULA_GMC ? "" : "`:` or "));
  advance(p);
  HLM_TRY(intern_derived(p, &a, fn->pos, v));
cleanup:
  free(a.grp);
  return status;
}

static hlm_status parse_random(parser *p);

/* A random term where only fixed terms may stand; pos is its `(` or the
 * operator applied to it. */
static hlm_status random_misplaced(const parser *p, size_t pos)
{
  if (p->in_random > 0) {
    return perr(p, pos,
                "a random term cannot appear inside another random term");
  }
  if (p->part->deleting > 0) {
    return perr(p, pos, "a random term cannot be removed with `-`");
  }
  return perr(p, pos,
              "a random term `( ... | ... )` must be added to the formula "
              "with `+`: it cannot be combined with other operators or "
              "put inside parentheses");
}

static hlm_status parse_paren(parser *p, bool random_ok, hlm_ftl *out,
                              bool *is_random)
{
  hlm_status status = HLM_OK;
  const hlm_ftok *open = cur(p);
  if (open->bar >= 0) {
    if (!random_ok) {
      HLM_TRY(random_misplaced(p, open->pos));
    }
    *is_random = true;
    HLM_TRY(parse_random(p));
    goto cleanup;
  }
  p->depth++;
  advance(p);
  HLM_TRY(parse_sum(p, false, out));
  HLM_TRY(expect_close(p, open, "an operator or "));
  advance(p);
  p->depth--;
cleanup:
  return status;
}

static hlm_status parse_primary(parser *p, bool random_ok, hlm_ftl *out,
                                bool *is_random)
{
  hlm_status status = HLM_OK;
  const hlm_ftok *t = cur(p);
  int v;
  *is_random = false;
  switch (t->kind) {
  case HLM_FTOK_NAME:
    if (call_kind(p, t) != 0) {
      HLM_TRY(parse_call(p, &v));
    } else {
      HLM_TRY(rhs_var(p, t, &v));
      advance(p);
    }
    HLM_TRY(note_order(p, v));
    HLM_TRY(alg_error(p, hlm_ftl_add(out, &v, 1, &p->alg), t->pos));
    break;
  case HLM_FTOK_NUMBER:
    HLM_TRY(number_term(p, t));
    break;
  case HLM_FTOK_LPAREN:
    if (p->depth >= HLM_FORMULA_MAX_DEPTH) {
      HLM_TRY(perr(p, t->pos, "parentheses nested more than %d deep",
                   HLM_FORMULA_MAX_DEPTH));
    }
    HLM_TRY(parse_paren(p, random_ok, out, is_random));
    break;
  default:
    HLM_TRY(missing_term(p));
  }
cleanup:
  return status;
}

static hlm_status parse_power(parser *p, bool random_ok, hlm_ftl *out,
                              bool *is_random)
{
  hlm_status status = HLM_OK;
  hlm_ftl res = {0};
  HLM_TRY(parse_primary(p, random_ok, out, is_random));
  if (cur(p)->kind != HLM_FTOK_CARET) {
    goto cleanup;
  }
  size_t oppos = cur(p)->pos;
  if (*is_random) {
    HLM_TRY(random_misplaced(p, oppos));
  }
  advance(p);
  const hlm_ftok *t = cur(p);
  if (t->kind != HLM_FTOK_NUMBER) {
    HLM_TRY(
        perr(p, t->pos, "expected a whole number after `^`, like `(a + b)^2`"));
  }
  double k = t->value;
  int ik = k > HLM_FORMULA_MAX_TERMS ? HLM_FORMULA_MAX_TERMS : (int)k;
  if (!(k >= 1.0) || (k <= HLM_FORMULA_MAX_TERMS && (double)ik != k)) {
    HLM_TRY(perr(p, t->pos,
                 "the power after `^` must be a whole number "
                 ">= 1"));
  }
  advance(p);
  HLM_TRY(alg_error(p, hlm_ftl_power(out, ik, &res, &p->alg), oppos));
  hlm_ftl_free(out);
  *out = res;
  res = (hlm_ftl){0};
  if (cur(p)->kind == HLM_FTOK_CARET) {
    HLM_TRY(perr(p, cur(p)->pos, "a power cannot be raised to a power"));
  }
cleanup:
  hlm_ftl_free(&res);
  return status;
}

static hlm_falg_rc combine(hlm_ftok_kind op, const hlm_ftl *x, const hlm_ftl *y,
                           hlm_ftl *out, hlm_falg *a)
{
  switch (op) {
  case HLM_FTOK_STAR:
    return hlm_ftl_cross(x, y, out, a);
  case HLM_FTOK_SLASH:
    return hlm_ftl_nest(x, y, out, a);
  case HLM_FTOK_IN:
    return hlm_ftl_in(x, y, out, a);
  default:
    return hlm_ftl_interact(x, y, out, a);
  }
}

/* operand (op operand)*, left-associative, for op in {op1, op2}. */
static hlm_status parse_chain(parser *p, bool random_ok, hlm_ftl *out,
                              bool *is_random, operand_fn next,
                              hlm_ftok_kind op1, hlm_ftok_kind op2)
{
  hlm_status status = HLM_OK;
  hlm_ftl rhs = {0}, res = {0};
  HLM_TRY(next(p, random_ok, out, is_random));
  while (cur(p)->kind == op1 || cur(p)->kind == op2) {
    hlm_ftok_kind op = cur(p)->kind;
    size_t oppos = cur(p)->pos;
    bool rhs_random = false;
    if (*is_random) {
      HLM_TRY(random_misplaced(p, oppos));
    }
    advance(p);
    HLM_TRY(next(p, false, &rhs, &rhs_random));
    HLM_TRY(alg_error(p, combine(op, out, &rhs, &res, &p->alg), oppos));
    hlm_ftl_free(out);
    hlm_ftl_free(&rhs);
    *out = res;
    res = (hlm_ftl){0};
  }
cleanup:
  hlm_ftl_free(&rhs);
  hlm_ftl_free(&res);
  return status;
}

static hlm_status parse_colon(parser *p, bool random_ok, hlm_ftl *out,
                              bool *is_random)
{
  return parse_chain(p, random_ok, out, is_random, parse_power, HLM_FTOK_COLON,
                     HLM_FTOK_COLON);
}

static hlm_status parse_in(parser *p, bool random_ok, hlm_ftl *out,
                           bool *is_random)
{
  return parse_chain(p, random_ok, out, is_random, parse_colon, HLM_FTOK_IN,
                     HLM_FTOK_IN);
}

static hlm_status parse_product(parser *p, bool random_ok, hlm_ftl *out,
                                bool *is_random)
{
  return parse_chain(p, random_ok, out, is_random, parse_in, HLM_FTOK_STAR,
                     HLM_FTOK_SLASH);
}

static bool is_sign(const hlm_ftok *t)
{
  return t->kind == HLM_FTOK_PLUS || t->kind == HLM_FTOK_MINUS;
}

/* One signed operand of a sum: out += x, or out -= x with R's parity. */
static hlm_status parse_summand(parser *p, bool random_ok, bool minus,
                                size_t oppos, hlm_ftl *out)
{
  hlm_status status = HLM_OK;
  hlm_ftl x = {0};
  bool is_random = false;
  part *pt = p->part;
  if (minus) {
    pt->parity = !pt->parity;
    pt->deleting++;
  }
  status = parse_product(p, random_ok && !minus, &x, &is_random);
  if (minus) {
    pt->parity = !pt->parity;
    pt->deleting--;
  }
  if (status != HLM_OK) {
    hlm_error_trace(__FILE__, __LINE__, __func__);
    goto cleanup;
  }
  hlm_falg_rc rc = minus ? hlm_ftl_remove(out, &x, &p->alg)
                         : hlm_ftl_union(out, &x, &p->alg);
  HLM_TRY(alg_error(p, rc, oppos));
cleanup:
  hlm_ftl_free(&x);
  return status;
}

static hlm_status parse_sum(parser *p, bool random_ok, hlm_ftl *out)
{
  hlm_status status = HLM_OK;
  bool first = true;
  for (;;) {
    const hlm_ftok *t = cur(p);
    bool signed_ = is_sign(t);
    if (!signed_ && !first) {
      break;
    }
    bool minus = t->kind == HLM_FTOK_MINUS;
    size_t oppos = t->pos;
    if (signed_) {
      advance(p);
    }
    HLM_TRY(parse_summand(p, random_ok, minus, oppos, out));
    first = false;
  }
cleanup:
  return status;
}

/* ---- Random terms ---------------------------------------------------------
 */

/* A grouping factor: components separated by `/`, each variables joined
 * by `:`; comp[k] holds the variables of the k-th component. */
typedef struct group_spec {
  hlm_fterm *comp;
  int ncomp, cap;
} group_spec;

static void group_free(group_spec *g)
{
  for (int k = 0; k < g->ncomp; k++) {
    free(g->comp[k].v);
  }
  free(g->comp);
  memset(g, 0, sizeof *g);
}

static hlm_status group_push(group_spec *g, int k, int v)
{
  hlm_status status = HLM_OK;
  if (k == g->ncomp) {
    if (g->ncomp == g->cap) {
      int cap = g->cap ? 2 * g->cap : 4;
      hlm_fterm *c = realloc(g->comp, (size_t)cap * sizeof *c);
      HLM_CHECK(c != NULL, HLM_ERR_NOMEM, "out of memory parsing a formula");
      g->comp = c;
      g->cap = cap;
    }
    g->comp[g->ncomp++] = (hlm_fterm){0};
  }
  hlm_fterm *c = &g->comp[k];
  int *nv = realloc(c->v, (size_t)(c->n + 1) * sizeof *nv);
  HLM_CHECK(nv != NULL, HLM_ERR_NOMEM, "out of memory parsing a formula");
  c->v = nv;
  c->v[c->n++] = v;
cleanup:
  return status;
}

static hlm_status group_var(parser *p, group_spec *g, int k)
{
  hlm_status status = HLM_OK;
  const hlm_ftok *t = cur(p);
  const hlm_ftok *prev = &p->lex.tok[p->i - 1];
  int v;
  if (t->kind != HLM_FTOK_NAME) {
    if (t->kind == HLM_FTOK_ERROR) {
      HLM_TRY(perr(p, t->pos, "%s", p->lex.errmsg));
    }
    if (prev->kind == HLM_FTOK_BAR || prev->kind == HLM_FTOK_DBAR) {
      HLM_TRY(unexpected(p, "the grouping factor after `|`, like "
                            "`(1 | g)`"));
    }
    HLM_TRY(unexpected(p, "a variable of the grouping factor"));
  }
  HLM_TRY(rhs_var(p, t, &v));
  HLM_TRY(group_push(g, k, v));
  advance(p);
cleanup:
  return status;
}

static hlm_status parse_group(parser *p, const hlm_ftok *open, group_spec *g)
{
  hlm_status status = HLM_OK;
  int k = 0;
  HLM_TRY(group_var(p, g, k));
  for (;;) {
    hlm_ftok_kind kind = cur(p)->kind;
    if (kind == HLM_FTOK_SLASH) {
      k++;
    } else if (kind != HLM_FTOK_COLON) {
      break;
    }
    advance(p);
    HLM_TRY(group_var(p, g, k));
  }
  HLM_TRY(expect_close(p, open, "`:`, `/` or "));
  advance(p);
cleanup:
  return status;
}

/* Group variables for nesting level k of g: comp[k], comp[k-1], ...,
 * comp[0] (lme4's order: `a/b` gives b:a), repeats dropped.  The work is
 * charged to the expansion budget (`(1 | a/b/c/...)` is quadratic). */
static hlm_status group_level(parser *p, const group_spec *g, int k, size_t pos,
                              int **vars, int *n)
{
  hlm_status status = HLM_OK;
  int total = 0, m = 0;
  int *v = NULL;
  bool *seen = NULL;
  for (int j = 0; j <= k; j++) {
    total += g->comp[j].n;
  }
  p->alg.work_left -= total;
  if (p->alg.work_left < 0) {
    HLM_TRY(alg_error(p, HLM_FALG_TOO_COMPLEX, pos));
  }
  HLM_ALLOC(v, total);
  HLM_ALLOC(seen, p->out->nvars);
  for (int j = k; j >= 0; j--) {
    for (int i = 0; i < g->comp[j].n; i++) {
      int x = g->comp[j].v[i];
      if (!seen[x]) {
        seen[x] = true;
        v[m++] = x;
      }
    }
  }
  *vars = v;
  *n = m;
  v = NULL;
cleanup:
  free(v);
  free(seen);
  return status;
}

static hlm_status push_random(parser *p, hlm_frand *r)
{
  hlm_status status = HLM_OK;
  hlm_fparsed *o = p->out;
  if (o->nrand == o->caprand) {
    int cap = o->caprand ? 2 * o->caprand : 8;
    hlm_frand *nr = realloc(o->rand, (size_t)cap * sizeof *nr);
    HLM_CHECK(nr != NULL, HLM_ERR_NOMEM, "out of memory parsing a formula");
    o->rand = nr;
    o->caprand = cap;
  }
  o->rand[o->nrand++] = *r;
  *r = (hlm_frand){0};
cleanup:
  return status;
}

/* Add (effects | group) for every nesting level of g, innermost first. */
static hlm_status emit_bar(parser *p, bool intercept, const hlm_ftl *eff,
                           int first, int count, bool correlated,
                           const group_spec *g, size_t pos)
{
  hlm_status status = HLM_OK;
  hlm_frand r = {0};
  for (int k = g->ncomp - 1; k >= 0; k--) {
    if (p->out->nrand >= HLM_FORMULA_MAX_TERMS) {
      HLM_TRY(perr(p, pos, "the formula expands to more than %d random terms",
                   HLM_FORMULA_MAX_TERMS));
    }
    r = (hlm_frand){
        .intercept = intercept, .correlated = correlated, .pos = pos};
    for (int j = first; j < first + count; j++) {
      HLM_TRY(alg_error(
          p, hlm_ftl_add(&r.terms, eff->t[j].v, eff->t[j].n, &p->alg), pos));
    }
    HLM_TRY(group_level(p, g, k, pos, &r.group, &r.ngroup));
    HLM_TRY(push_random(p, &r));
  }
cleanup:
  hlm_ftl_free(&r.terms);
  free(r.group);
  return status;
}

/* lme4's expandDoubleVerts: (1 + x || g) is (1 | g) + (0 + x | g). */
static hlm_status emit_random(parser *p, bool intercept, const hlm_ftl *eff,
                              bool dbar, const group_spec *g, size_t pos)
{
  hlm_status status = HLM_OK;
  if (!dbar) {
    HLM_TRY(emit_bar(p, intercept, eff, 0, eff->n, true, g, pos));
    goto cleanup;
  }
  if (intercept) {
    HLM_TRY(emit_bar(p, true, eff, 0, 0, false, g, pos));
  }
  for (int j = 0; j < eff->n; j++) {
    HLM_TRY(emit_bar(p, false, eff, j, 1, false, g, pos));
  }
cleanup:
  return status;
}

/* The effects left of `|`: a separate terms() call. */
static hlm_status parse_effects(parser *p, part *lhs, hlm_ftl *eff)
{
  hlm_status status = HLM_OK;
  part *saved = p->part;
  p->part = lhs;
  p->in_random++;
  status = parse_sum(p, false, eff);
  p->in_random--;
  p->part = saved;
  if (status != HLM_OK) {
    hlm_error_trace(__FILE__, __LINE__, __func__);
    goto cleanup;
  }
  HLM_TRY(finish_part(p, lhs, eff));
cleanup:
  return status;
}

static hlm_status parse_random(parser *p)
{
  hlm_status status = HLM_OK;
  int open_index = p->i;
  const hlm_ftok *open = &p->lex.tok[open_index];
  part lhs = {.intercept = true, .parity = true};
  hlm_ftl eff = {0};
  group_spec g = {0};
  p->depth++;
  advance(p);
  HLM_TRY(parse_effects(p, &lhs, &eff));
  if (p->i != open->bar) {
    HLM_TRY(unexpected(p, "an operator or `|`"));
  }
  bool dbar = cur(p)->kind == HLM_FTOK_DBAR;
  advance(p);
  HLM_TRY(parse_group(p, open, &g));
  p->depth--;
  if (!lhs.intercept && eff.n == 0) {
    HLM_TRY(perr(p, open->pos,
                 "the random term has no effects: write `(1 | g)` for a "
                 "random intercept"));
  }
  HLM_TRY(emit_random(p, lhs.intercept, &eff, dbar, &g, open->pos));
cleanup:
  free(lhs.order);
  hlm_ftl_free(&eff);
  group_free(&g);
  return status;
}

/* ---- Whole formula ---------------------------------------------------------
 */

static bool has_tilde(const parser *p)
{
  for (int k = 0; k < p->lex.ntok; k++) {
    if (p->lex.tok[k].kind == HLM_FTOK_TILDE) {
      return true;
    }
  }
  return false;
}

static hlm_status parse_response(parser *p)
{
  hlm_status status = HLM_OK;
  const hlm_ftok *t = cur(p);
  switch (t->kind) {
  case HLM_FTOK_NAME:
    break;
  case HLM_FTOK_TILDE:
    HLM_TRY(perr(p, t->pos,
                 "missing response: write the response variable "
                 "before `~`, like `y ~ x`"));
    break;
  case HLM_FTOK_END:
    HLM_TRY(perr(p, t->pos,
                 "empty formula: expected a formula like "
                 "`y ~ x + (1 | g)`"));
    break;
  default:
    HLM_TRY(unexpected(p, "the response variable at the start of the "
                          "formula"));
  }
  HLM_TRY(check_name(p, t));
  HLM_TRY(intern_var(p, t, &p->out->response));
  advance(p);
  t = cur(p);
  if (t->kind == HLM_FTOK_TILDE) {
    advance(p);
  } else if (t->kind == HLM_FTOK_ERROR) {
    HLM_TRY(perr(p, t->pos, "%s", p->lex.errmsg));
  } else if (!has_tilde(p)) {
    HLM_TRY(perr(p, t->pos,
                 "missing `~` after the response: a formula "
                 "looks like `y ~ x + (1 | g)`"));
  } else {
    HLM_TRY(unexpected(p, "`~` after the response (the response must be "
                          "one variable)"));
  }
cleanup:
  return status;
}

static hlm_status check_end(const parser *p)
{
  const hlm_ftok *t = cur(p);
  switch (t->kind) {
  case HLM_FTOK_END:
    return HLM_OK;
  case HLM_FTOK_BAR:
  case HLM_FTOK_DBAR:
    return perr(p, t->pos,
                "`%s` outside parentheses: write random terms "
                "in parentheses, like `(1 | g)`",
                t->kind == HLM_FTOK_BAR ? "|" : "||");
  case HLM_FTOK_RPAREN:
    return perr(p, t->pos, "unmatched `)`");
  case HLM_FTOK_TILDE:
    return perr(p, t->pos, "a formula has only one `~`");
  default:
    return unexpected(p, "an operator such as `+`, or the end of the "
                         "formula");
  }
}

hlm_status hlm_fparse_run(const char *text, hlm_fparsed *out)
{
  hlm_status status = HLM_OK;
  part fixed = {.intercept = true, .parity = true};
  parser p = {.text = text, .out = out, .part = &fixed};
  memset(out, 0, sizeof *out);
  p.alg.work_left = HLM_FALG_WORK;
  HLM_TRY(hlm_flex_run(text, &p.lex));
  HLM_TRY(parse_response(&p));
  HLM_TRY(parse_sum(&p, true, &out->fixed));
  HLM_TRY(check_end(&p));
  HLM_TRY(finish_part(&p, &fixed, &out->fixed));
  out->intercept = fixed.intercept;
cleanup:
  free(fixed.order);
  free(p.vslot);
  hlm_falg_free(&p.alg);
  hlm_flex_free(&p.lex);
  if (status != HLM_OK) {
    hlm_fparsed_free(out);
  }
  return status;
}

void hlm_fparsed_free(hlm_fparsed *p)
{
  for (int k = 0; k < p->nrand; k++) {
    hlm_ftl_free(&p->rand[k].terms);
    free(p->rand[k].group);
  }
  free(p->rand);
  for (int k = 0; k < p->nvars; k++) {
    free(p->vars[k].own);
    free(p->vars[k].grp);
  }
  free(p->vars);
  hlm_ftl_free(&p->fixed);
  memset(p, 0, sizeof *p);
}
