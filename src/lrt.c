/* lrt.c: likelihood-ratio tests of nested models (hlm/lrt.h,
 * docs/inference.md). */
#include "hlm/lrt.h"

#include <ctype.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hlm/comm.h"

struct hlm_lrt {
  int n, cap;
  hlm_lrt_test *t;
  char **text;      /* 3 per test: name, formula 0, formula 1 */
  char (*ref)[128]; /* the reference distribution of each test */
};

/* Append snprintf-style to a growing string. */
static hlm_status append(char **s, size_t *len, const char *add)
{
  hlm_status status = HLM_OK;
  size_t n = strlen(add);
  char *p = realloc(*s, *len + n + 1);
  HLM_CHECK(p != NULL, HLM_ERR_NOMEM, "out of memory");
  memcpy(p + *len, add, n + 1);
  *s = p;
  *len += n;
cleanup:
  return status;
}

/* Random term r as "(1 + Days | Subject)". */
static void random_text(const hlm_formula_random *r, char *buf, size_t len)
{
  size_t u = (size_t)snprintf(buf, len, "(%s", r->intercept ? "1" : "0");
  for (int k = 0; k < r->nterms && u < len; k++) {
    u += (size_t)snprintf(buf + u, len - u, " + ");
    u += hlm_formula_term_format(&r->term[k], buf + u, u < len ? len - u : 0);
  }
  if (u < len) {
    u += (size_t)snprintf(buf + u, len - u, " | ");
  }
  if (u < len) {
    u += hlm_formula_term_format(&r->group, buf + u, len - u);
  }
  if (u < len) {
    snprintf(buf + u, len - u, ")");
  }
}

/* a and b equal when spaces are ignored. */
static int same_text(const char *a, const char *b)
{
  for (;;) {
    while (isspace((unsigned char)*a)) {
      a++;
    }
    while (isspace((unsigned char)*b)) {
      b++;
    }
    if (*a != *b) {
      return 0;
    }
    if (*a == '\0') {
      return 1;
    }
    a++;
    b++;
  }
}

/* Does the term (fixed term i, or random term i - nfixed) match `drop`?
 * A random term matches as written "(1 | g)" or by its grouping factor. */
static int term_matches(const hlm_formula *f, int i, const char *drop)
{
  char buf[1024];
  int nf = hlm_formula_fixed_count(f);
  if (i < nf) {
    hlm_formula_term_format(hlm_formula_fixed_term(f, i), buf, sizeof buf);
    return same_text(buf, drop);
  }
  const hlm_formula_random *r = hlm_formula_random_term(f, i - nf);
  random_text(r, buf, sizeof buf);
  if (same_text(buf, drop)) {
    return 1;
  }
  hlm_formula_term_format(&r->group, buf, sizeof buf);
  return same_text(buf, drop);
}

/* The formula of f without the terms that match `drop`. */
static hlm_status drop_formula(const hlm_config *cfg, const hlm_config_lrt *c,
                               const hlm_formula *f, char **out)
{
  hlm_status status = HLM_OK;
  char buf[1024];
  size_t len = 0;
  int nf = hlm_formula_fixed_count(f), nr = hlm_formula_random_count(f);
  int dropped = 0, kept_random = 0;
  *out = NULL;
  HLM_TRY(append(out, &len, hlm_formula_response(f)));
  HLM_TRY(append(out, &len, hlm_formula_has_intercept(f) ? " ~ 1" : " ~ 0"));
  for (int i = 0; i < nf + nr; i++) {
    if (term_matches(f, i, c->drop)) {
      dropped++;
      continue;
    }
    if (i < nf) {
      hlm_formula_term_format(hlm_formula_fixed_term(f, i), buf, sizeof buf);
    } else {
      random_text(hlm_formula_random_term(f, i - nf), buf, sizeof buf);
      kept_random++;
    }
    HLM_TRY(append(out, &len, " + "));
    HLM_TRY(append(out, &len, buf));
  }
  HLM_CHECK(dropped > 0, HLM_ERR_CONFIG,
            "%s:%d:%d: [[lrt]] \"%s\": `drop = \"%s\"` is not a term of the "
            "model %s (write a fixed term as R labels it, e.g. \"nitro:Variety"
            "\", a random term as \"(1 | g)\", or a grouping factor)",
            cfg->path, c->line, c->column, c->name, c->drop, cfg->formula);
  HLM_CHECK(kept_random > 0, HLM_ERR_CONFIG,
            "%s:%d:%d: [[lrt]] \"%s\": without `%s` the model has no random "
            "term; a test against a model without random effects (lm) is not "
            "supported",
            cfg->path, c->line, c->column, c->name, c->drop);
cleanup:
  return status;
}

/* One fitted model of a test. */
typedef struct model {
  hlm_formula *f;
  hlm_design *d;
  hlm_fit *fit;
} model;

static void model_free(model *m)
{
  hlm_fit_destroy(&m->fit);
  hlm_design_destroy(&m->d);
  hlm_formula_destroy(&m->f);
}

