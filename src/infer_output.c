/* infer_output.c: the tests of hlm_infer as text (after the lme4-style
 * summary) and as the "inference" object of the JSON summary
 * (docs/results-json.md).  Rank 0 calls these. */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "infer_internal.h"

static const char *df_label(hlm_df_method m)
{
  return m == HLM_DF_SATTERTHWAITE ? "satterthwaite"
         : m == HLM_DF_RESIDUAL    ? "residual"
         : m == HLM_DF_DESIGN      ? "design"
                                   : "asymptotic";
}

static int name_width(const hlm_infer_test *t, int n, int w)
{
  for (int i = 0; i < n; i++) {
    int len = (int)strlen(t[i].name);
    w = len > w ? len : w;
  }
  return w;
}

static void print_rows(const hlm_infer *inf, const hlm_infer_test *t, int n,
                       int w, FILE *out)
{
  double a = 50.0 * (1.0 - inf->level);
  char lo[32], hi[32];
  snprintf(lo, sizeof lo, "%.4g %%", a);
  snprintf(hi, sizeof hi, "%.4g %%", 100.0 - a);
  fprintf(out, "%-*s %11s %11s %9s %8s %10s %11s %11s\n", w, "", "Estimate",
          "Std. Error", isinf(t[0].df) ? "" : "df",
          isinf(t[0].df) ? "z value" : "t value",
          isinf(t[0].df) ? "Pr(>|z|)" : "Pr(>|t|)", lo, hi);
  for (int i = 0; i < n; i++) {
    char df[32] = "";
    if (!isinf(t[i].df)) {
      snprintf(df, sizeof df, "%9.4f", t[i].df);
    }
    fprintf(out, "%-*s %11.5g %11.5g %9s %8.3f %10.3g %11.5g %11.5g\n", w,
            t[i].name, t[i].estimate, t[i].se, df, t[i].t, t[i].p, t[i].lower,
            t[i].upper);
  }
}

/* lmerTest's anova() table. */
static void print_anova(const hlm_infer *inf, FILE *out)
{
  static const char *const how[] = {
      "design df (PSUs - strata)", "Satterthwaite's method",
      "residual df (n - p)", "asymptotic chi-square / q (DenDF Inf)"};
  int n = hlm_infer_nanova(inf), w = 4;
  if (inf->anova_note) {
    fprintf(out, "\nnote: %s\n", inf->anova_note);
  }
  if (n == 0) {
    return;
  }
  for (int t = 0; t < n; t++) {
    int len = (int)strlen(inf->anova[t].term);
    w = len > w ? len : w;
  }
  fprintf(out, "\nType %s Analysis of Variance Table with %s:\n",
          inf->anova_type, how[inf->df == HLM_DF_DESIGN ? 0 : inf->df + 1]);
  fprintf(out, "%-*s %11s %11s %5s %9s %9s %10s\n", w, "", "Sum Sq", "Mean Sq",
          "NumDF", "DenDF", "F value", "Pr(>F)");
  for (int t = 0; t < n; t++) {
    const hlm_infer_ftest *f = &inf->anova[t];
    fprintf(out, "%-*s %11.5g %11.5g %5.0f %9.5g %9.4f %10.4g\n", w, f->term,
            f->sum_sq, f->mean_sq, f->num_df, f->den_df, f->F, f->p);
  }
}

hlm_status hlm_infer_print(const hlm_infer *inf, FILE *out)
{
  static const char *const how[] = {
      "Satterthwaite's method (as lmerTest)", "residual df (n - p)",
      "asymptotic normal (z)", "the survey design (PSUs - strata)"};
  int w = name_width(inf->fixed, inf->p, 4);
  w = name_width(inf->con, inf->ncon, w);
  fprintf(out, "\nFixed effects: t tests, df by %s, %.4g%% CI%s:\n",
          how[inf->df], 100.0 * inf->level,
          inf->robust ? ", robust (sandwich) SEs" : "");
  print_rows(inf, inf->fixed, inf->p, w, out);
  if (inf->ncon > 0) {
    fprintf(out, "\nContrasts:\n");
    print_rows(inf, inf->con, inf->ncon, w, out);
  }
  print_anova(inf, out);
  if (inf->neg_eig || inf->zero_eig) {
    fprintf(out,
            "warning: the Hessian of the deviance in (theta, sigma) has %d "
            "negative and %d near-zero eigenvalue(s): the fit may not have "
            "converged; Satterthwaite's df use its pseudo-inverse\n",
            inf->neg_eig, inf->zero_eig);
  }
  return HLM_OK;
}

