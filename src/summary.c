/* summary.c: the text summary (laid out like lme4's summary()) and the JSON
 * summary (docs/results-json.md) of a fit.  Rank 0 calls these. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fit_internal.h"
#include "hlm/version.h"

static int max_int(int a, int b)
{
  return a > b ? a : b;
}

static void print_header(const hlm_fit *f, FILE *out)
{
  if (f->reml) {
    fprintf(out, "Linear mixed model fit by REML ['lmerMod']\n");
  } else {
    fprintf(out, "Linear mixed model fit by maximum likelihood  ['lmerMod']\n");
  }
  fprintf(out, "Formula: %s\n\n", f->formula);
  if (f->reml) {
    fprintf(out, "REML criterion at convergence: %.1f\n\n", f->crit);
    return;
  }
  fprintf(out, "%9s %9s %9s %9s %9s\n", "AIC", "BIC", "logLik", "deviance",
          "df.resid");
  fprintf(out, "%9.1f %9.1f %9.1f %9.1f %9" PRId64 "\n\n", f->aic, f->bic,
          f->loglik, f->crit, f->nobs - f->npar);
}

/* Correlation of columns a and b of term r (a > b), from f->vc. */
static double term_corr(const hlm_fit *f, int r, int a, int b)
{
  for (int i = 0; i < f->nvc; i++) {
    const hlm_varcorr *v = &f->vc[i];
    if (v->grp == f->term[r].vcgroup && v->var2 &&
        v->var1 == f->term[r].colname[b] && v->var2 == f->term[r].colname[a]) {
      return v->sdcor;
    }
  }
  return NAN;
}

static const hlm_varcorr *term_var(const hlm_fit *f, int r, int a)
{
  for (int i = 0; i < f->nvc; i++) {
    const hlm_varcorr *v = &f->vc[i];
    if (v->grp == f->term[r].vcgroup && !v->var2 &&
        v->var1 == f->term[r].colname[a]) {
      return v;
    }
  }
  return NULL;
}

static void print_random(const hlm_fit *f, FILE *out)
{
  int wg = 8, wn = 4, corr = 0;
  for (int r = 0; r < f->nterms; r++) {
    wg = max_int(wg, (int)strlen(f->term[r].vcgroup));
    corr |= f->term[r].k > 1;
    for (int k = 0; k < f->term[r].k; k++) {
      wn = max_int(wn, (int)strlen(f->term[r].colname[k]));
    }
  }
  fprintf(out, "Random effects:\n %-*s %-*s %10s %10s%s\n", wg, "Groups", wn,
          "Name", "Variance", "Std.Dev.", corr ? " Corr" : "");
  for (int r = 0; r < f->nterms; r++) {
    for (int a = 0; a < f->term[r].k; a++) {
      const hlm_varcorr *v = term_var(f, r, a);
      fprintf(out, " %-*s %-*s %10.4g %10.4g", wg,
              a == 0 ? f->term[r].vcgroup : "", wn, f->term[r].colname[a],
              v ? v->vcov : NAN, v ? v->sdcor : NAN);
      for (int b = 0; b < a; b++) {
        fprintf(out, " %5.2f", term_corr(f, r, a, b));
      }
      fprintf(out, "\n");
    }
  }
  if (f->known_sd) {
    fprintf(out, " %-*s %-*s %21s\n", wg, "Residual", wn, "",
            "known (per-row SDs)");
  } else {
    fprintf(out, " %-*s %-*s %10.4g %10.4g\n", wg, "Residual", wn, "",
            f->sigma * f->sigma, f->sigma);
  }
  fprintf(out, "Number of obs: %" PRId64 ", groups:  ", f->nobs);
  for (int g = 0; g < f->ngroups; g++) {
    fprintf(out, "%s%s, %" PRId64, g ? "; " : "", f->group_name[g],
            f->group_nlev[g]);
  }
  fprintf(out, "\n\n");
}