/* Collective.  Parse and build the design of `text` (no fit yet). */
static hlm_status model_design(MPI_Comm comm, const hlm_config *cfg,
                               const hlm_config_lrt *c, const char *text,
                               const hlm_table *t, const hlm_clusters *cl,
                               const hlm_design_options *dopt, model *m)
{
  hlm_status status = hlm_formula_parse(text, &m->f);
  if (status == HLM_OK) {
    status = hlm_design_create_opt(comm, m->f, t, cl, dopt, &m->d);
    if (status == HLM_OK) {
      hlm_design_set_scalapack_threshold(m->d, cfg->scalapack_threshold);
    }
  } else {
    status = hlm_comm_agree(comm, status, "lrt formula", NULL);
  }
  if (status != HLM_OK && status != HLM_ERR_NOMEM) {
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", hlm_error_message());
    status = HLM_ERROR(HLM_ERR_CONFIG,
                       "%s:%d:%d: [[lrt]] \"%s\": the model %s cannot be "
                       "built (it may use only the variables of [model] "
                       "formula): %s",
                       cfg->path, c->line, c->column, c->name, text, msg);
  }
  return status;
}

/* Is every column of fixed effects and every random term of a in b? */
static int nested_in(const hlm_design *a, const hlm_design *b)
{
  for (int j = 0; j < hlm_design_nfixed(a); j++) {
    int found = 0;
    for (int i = 0; i < hlm_design_nfixed(b) && !found; i++) {
      found = !strcmp(hlm_design_fixed_name(a, j), hlm_design_fixed_name(b, i));
    }
    if (!found) {
      return 0;
    }
  }
  for (int r = 0; r < hlm_design_nterms(a); r++) {
    int found = 0;
    for (int s = 0; s < hlm_design_nterms(b) && !found; s++) {
      found = !strcmp(hlm_design_term_group(a, r), hlm_design_term_group(b, s));
      for (int k = 0; found && k < hlm_design_term_ncols(a, r); k++) {
        int in = 0;
        for (int l = 0; l < hlm_design_term_ncols(b, s); l++) {
          in |= !strcmp(hlm_design_term_colname(a, r, k),
                        hlm_design_term_colname(b, s, l));
        }
        found = in;
      }
    }
    if (!found) {
      return 0;
    }
  }
  return 1;
}

static int npar_of(const hlm_design *d)
{
  return hlm_design_nfixed(d) + hlm_design_ntheta(d) + !hlm_design_known_sd(d);
}

/* The boundary mixture of a random-only difference: k when the larger
 * model adds one variance (k = 0) or one correlated effect to a term of k
 * effects; -1 otherwise. */
static int boundary_k(const hlm_design *d0, const hlm_design *d1, int df)
{
  int n0 = hlm_design_nterms(d0), n1 = hlm_design_nterms(d1);
  if (n1 == n0 + 1 && df == 1) {
    return 0;
  }
  if (n1 != n0) {
    return -1;
  }
  int k = -1, ndiff = 0;
  for (int r = 0; r < n0; r++) {
    int k0 = hlm_design_term_ncols(d0, r), k1 = hlm_design_term_ncols(d1, r);
    if (k0 != k1 ||
        strcmp(hlm_design_term_group(d0, r), hlm_design_term_group(d1, r))) {
      ndiff++;
      k = k1 == k0 + 1 && df == k1 ? k0 : -1;
    }
  }
  return ndiff == 1 ? k : -1;
}

/* Local.  The text of test i (name, formulas) owned by l. */
static hlm_status keep_text(hlm_lrt *l, int i, const char *name, const char *f0,
                            const char *f1)
{
  hlm_status status = HLM_OK;
  const char *src[3] = {name, f0, f1};
  for (int k = 0; k < 3; k++) {
    HLM_ALLOC(l->text[3 * i + k], strlen(src[k]) + 1);
    strcpy(l->text[3 * i + k], src[k]);
  }
  l->t[i].name = l->text[3 * i];
  l->t[i].m0.formula = l->text[3 * i + 1];
  l->t[i].m1.formula = l->text[3 * i + 2];
cleanup:
  return status;
}

static void fill_model(const hlm_fit *f, hlm_lrt_model *m)
{
  m->npar = hlm_fit_npar(f);
  m->aic = hlm_fit_aic(f);
  m->bic = hlm_fit_bic(f);
  m->loglik = hlm_fit_loglik(f);
  m->deviance = hlm_fit_criterion(f);
}

static double chisq_q(int k, double x)
{
  return k == 0 ? (x > 0 ? 0.0 : 1.0) : gsl_cdf_chisq_Q(x > 0 ? x : 0, k);
}

/* Statistic, p-values and the reference distribution of test i. */
static void finish_test(hlm_lrt *l, int i, const hlm_design *d0,
                        const hlm_design *d1, int fixed_differ)
{
  hlm_lrt_test *t = &l->t[i];
  t->chisq = t->m0.deviance - t->m1.deviance;
  t->df = t->m1.npar - t->m0.npar;
  t->p_chisq = chisq_q(t->df, t->chisq);
  t->mix = fixed_differ ? -1 : boundary_k(d0, d1, t->df);
  char *ref = l->ref[i];
  if (t->mix >= 0) {
    t->p =
        0.5 * chisq_q(t->mix, t->chisq) + 0.5 * chisq_q(t->mix + 1, t->chisq);
    snprintf(ref, 128,
             "50:50 mixture of chi-square(%d) and chi-square(%d) (variance "
             "on the boundary)",
             t->mix, t->mix + 1);
  } else {
    t->p = t->p_chisq;
    snprintf(ref, 128, "chi-square(%d)%s", t->df,
             fixed_differ ? "" : " (conservative: variances on the boundary)");
  }
  t->reference = ref;
}

