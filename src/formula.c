/* formula.c: the public formula object: built from the parser's output,
 * read through accessors, printed back in canonical lme4 form. */
#include "formula_internal.h"

#include <stdlib.h>
#include <string.h>

struct hlm_formula {
  char *text;
  bool intercept;
  hlm_formula_var *vars;
  int nvars;
  hlm_formula_term *fixed;
  int nfixed;
  hlm_formula_random *random;
  int nrandom;
};

/* ---- Building --------------------------------------------------------- */

typedef struct builder {
  const hlm_fparsed *in;
  hlm_formula *f;
  unsigned *roles; /* per parser variable */
  int *map;        /* parser variable -> index in f->vars, or -1 */
  hlm_fpos at;     /* position cursor (offsets mostly increase) */
} builder;

static void mark_term(builder *b, const int *v, int n, unsigned role)
{
  for (int k = 0; k < n; k++) {
    b->roles[v[k]] |= role;
  }
}

static void mark_roles(builder *b)
{
  const hlm_fparsed *in = b->in;
  b->roles[in->response] |= HLM_FORMULA_ROLE_RESPONSE;
  for (int i = 0; i < in->fixed.n; i++) {
    mark_term(b, in->fixed.t[i].v, in->fixed.t[i].n, HLM_FORMULA_ROLE_FIXED);
  }
  for (int r = 0; r < in->nrand; r++) {
    const hlm_frand *fr = &in->rand[r];
    for (int i = 0; i < fr->terms.n; i++) {
      mark_term(b, fr->terms.t[i].v, fr->terms.t[i].n, HLM_FORMULA_ROLE_RANDOM);
    }
    mark_term(b, fr->group, fr->ngroup, HLM_FORMULA_ROLE_GROUPING);
  }
  /* the arguments of the derived variables in use (never derived
   * themselves, so one pass is enough) */
  for (int v = 0; v < in->nvars; v++) {
    if (in->vars[v].fn != HLM_FORMULA_COLUMN && b->roles[v] != 0) {
      mark_term(b, &in->vars[v].arg, 1, HLM_FORMULA_ROLE_SOURCE);
      mark_term(b, in->vars[v].grp, in->vars[v].ngrp, HLM_FORMULA_ROLE_SOURCE);
    }
  }
}

static hlm_status add_var(builder *b, int pv)
{
  hlm_status status = HLM_OK;
  hlm_formula *f = b->f;
  const hlm_fvar *src = &b->in->vars[pv];
  char *name = NULL;
  HLM_ALLOC(name, src->n + 1);
  memcpy(name, src->s, src->n);
  hlm_formula_var *dst = &f->vars[f->nvars];
  *dst = (hlm_formula_var){.name = name,
                           .roles = b->roles[pv],
                           .offset = src->pos,
                           .derived = (hlm_formula_derived)src->fn,
                           .source = -1};
  hlm_formula_seek(f->text, &b->at, src->pos);
  dst->line = b->at.line;
  dst->column = b->at.column;
  b->map[pv] = f->nvars++;
cleanup:
  return status;
}

/* The used variables: the response first, then first-appearance order. */
static hlm_status build_vars(builder *b)
{
  hlm_status status = HLM_OK;
  int n = b->in->nvars;
  HLM_ALLOC(b->f->vars, n);
  HLM_TRY(add_var(b, b->in->response));
  for (int pv = 0; pv < n; pv++) {
    if (b->roles[pv] != 0 && pv != b->in->response) {
      HLM_TRY(add_var(b, pv));
    }
  }
cleanup:
  return status;
}

static hlm_status build_term(builder *b, const int *v, int n,
                             hlm_formula_term *out)
{
  hlm_status status = HLM_OK;
  int *var = NULL;
  const char **name = NULL;
  HLM_ALLOC(var, n);
  HLM_ALLOC(name, n);
  for (int k = 0; k < n; k++) {
    var[k] = b->map[v[k]];
    name[k] = b->f->vars[var[k]].name;
  }
  *out = (hlm_formula_term){.nvars = n, .var = var, .name = name};
  var = NULL;
  name = NULL;
cleanup:
  free(var);
  free(name);
  return status;
}

/* The arguments of the derived variables (after build_vars: every
 * argument has its index by then). */
static hlm_status build_derived(builder *b)
{
  hlm_status status = HLM_OK;
  for (int pv = 0; pv < b->in->nvars; pv++) {
    const hlm_fvar *src = &b->in->vars[pv];
    if (b->map[pv] < 0 || src->fn == HLM_FORMULA_COLUMN) {
      continue;
    }
    hlm_formula_var *dst = &b->f->vars[b->map[pv]];
    dst->source = b->map[src->arg];
    if (src->ngrp > 0) {
      HLM_TRY(build_term(b, src->grp, src->ngrp, &dst->by));
    }
  }
cleanup:
  return status;
}