/* Whether every ':'-separated variable of grouping factor b is one of a's
 * ("batch" is within "cask:batch"): a level of a then lies in one level of
 * b, by the formula (factors nested only in the data are not seen). */
static int group_within(const char *a, const char *b)
{
  for (const char *p = b; *p;) {
    size_t n = strcspn(p, ":");
    int found = 0;
    for (const char *q = a; *q && !found;) {
      size_t m = strcspn(q, ":");
      found = m == n && !strncmp(p, q, n);
      q += m + (q[m] == ':');
    }
    if (!found) {
      return 0;
    }
    p += n + (p[n] == ':');
  }
  return 1;
}

/* The intraclass correlations of a random-intercept model (every term
 * `(1 | g)`, sigma estimated): icc[r] = var_r / (sum_s var_s + sigma^2),
 * and cum[r] = the same with the variances of every term whose grouping
 * factor contains r's (Stata's estat icc for nested levels: two rows that
 * share r's level share those too).  Returns 0 (nothing filled) for other
 * models.  icc and cum have f->nterms entries. */
static int fit_icc(const hlm_fit *f, double *icc, double *cum)
{
  double total = f->sigma * f->sigma;
  if (f->known_sd || f->nterms < 1) {
    return 0;
  }
  for (int r = 0; r < f->nterms; r++) {
    const hlm_varcorr *v = term_var(f, r, 0);
    if (f->term[r].k != 1 || strcmp(f->term[r].colname[0], "(Intercept)") ||
        v == NULL) {
      return 0;
    }
    total += v->vcov;
  }
  for (int r = 0; r < f->nterms; r++) {
    icc[r] = term_var(f, r, 0)->vcov / total;
    cum[r] = 0;
    for (int s = 0; s < f->nterms; s++) {
      if (group_within(f->term[r].group, f->term[s].group)) {
        cum[r] += term_var(f, s, 0)->vcov / total;
      }
    }
  }
  return 1;
}

static void print_icc(const hlm_fit *f, FILE *out)
{
  double icc[64], cum[64];
  int wg = 8;
  if (f->nterms > 64 || !fit_icc(f, icc, cum)) {
    return;
  }
  for (int r = 0; r < f->nterms; r++) {
    wg = max_int(wg, (int)strlen(f->term[r].vcgroup));
  }
  fprintf(out, "Intraclass correlation (random intercepts):\n %-*s %10s %10s\n",
          wg, "Groups", "ICC", "cumulative");
  for (int r = 0; r < f->nterms; r++) {
    fprintf(out, " %-*s %10.4g %10.4g\n", wg, f->term[r].vcgroup, icc[r],
            cum[r]);
  }
  fprintf(out, "\n");
}

static void print_fixed(const hlm_fit *f, FILE *out)
{
  int wn = 0;
  for (int j = 0; j < f->p; j++) {
    wn = max_int(wn, (int)strlen(f->fixed_name[j]));
  }
  fprintf(out, "Fixed effects:\n%-*s %12s %12s %8s\n", wn, "", "Estimate",
          "Std. Error", "t value");
  for (int j = 0; j < f->p; j++) {
    fprintf(out, "%-*s %12.6g %12.6g %8.3f\n", wn, f->fixed_name[j], f->beta[j],
            f->se[j], f->beta[j] / f->se[j]);
  }
}

/* lme4's boundary note, naming each effect whose diagonal theta is below
 * lme4's isSingular() tolerance: its variance is 0 (a single effect), or
 * it is a linear combination of the term's earlier effects (a variance 0
 * or a correlation of +-1). */