/* Collective.  Fit m0 and m1 by REML (reml) or ML. */
static hlm_status fit_pair(MPI_Comm comm, model *m0, model *m1,
                           const hlm_fit_options *fo, int reml)
{
  hlm_status status = HLM_OK;
  hlm_fit_options o = *fo;
  o.reml = reml;
  o.theta0 = NULL;
  HLM_TRY(hlm_fit_run(comm, m0->d, &o, &m0->fit));
  HLM_TRY(hlm_fit_run(comm, m1->d, &o, &m1->fit));
cleanup:
  return status;
}

/* Collective.  Test c: the other model against the main one (main). */
static hlm_status one_test(MPI_Comm comm, const hlm_config *cfg,
                           const hlm_config_lrt *c, const hlm_formula *f,
                           const hlm_table *t, const hlm_clusters *cl,
                           const hlm_design_options *dopt,
                           const hlm_fit_options *fo, hlm_lrt *l, int i)
{
  hlm_status status = HLM_OK;
  model main = {0}, other = {0}, *m0 = &other, *m1 = &main;
  char *text = NULL;
  if (c->drop) {
    HLM_TRY(hlm_comm_agree(comm, drop_formula(cfg, c, f, &text), "lrt", NULL));
  }
  HLM_TRY(model_design(comm, cfg, c, hlm_formula_text(f), t, cl, dopt, &main));
  HLM_TRY(model_design(comm, cfg, c, text ? text : c->formula, t, cl, dopt,
                       &other));
  if (!nested_in(other.d, main.d)) {
    m0 = &main;
    m1 = &other;
  }
  HLM_CHECK(nested_in(m0->d, m1->d) && npar_of(m0->d) < npar_of(m1->d),
            HLM_ERR_CONFIG,
            "%s:%d:%d: [[lrt]] \"%s\": the models %s and %s are not nested "
            "(the smaller model's fixed-effect columns and random terms must "
            "be among the larger one's, with fewer parameters)",
            cfg->path, c->line, c->column, c->name, hlm_formula_text(f),
            hlm_formula_text(other.f));
  int fixed_differ = hlm_design_nfixed(m0->d) != hlm_design_nfixed(m1->d);
  l->t[i].reml = !fixed_differ && cfg->method == HLM_METHOD_REML;
  HLM_TRY(fit_pair(comm, m0, m1, fo, l->t[i].reml));
  HLM_TRY(keep_text(l, i, c->name, hlm_formula_text(m0->f),
                    hlm_formula_text(m1->f)));
  fill_model(m0->fit, &l->t[i].m0);
  fill_model(m1->fit, &l->t[i].m1);
  finish_test(l, i, m0->d, m1->d, fixed_differ);
cleanup:
  free(text);
  model_free(&main);
  model_free(&other);
  return status;
}

hlm_status hlm_lrt_run(MPI_Comm comm, const hlm_config *cfg,
                       const hlm_formula *f, const hlm_table *t,
                       const hlm_clusters *cl, const hlm_design_options *dopt,
                       const hlm_fit_options *fo, hlm_lrt **out)
{
  hlm_status status = HLM_OK;
  hlm_lrt *l = NULL;
  *out = NULL;
  HLM_ALLOC(l, 1);
  l->cap = cfg->nlrt > 0 ? cfg->nlrt : 1;
  HLM_ALLOC(l->t, cfg->nlrt > 0 ? cfg->nlrt : 1);
  HLM_ALLOC(l->text, 3 * (cfg->nlrt > 0 ? cfg->nlrt : 1));
  HLM_ALLOC(l->ref, cfg->nlrt > 0 ? cfg->nlrt : 1);
  for (int i = 0; i < cfg->nlrt; i++) {
    HLM_TRY(one_test(comm, cfg, &cfg->lrt[i], f, t, cl, dopt, fo, l, i));
    l->n = i + 1;
  }
  *out = l;
  l = NULL;
cleanup:
  hlm_lrt_destroy(&l);
  return status;
}

void hlm_lrt_destroy(hlm_lrt **l)
{
  if (l == NULL || *l == NULL) {
    return;
  }
  for (int i = 0; (*l)->text && i < 3 * (*l)->cap; i++) {
    free((*l)->text[i]);
  }
  free((*l)->text);
  free((*l)->t);
  free((*l)->ref);
  free(*l);
  *l = NULL;
}

int hlm_lrt_count(const hlm_lrt *l)
{
  return l->n;
}

const hlm_lrt_test *hlm_lrt_get(const hlm_lrt *l, int i)
{
  return i >= 0 && i < l->n ? &l->t[i] : NULL;
}
