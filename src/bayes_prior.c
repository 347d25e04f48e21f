/* bayes_prior.c: the prior of the fixed effects, beta ~ N(b, B), from
 * [bayes.prior] (docs/bayes.md): b by name (beta_mean), B diagonal by name
 * (beta_variance, flat where not named) or full (beta_covariance, an
 * array of arrays in the order of the fixed effects).  The sampler uses
 * the precision P = B^-1 (zero rows and columns for flat effects). */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bayes.h"

static int fixed_index(const hlm_design *d, const char *name)
{
  for (int j = 0; j < d->p; j++) {
    if (strcmp(hlm_design_fixed_name(d, j), name) == 0) {
      return j;
    }
  }
  return -1;
}

static void fixed_list(const hlm_design *d, char *list, size_t size)
{
  size_t len = 0;
  list[0] = '\0';
  for (int k = 0; k < d->p && len < size; k++) {
    int w = snprintf(list + len, size - len, "%s%s", k ? ", " : "",
                     hlm_design_fixed_name(d, k));
    len += w > 0 ? (size_t)w : 0;
  }
}

/* x[j] := the values of table t by fixed-effect name. */
static hlm_status resolve_numtab(const hlm_config *cfg, const hlm_design *d,
                                 const char *key, const hlm_config_numtab *t,
                                 double *x, int positive)
{
  for (int i = 0; i < t->n; i++) {
    int j = fixed_index(d, t->name[i]);
    if (j < 0) {
      char list[1024];
      fixed_list(d, list, sizeof list);
      return HLM_ERROR(HLM_ERR_CONFIG,
                       "%s:%d:%d: [bayes.prior] %s names `%s`, which is not a "
                       "fixed effect of the model; the fixed effects are: %s",
                       cfg->path, t->line[i], t->column[i], key, t->name[i],
                       list);
    }
    if (positive && !(t->value[i] > 0 && isfinite(t->value[i]))) {
      return HLM_ERROR(HLM_ERR_CONFIG,
                       "%s:%d:%d: [bayes.prior] %s of `%s` must be a positive "
                       "number, got %g",
                       cfg->path, t->line[i], t->column[i], key, t->name[i],
                       t->value[i]);
    }
    x[j] = t->value[i];
  }
  return HLM_OK;
}

/* B (p x p, column-major) from beta_covariance: p rows of p finite
 * numbers, symmetric. */
static hlm_status read_covariance(const hlm_config *cfg, const hlm_design *d,
                                  double *B)
{
  const hlm_config_matrix *t = &cfg->prior_beta_covariance;
  int p = d->p;
  char list[1024];
  fixed_list(d, list, sizeof list);
  if (t->nrow != p) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s:%d:%d: [bayes.prior] beta_covariance has %d rows; "
                     "it must be %d x %d, one row and column per fixed effect "
                     "in the order: %s",
                     cfg->path, t->line, t->column, t->nrow, p, p, list);
  }
  for (int i = 0, at = 0; i < p; at += t->ncol[i++]) {
    if (t->ncol[i] != p) {
      return HLM_ERROR(HLM_ERR_CONFIG,
                       "%s:%d:%d: [bayes.prior] beta_covariance: row %d has "
                       "%d numbers; the matrix must be square, %d x %d (the "
                       "fixed effects: %s)",
                       cfg->path, t->row_line[i], t->row_column[i], i + 1,
                       t->ncol[i], p, p, list);
    }
    for (int j = 0; j < p; j++) {
      B[(size_t)j * p + i] = t->value[at + j];
      if (!isfinite(t->value[at + j])) {
        return HLM_ERROR(HLM_ERR_CONFIG,
                         "%s:%d:%d: [bayes.prior] beta_covariance: row %d "
                         "holds a value that is not finite",
                         cfg->path, t->row_line[i], t->row_column[i], i + 1);
      }
    }
  }
  for (int i = 0; i < p; i++) {
    for (int j = 0; j < i; j++) {
      double a = B[(size_t)j * p + i], b = B[(size_t)i * p + j];
      if (fabs(a - b) > 1e-12 * fmax(fabs(a), fabs(b))) {
        return HLM_ERROR(HLM_ERR_CONFIG,
                         "%s:%d:%d: [bayes.prior] beta_covariance is not "
                         "symmetric: row %d, column %d is %g but row %d, "
                         "column %d is %g",
                         cfg->path, t->row_line[i], t->row_column[i], i + 1,
                         j + 1, a, j + 1, i + 1, b);
      }
    }
  }
  return HLM_OK;
}