static void print_singular(const hlm_fit *f, FILE *out)
{
  fprintf(out, "boundary (singular) fit: see help('isSingular'):");
  for (int r = 0, off = 0; r < f->nterms; r++) {
    const hlm_fit_term *t = &f->term[r];
    for (int c = 0, i = off; c < t->k; i += t->k - c, c++) {
      if (f->theta[i] < 1e-4) {
        fprintf(out, " %s %s %s;", t->vcgroup, t->colname[c],
                t->k == 1 ? "variance 0"
                          : "degenerate (variance 0 or correlation +-1)");
      }
    }
    off += t->k * (t->k + 1) / 2;
  }
  fputc('\n', out);
}

hlm_status hlm_fit_print_summary(const hlm_fit *f, FILE *out)
{
  hlm_status status = HLM_OK;
  print_header(f, out);
  print_random(f, out);
  print_icc(f, out);
  print_fixed(f, out);
  if (f->singular) {
    print_singular(f, out);
  }
  if (!f->converged) {
    fprintf(out, "warning: the optimizer stopped at its evaluation limit "
                 "before converging\n");
  }
  fprintf(out, "Optimizer: %s, %d evaluations", hlm_fit_optimizer_name(f),
          f->evaluations);
  if (f->optimizer != 1) { /* NLopt ran */
    fprintf(out, " (NLopt code %d)", f->nlopt_result);
  }
  fprintf(out, "; %d rank%s, %.3f s\n", f->ranks, f->ranks == 1 ? "" : "s",
          f->seconds);
  HLM_CHECK(!ferror(out), HLM_ERR_IO, "cannot write the summary");
cleanup:
  return status;
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *json_num(double x)
{
  return isfinite(x) ? json_real(x) : json_null();
}

static json_t *json_str_or_null(const char *s)
{
  return s ? json_string(s) : json_null();
}

static json_t *json_fixed(const hlm_fit *f, const double *v)
{
  json_t *o = json_object();
  for (int j = 0; j < f->p; j++) {
    json_object_set_new(o, f->fixed_name[j], json_num(v[j]));
  }
  return o;
}

static json_t *json_varcorr(const hlm_fit *f)
{
  json_t *a = json_array();
  for (int i = 0; i < f->nvc; i++) {
    const hlm_varcorr *v = &f->vc[i];
    json_t *e = json_object();
    json_object_set_new(e, "grp", json_string(v->grp));
    json_object_set_new(e, "var1", json_str_or_null(v->var1));
    json_object_set_new(e, "var2", json_str_or_null(v->var2));
    json_object_set_new(e, "vcov", json_num(v->vcov));
    json_object_set_new(e, "sdcor", json_num(v->sdcor));
    json_array_append_new(a, e);
  }
  return a;
}

/* values[l * k + c] as k arrays of nlevels (lme4.json's layout). */
static json_t *json_by_column(const double *v, int64_t nlev, int k)
{
  json_t *a = json_array();
  for (int c = 0; c < k; c++) {
    json_t *col = json_array();
    for (int64_t l = 0; l < nlev; l++) {
      json_array_append_new(col, json_num(v[l * k + c]));
    }
    json_array_append_new(a, col);
  }
  return a;
}

static json_t *json_ranef(const hlm_fit *f)
{
  json_t *a = json_array();
  for (int r = 0; r < f->nterms; r++) {
    const hlm_fit_term *t = &f->term[r];
    json_t *e = json_object(), *cols = json_array(), *lev = json_array();
    for (int c = 0; c < t->k; c++) {
      json_array_append_new(cols, json_string(t->colname[c]));
    }
    for (int64_t l = 0; t->label && l < t->nlevels; l++) {
      json_array_append_new(lev, json_string(t->label[l]));
    }
    int64_t nlev = t->label ? t->nlevels : 0;
    json_object_set_new(e, "term", json_string(t->group));
    json_object_set_new(e, "columns", cols);
    json_object_set_new(e, "levels", lev);
    json_object_set_new(e, "values", json_by_column(t->values, nlev, t->k));
    json_object_set_new(e, "condvar", json_by_column(t->condvar, nlev, t->k));
    json_array_append_new(a, e);
  }
  return a;
}

static json_t *json_matrix(const double *m, int p)
{
  json_t *a = json_array();
  for (int i = 0; i < p; i++) {
    json_t *row = json_array();
    for (int j = 0; j < p; j++) {
      json_array_append_new(row, json_num(m[i + (size_t)p * j]));
    }
    json_array_append_new(a, row);
  }
  return a;
}

/* `icc`: per random term, or null (docs/results-json.md). */
static json_t *json_icc(const hlm_fit *f)
{
  double icc[64], cum[64];
  if (f->nterms > 64 || !fit_icc(f, icc, cum)) {
    return json_null();
  }
  json_t *a = json_array();
  for (int r = 0; r < f->nterms; r++) {
    json_t *e = json_object();
    json_object_set_new(e, "grp", json_string(f->term[r].vcgroup));
    json_object_set_new(e, "icc", json_num(icc[r]));
    json_object_set_new(e, "icc_cumulative", json_num(cum[r]));
    json_array_append_new(a, e);
  }
  return a;
}

json_t *hlm_fit_json(const hlm_fit *f)
{
  json_t *o = json_object(), *ng = json_object(), *th = json_array();
  for (int g = 0; g < f->ngroups; g++) {
    json_object_set_new(ng, f->group_name[g], json_integer(f->group_nlev[g]));
  }
  for (int i = 0; i < f->ntheta; i++) {
    json_array_append_new(th, json_num(f->theta[i]));
  }
  json_object_set_new(o, "program", json_string("hlm-mpi"));
  json_object_set_new(o, "version", json_string(HLM_VERSION_STRING));
  json_object_set_new(o, "formula", json_string(f->formula));
  json_object_set_new(o, "method", json_string(f->reml ? "REML" : "ML"));
  json_object_set_new(o, "reml", json_boolean(f->reml));
  json_object_set_new(o, "fixef", json_fixed(f, f->beta));
  json_object_set_new(o, "fixef_se", json_fixed(f, f->se));
  json_object_set_new(o, "vcov", json_matrix(f->vcov, f->p));
  json_object_set_new(o, "theta", th);
  json_object_set_new(o, "varcorr", json_varcorr(f));
  json_object_set_new(o, "icc", json_icc(f));
  json_object_set_new(o, "sigma", json_num(f->sigma));
  json_object_set_new(o, "logLik", json_num(f->loglik));
  json_object_set_new(o, "deviance_or_reml_criterion", json_num(f->crit));
  json_object_set_new(o, "AIC", json_num(f->aic));
  json_object_set_new(o, "BIC", json_num(f->bic));
  json_object_set_new(o, "npar", json_integer(f->npar));
  json_object_set_new(o, "df_resid", json_integer(f->nobs - f->npar));
  json_object_set_new(o, "nobs", json_integer(f->nobs));
  json_object_set_new(o, "ngrps", ng);
  json_object_set_new(o, "singular", json_boolean(f->singular));
  json_object_set_new(o, "converged", json_boolean(f->converged));
  json_object_set_new(o, "ranef", json_ranef(f));
  json_object_set_new(o, "optimizer", json_string(hlm_fit_optimizer_name(f)));
  json_object_set_new(o, "evaluations", json_integer(f->evaluations));
  json_object_set_new(o, "ranks", json_integer(f->ranks));
  json_object_set_new(o, "time_seconds", json_num(f->seconds));
  return o;
}

hlm_status hlm_fit_write_json(const hlm_fit *f, const char *path)
{
  hlm_status status = HLM_OK;
  json_t *o = hlm_fit_json(f);
  HLM_CHECK(o != NULL, HLM_ERR_NOMEM, "cannot build the JSON summary");
  HLM_CHECK(json_dump_file(o, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) ==
                0,
            HLM_ERR_IO, "cannot write the JSON summary to %s", path);
cleanup:
  json_decref(o);
  return status;
}
