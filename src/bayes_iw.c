/* bayes_iw.c: the inverse-Wishart prior of a term's unstructured k x k
 * covariance Sigma (k > 1 correlated effects, docs/bayes.md):
 *   Sigma ~ IW(nu, Psi),  Psi = s I or given ([bayes.prior] wishart_df,
 *   wishart_scale; bayes_iw_scale.c)
 *   Sigma | u ~ IW(nu + m, Psi + sum_l u_l u_l')   (m levels)
 * drawn by Bartlett's decomposition: with Psi' = U U' (Cholesky) and A
 * lower triangular, A_ii = sqrt(chi2(nu' - i + 1)), A_ij ~ N(0, 1) (i >
 * j), W = U^-T A A' U^-1 ~ Wishart(nu', Psi'^-1), so Sigma = W^-1 =
 * M M' with M = U A^-T.  The term's theta (lme4's relative factor) is
 * chol(Sigma) / sigma. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "bayes.h"

double hlm_bayes_wishart_df(const hlm_bayes_prior *pr, int k)
{
  return pr->iw_df > 0 ? pr->iw_df : (double)k + 1.0;
}

hlm_status hlm_bayes_check_wishart(const hlm_config *cfg, const hlm_design *d,
                                   const hlm_bayes_prior *pr)
{
  hlm_status status = hlm_bayes_check_wishart_scale(cfg, d, pr);
  if (status != HLM_OK) {
    return status;
  }
  for (int t = 0; t < d->nterms; t++) {
    const hlm_reterm *rt = &d->term[t];
    if (rt->k > 1 && !(hlm_bayes_wishart_df(pr, rt->k) > rt->k - 1)) {
      return HLM_ERROR(HLM_ERR_CONFIG,
                       "%s: [bayes.prior] wishart_df = %g: the inverse-"
                       "Wishart prior of the %d correlated effects of `%s` "
                       "needs wishart_df > %d (k - 1; the default is k + 1)",
                       cfg->path, pr->iw_df, rt->k, rt->group, rt->k - 1);
    }
    if (rt->k > HLM_BAYES_KMAX) {
      return HLM_ERROR(HLM_ERR_NOT_IMPLEMENTED,
                       "method = \"bayes\" with %d correlated effects in "
                       "`%s` (more than %d) is not implemented yet (issue "
                       "12)",
                       rt->k, rt->group, HLM_BAYES_KMAX);
    }
  }
  return HLM_OK;
}

hlm_status hlm_bayes_draw_iw(hlm_rng *r, int k, double nu, double *Psi,
                             double *Sigma)
{
  double A[HLM_BAYES_KMAX * HLM_BAYES_KMAX] = {0};
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', k, Psi, k);
  if (info != 0) {
    return HLM_ERROR(HLM_ERR_NUMERIC,
                     "the scale matrix of an inverse-Wishart draw is not "
                     "positive definite (Cholesky fails at row %d)",
                     info);
  }
  for (int j = 0; j < k; j++) {
    A[j + k * j] = sqrt(2.0 * hlm_rng_gamma(r, 0.5 * (nu - (double)j)));
    for (int i = j + 1; i < k; i++) {
      A[i + k * j] = hlm_rng_normal(r);
    }
  }
  /* M := U A^-T: solve M A' = U, A' upper triangular */
  for (int j = 0; j < k; j++) {
    for (int i = 0; i < k; i++) {
      Sigma[i + k * j] = i >= j ? Psi[i + k * j] : 0.0;
    }
  }
  cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit,
              k, k, 1.0, A, k, Sigma, k);
  memcpy(A, Sigma, (size_t)k * k * sizeof *A);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, k, k, k, 1.0, A, k, A, k,
              0.0, Sigma, k);
  return HLM_OK;
}

hlm_status hlm_bayes_iw_theta(int k, const double *Sigma, double sigma2,
                              double *theta)
{
  double L[HLM_BAYES_KMAX * HLM_BAYES_KMAX];
  memcpy(L, Sigma, (size_t)k * k * sizeof *L);
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', k, L, k);
  if (info != 0) {
    return HLM_ERROR(HLM_ERR_NUMERIC,
                     "a drawn covariance matrix of correlated random effects "
                     "is not positive definite (Cholesky fails at row %d)",
                     info);
  }
  double s = sqrt(sigma2);
  for (int col = 0, t = 0; col < k; col++) {
    for (int row = col; row < k; row++) {
      theta[t++] = L[row + k * col] / s;
    }
  }
  return HLM_OK;
}
