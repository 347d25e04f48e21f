/* bayes_iw_scale.c: the scale Psi of the inverse-Wishart prior of
 * correlated effects from [bayes.prior] wishart_scale (docs/bayes.md): a
 * number s (Psi = s I for every term) or one k x k symmetric positive-
 * definite matrix, taken by every term of k correlated effects. */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bayes.h"

/* Square, finite numbers, symmetric: into P (k x k, column-major). */
static hlm_status read_square(const hlm_config *cfg, double *P)
{
  const hlm_config_matrix *t = &cfg->prior_wishart_scale;
  int k = t->nrow;
  for (int i = 0, at = 0; i < k; at += t->ncol[i++]) {
    if (t->ncol[i] != k) {
      return HLM_ERROR(HLM_ERR_CONFIG,
                       "%s:%d:%d: [bayes.prior] wishart_scale: row %d has %d "
                       "numbers; the matrix must be square, %d x %d",
                       cfg->path, t->row_line[i], t->row_column[i], i + 1,
                       t->ncol[i], k, k);
    }
    for (int j = 0; j < k; j++) {
      P[(size_t)j * k + i] = t->value[at + j];
      if (!isfinite(t->value[at + j])) {
        return HLM_ERROR(HLM_ERR_CONFIG,
                         "%s:%d:%d: [bayes.prior] wishart_scale: row %d "
                         "holds a value that is not finite",
                         cfg->path, t->row_line[i], t->row_column[i], i + 1);
      }
    }
  }
  for (int i = 0; i < k; i++) {
    for (int j = 0; j < i; j++) {
      double a = P[(size_t)j * k + i], b = P[(size_t)i * k + j];
      if (fabs(a - b) > 1e-12 * fmax(fabs(a), fabs(b))) {
        return HLM_ERROR(HLM_ERR_CONFIG,
                         "%s:%d:%d: [bayes.prior] wishart_scale is not "
                         "symmetric: row %d, column %d is %g but row %d, "
                         "column %d is %g",
                         cfg->path, t->row_line[i], t->row_column[i], i + 1,
                         j + 1, a, j + 1, i + 1, b);
      }
    }
  }
  return HLM_OK;
}

/* Refuse a P that is not positive definite (P itself kept). */
static hlm_status check_definite(const hlm_config *cfg, int k, const double *P)
{
  const hlm_config_matrix *t = &cfg->prior_wishart_scale;
  double L[HLM_BAYES_KMAX * HLM_BAYES_KMAX];
  memcpy(L, P, (size_t)k * k * sizeof *L);
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', k, L, k);
  if (info != 0) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s:%d:%d: [bayes.prior] wishart_scale is not positive "
                     "definite (Cholesky fails at row %d): the scale of an "
                     "inverse-Wishart prior must be a covariance-like "
                     "matrix, e.g. [[100, 0], [0, 1]]",
                     cfg->path, t->line, t->column, info > 0 ? info : 1);
  }
  return HLM_OK;
}

hlm_status hlm_bayes_read_wishart_scale(const hlm_config *cfg,
                                        hlm_bayes_prior *pr)
{
  hlm_status status = HLM_OK;
  const hlm_config_matrix *t = &cfg->prior_wishart_scale;
  pr->iw_scale = t->number ? t->value[0] : 1.0;
  pr->iw_k = 0;
  if (t->number || t->nrow == 0) {
    return HLM_OK;
  }
  HLM_CHECK(t->nrow <= HLM_BAYES_KMAX, HLM_ERR_CONFIG,
            "%s:%d:%d: [bayes.prior] wishart_scale has %d rows; the sampler "
            "takes terms of at most %d correlated effects",
            cfg->path, t->line, t->column, t->nrow, HLM_BAYES_KMAX);
  pr->iw_k = t->nrow;
  HLM_ALLOC(pr->iw_psi, (size_t)t->nrow * t->nrow);
  HLM_TRY(read_square(cfg, pr->iw_psi));
  HLM_TRY(check_definite(cfg, t->nrow, pr->iw_psi));
cleanup:
  return status;
}

hlm_status hlm_bayes_check_wishart_scale(const hlm_config *cfg,
                                         const hlm_design *d,
                                         const hlm_bayes_prior *pr)
{
  const hlm_config_matrix *t = &cfg->prior_wishart_scale;
  for (int i = 0; pr->iw_psi != NULL && i < d->nterms; i++) {
    const hlm_reterm *rt = &d->term[i];
    if (rt->k > 1 && rt->k != pr->iw_k) {
      return HLM_ERROR(HLM_ERR_CONFIG,
                       "%s:%d:%d: [bayes.prior] wishart_scale is %d x %d, "
                       "but `%s` has %d correlated effects (%s...): the "
                       "matrix must be %d x %d, rows and columns in the "
                       "order of the term's effects",
                       cfg->path, t->line, t->column, pr->iw_k, pr->iw_k,
                       rt->group, rt->k, rt->mm.name[0], rt->k, rt->k);
    }
  }
  return HLM_OK;
}

void hlm_bayes_wishart_psi(const hlm_bayes_prior *pr, int k, double *Psi)
{
  for (int j = 0; j < k; j++) {
    for (int i = 0; i < k; i++) {
      Psi[i + k * j] = pr->iw_psi != NULL ? pr->iw_psi[i + k * j]
                                          : (i == j ? pr->iw_scale : 0.0);
    }
  }
}