/* P := B^-1 (B overwritten), refusing a B that is not positive definite. */
static hlm_status invert_covariance(const hlm_config *cfg, int p, double *B,
                                    double *P)
{
  const hlm_config_matrix *t = &cfg->prior_beta_covariance;
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', p, B, p);
  if (info == 0) {
    info = LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', p, B, p);
  }
  if (info != 0) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s:%d:%d: [bayes.prior] beta_covariance is not positive "
                     "definite (Cholesky fails at row %d): a covariance "
                     "matrix needs positive variances and correlations "
                     "that fit together",
                     cfg->path, t->line, t->column, info > 0 ? info : 1);
  }
  for (int j = 0; j < p; j++) {
    for (int i = j; i < p; i++) {
      P[(size_t)j * p + i] = P[(size_t)i * p + j] = B[(size_t)j * p + i];
    }
  }
  return HLM_OK;
}

/* group_sd, group_sd_scale, group_sd_df. */
static hlm_status read_group_sd(const hlm_config *cfg, hlm_bayes_prior *pr)
{
  static const char *const family[] = {"inverse-gamma", "half-cauchy",
                                       "half-t"};
  pr->sd_family = cfg->prior_group_sd;
  pr->sd_scale = cfg->prior_group_sd_scale;
  pr->sd_df = pr->sd_family == 1 ? 1.0 : cfg->prior_group_sd_df;
  pr->px = pr->sd_family != 0 && cfg->bayes_expansion == 0;
  if (pr->sd_family == 0) {
    return HLM_OK;
  }
  if (!(pr->sd_scale > 0)) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s: [bayes.prior] group_sd = \"%s\" needs its scale, "
                     "e.g. group_sd_scale = 5 (on the scale of the group "
                     "standard deviations)",
                     cfg->path, family[pr->sd_family]);
  }
  if (!(pr->sd_df > 0)) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s: [bayes.prior] group_sd = \"half-t\" needs its "
                     "degrees of freedom, e.g. group_sd_df = 3",
                     cfg->path);
  }
  return HLM_OK;
}

hlm_status hlm_bayes_read_prior(const hlm_config *cfg, const hlm_design *d,
                                hlm_bayes_prior *pr, int *flat)
{
  hlm_status status = HLM_OK;
  int p = d->p;
  double *B = NULL;
  HLM_ALLOC(pr->mean, p);
  HLM_ALLOC(pr->var, p);
  HLM_ALLOC(pr->prec, (size_t)p * p);
  HLM_ALLOC(B, (size_t)p * p);
  HLM_TRY(
      resolve_numtab(cfg, d, "beta_mean", &cfg->prior_beta_mean, pr->mean, 0));
  pr->full = cfg->prior_beta_covariance.nrow > 0;
  if (pr->full) {
    const hlm_config_matrix *t = &cfg->prior_beta_covariance;
    HLM_CHECK(cfg->prior_beta_variance.n == 0, HLM_ERR_CONFIG,
              "%s:%d:%d: [bayes.prior] give either beta_variance or "
              "beta_covariance, not both",
              cfg->path, t->line, t->column);
    HLM_TRY(read_covariance(cfg, d, B));
    for (int j = 0; j < p; j++) {
      pr->var[j] = B[(size_t)j * p + j];
    }
    HLM_TRY(invert_covariance(cfg, p, B, pr->prec));
  } else {
    HLM_TRY(resolve_numtab(cfg, d, "beta_variance", &cfg->prior_beta_variance,
                           pr->var, 1));
    for (int j = 0; j < p; j++) {
      pr->prec[(size_t)j * p + j] = pr->var[j] > 0 ? 1.0 / pr->var[j] : 0.0;
    }
  }
  *flat = 1;
  for (int j = 0; j < p; j++) {
    *flat = *flat && pr->var[j] == 0.0;
  }
  pr->vshape = cfg->prior_variance_shape;
  pr->vscale = cfg->prior_variance_scale;
  pr->rshape = cfg->prior_residual_shape;
  pr->rscale = cfg->prior_residual_scale;
  HLM_TRY(read_group_sd(cfg, pr));
  pr->iw_df = cfg->prior_wishart_df;
  HLM_TRY(hlm_bayes_read_wishart_scale(cfg, pr));
cleanup:
  free(B);
  return status;
}

void hlm_bayes_free_prior(hlm_bayes_prior *pr)
{
  free(pr->mean);
  free(pr->var);
  free(pr->prec);
  free(pr->iw_psi);
  memset(pr, 0, sizeof *pr);
}