static hlm_status build_list(builder *b, const hlm_ftl *l,
                             hlm_formula_term **out, int *nout)
{
  hlm_status status = HLM_OK;
  HLM_ALLOC(*out, l->n);
  for (int i = 0; i < l->n; i++) {
    HLM_TRY(build_term(b, l->t[i].v, l->t[i].n, &(*out)[i]));
    *nout = i + 1;
  }
cleanup:
  return status;
}

static hlm_status build_random(builder *b)
{
  hlm_status status = HLM_OK;
  hlm_formula *f = b->f;
  HLM_ALLOC(f->random, b->in->nrand);
  for (int r = 0; r < b->in->nrand; r++) {
    const hlm_frand *src = &b->in->rand[r];
    hlm_formula_random *dst = &f->random[r];
    f->nrandom = r + 1;
    dst->intercept = src->intercept;
    dst->correlated = src->correlated;
    dst->offset = src->pos;
    hlm_formula_seek(f->text, &b->at, src->pos);
    dst->line = b->at.line;
    dst->column = b->at.column;
    hlm_formula_term *terms = NULL;
    status = build_list(b, &src->terms, &terms, &dst->nterms);
    dst->term = terms;
    if (status != HLM_OK) {
      hlm_error_trace(__FILE__, __LINE__, __func__);
      goto cleanup;
    }
    HLM_TRY(build_term(b, src->group, src->ngroup, &dst->group));
  }
cleanup:
  return status;
}

static hlm_status build(const hlm_fparsed *in, hlm_formula *f)
{
  hlm_status status = HLM_OK;
  builder b = {.in = in, .f = f};
  HLM_ALLOC(b.roles, in->nvars);
  HLM_ALLOC(b.map, in->nvars);
  for (int k = 0; k < in->nvars; k++) {
    b.map[k] = -1;
  }
  mark_roles(&b);
  HLM_TRY(build_vars(&b));
  HLM_TRY(build_derived(&b));
  f->intercept = in->intercept;
  HLM_TRY(build_list(&b, &in->fixed, &f->fixed, &f->nfixed));
  HLM_TRY(build_random(&b));
cleanup:
  free(b.roles);
  free(b.map);
  return status;
}

hlm_status hlm_formula_parse(const char *text, hlm_formula **out)
{
  hlm_status status = HLM_OK;
  hlm_formula *f = NULL;
  hlm_fparsed parsed = {0};
  HLM_CHECK(out != NULL, HLM_ERR_INVALID_ARG, "hlm_formula_parse: out is NULL");
  *out = NULL;
  HLM_CHECK(text != NULL, HLM_ERR_INVALID_ARG,
            "hlm_formula_parse: text is NULL");
  HLM_ALLOC(f, 1);
  size_t len = strlen(text);
  HLM_ALLOC(f->text, len + 1);
  memcpy(f->text, text, len + 1);
  HLM_TRY(hlm_fparse_run(f->text, &parsed));
  HLM_TRY(build(&parsed, f));
  *out = f;
  f = NULL;
cleanup:
  hlm_fparsed_free(&parsed);
  hlm_formula_destroy(&f);
  return status;
}

static void term_free(hlm_formula_term *t)
{
  free((void *)t->var);
  free((void *)t->name);
}

void hlm_formula_destroy(hlm_formula **pf)
{
  if (pf == NULL || *pf == NULL) {
    return;
  }
  hlm_formula *f = *pf;
  for (int i = 0; i < f->nfixed; i++) {
    term_free(&f->fixed[i]);
  }
  free(f->fixed);
  for (int r = 0; r < f->nrandom; r++) {
    hlm_formula_random *rt = &f->random[r];
    for (int i = 0; i < rt->nterms; i++) {
      term_free((hlm_formula_term *)&rt->term[i]);
    }
    free((void *)rt->term);
    term_free(&rt->group);
  }
  free(f->random);
  for (int k = 0; k < f->nvars; k++) {
    free((void *)f->vars[k].name);
    term_free(&f->vars[k].by);
  }
  free(f->vars);
  free(f->text);
  free(f);
  *pf = NULL;
}

/* ---- Accessors -------------------------------------------------------- */

const char *hlm_formula_text(const hlm_formula *f)
{
  return f->text;
}

const char *hlm_formula_response(const hlm_formula *f)
{
  return f->vars[0].name;
}