static json_t *num(double x)
{
  return isfinite(x) ? json_real(x) : json_null();
}

static json_t *json_test(const hlm_infer_test *t)
{
  json_t *o = json_object();
  json_object_set_new(o, "estimate", num(t->estimate));
  json_object_set_new(o, "se", num(t->se));
  json_object_set_new(o, "df", isinf(t->df) ? json_string("Inf") : num(t->df));
  json_object_set_new(o, "t", num(t->t));
  json_object_set_new(o, "p", num(t->p));
  json_object_set_new(o, "lower", num(t->lower));
  json_object_set_new(o, "upper", num(t->upper));
  return o;
}

static json_t *json_contrasts(const hlm_infer *inf)
{
  json_t *a = json_array();
  for (int c = 0; c < inf->ncon; c++) {
    json_t *o = json_test(&inf->con[c]), *L = json_object();
    for (int j = 0; j < inf->p; j++) {
      double x = inf->conL[(size_t)c * inf->p + j];
      if (x != 0.0) {
        json_object_set_new(L, inf->fixed[j].name, json_real(x));
      }
    }
    json_object_set_new(o, "name", json_string(inf->con[c].name));
    json_object_set_new(o, "coefficients", L);
    json_array_append_new(a, o);
  }
  return a;
}

static json_t *json_anova(const hlm_infer *inf)
{
  json_t *o = json_object(), *a = json_array();
  for (int t = 0; t < hlm_infer_nanova(inf); t++) {
    const hlm_infer_ftest *f = &inf->anova[t];
    json_t *e = json_object(), *L = json_array();
    for (int r = 0; r < f->nrow; r++) {
      json_t *row = json_array();
      for (int j = 0; j < inf->p; j++) {
        json_array_append_new(row, num(f->L[(size_t)r * inf->p + j]));
      }
      json_array_append_new(L, row);
    }
    json_object_set_new(e, "term", json_string(f->term));
    json_object_set_new(e, "sum_sq", num(f->sum_sq));
    json_object_set_new(e, "mean_sq", num(f->mean_sq));
    json_object_set_new(e, "num_df", num(f->num_df));
    json_object_set_new(e, "den_df",
                        isinf(f->den_df) ? json_string("Inf") : num(f->den_df));
    json_object_set_new(e, "F", num(f->F));
    json_object_set_new(e, "p", num(f->p));
    json_object_set_new(e, "hypothesis", L);
    json_array_append_new(a, e);
  }
  json_object_set_new(
      o, "type", inf->anova_type ? json_string(inf->anova_type) : json_null());
  json_object_set_new(o, "terms", a);
  json_object_set_new(
      o, "note", inf->anova_note ? json_string(inf->anova_note) : json_null());
  return o;
}

static json_t *json_inference(const hlm_infer *inf)
{
  json_t *o = json_object(), *fx = json_object();
  for (int j = 0; j < inf->p; j++) {
    json_object_set_new(fx, inf->fixed[j].name, json_test(&inf->fixed[j]));
  }
  json_object_set_new(o, "df_method", json_string(df_label(inf->df)));
  json_object_set_new(o, "confidence_level", json_real(inf->level));
  json_object_set_new(o, "fixed", fx);
  json_object_set_new(o, "contrasts", json_contrasts(inf));
  json_object_set_new(o, "anova", json_anova(inf));
  if (inf->A) {
    json_t *A = json_array();
    for (int i = 0; i < inf->nvp; i++) {
      json_t *row = json_array();
      for (int j = 0; j < inf->nvp; j++) {
        json_array_append_new(row, num(inf->A[i + inf->nvp * j]));
      }
      json_array_append_new(A, row);
    }
    json_object_set_new(o, "varpar_cov", A);
  }
  return o;
}

json_t *hlm_infer_json(const hlm_infer *inf)
{
  return json_inference(inf);
}