bool hlm_formula_has_intercept(const hlm_formula *f)
{
  return f->intercept;
}

int hlm_formula_fixed_count(const hlm_formula *f)
{
  return f->nfixed;
}

const hlm_formula_term *hlm_formula_fixed_term(const hlm_formula *f, int i)
{
  return i >= 0 && i < f->nfixed ? &f->fixed[i] : NULL;
}

int hlm_formula_random_count(const hlm_formula *f)
{
  return f->nrandom;
}

const hlm_formula_random *hlm_formula_random_term(const hlm_formula *f, int i)
{
  return i >= 0 && i < f->nrandom ? &f->random[i] : NULL;
}

int hlm_formula_var_count(const hlm_formula *f)
{
  return f->nvars;
}

const hlm_formula_var *hlm_formula_variable(const hlm_formula *f, int i)
{
  return i >= 0 && i < f->nvars ? &f->vars[i] : NULL;
}

int hlm_formula_var_find(const hlm_formula *f, const char *name)
{
  for (int k = 0; k < f->nvars; k++) {
    if (strcmp(f->vars[k].name, name) == 0) {
      return k;
    }
  }
  return -1;
}

hlm_status hlm_formula_error_at(const hlm_formula *f, size_t offset,
                                hlm_status code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  hlm_status status = hlm_formula_vreport(f->text, offset, code, fmt, ap);
  va_end(ap);
  return status;
}

/* ---- Canonical text ----------------------------------------------------- */

typedef struct writer {
  char *buf;
  size_t len, n;
} writer;

static void put(writer *w, const char *s)
{
  for (; *s; s++, w->n++) {
    if (w->n + 1 < w->len) {
      w->buf[w->n] = *s;
    }
  }
}

static void finish(writer *w)
{
  if (w->len > 0) {
    w->buf[w->n < w->len ? w->n : w->len - 1] = '\0';
  }
}

/* A name, in backquotes unless it is a syntactic R name or the canonical
 * text of a derived variable (raw). */
static void put_name(writer *w, const char *name, bool raw)
{
  bool plain = raw || hlm_formula_is_plain_name(name, strlen(name));
  put(w, plain ? "" : "`");
  put(w, name);
  put(w, plain ? "" : "`");
}

/* Variables joined by `:`.  Without the formula (f NULL), a name shaped
 * like a derived variable's is taken for one. */
static void put_term(writer *w, const hlm_formula *f, const hlm_formula_term *t)
{
  for (int k = 0; k < t->nvars; k++) {
    bool raw = f ? f->vars[t->var[k]].derived != HLM_FORMULA_COLUMN
                 : hlm_formula_is_derived_name(t->name[k]);
    put(w, k ? ":" : "");
    put_name(w, t->name[k], raw);
  }
}

static void put_random(writer *w, const hlm_formula *f,
                       const hlm_formula_random *r)
{
  put(w, r->intercept ? "(1" : "(0");
  for (int i = 0; i < r->nterms; i++) {
    put(w, " + ");
    put_term(w, f, &r->term[i]);
  }
  put(w, " | ");
  put_term(w, f, &r->group);
  put(w, ")");
}

size_t hlm_formula_format(const hlm_formula *f, char *buf, size_t len)
{
  writer w = {.buf = buf, .len = buf ? len : 0, .n = 0};
  put_name(&w, hlm_formula_response(f), false);
  put(&w, " ~ ");
  bool first = true;
  if (!f->intercept || f->nfixed == 0) {
    put(&w, f->intercept ? "1" : "0");
    first = false;
  }
  for (int i = 0; i < f->nfixed; i++, first = false) {
    put(&w, first ? "" : " + ");
    put_term(&w, f, &f->fixed[i]);
  }
  for (int r = 0; r < f->nrandom; r++) {
    put(&w, " + ");
    put_random(&w, f, &f->random[r]);
  }
  finish(&w);
  return w.n;
}

size_t hlm_formula_term_format(const hlm_formula_term *t, char *buf, size_t len)
{
  writer w = {.buf = buf, .len = buf ? len : 0, .n = 0};
  put_term(&w, NULL, t);
  finish(&w);
  return w.n;
}

hlm_status hlm_formula_print(const hlm_formula *f, FILE *out)
{
  hlm_status status = HLM_OK;
  char *text = NULL;
  size_t n = hlm_formula_format(f, NULL, 0);
  HLM_ALLOC(text, n + 1);
  hlm_formula_format(f, text, n + 1);
  HLM_CHECK(fputs(text, out) >= 0 && fputc('\n', out) != EOF, HLM_ERR_IO,
            "cannot write the formula");
cleanup:
  free(text);
  return status;
}
