/* bayes_px.c: half-t (half-Cauchy) priors on the group SDs by Gelman's
 * (2006) parameter expansion (docs/bayes.md, "Parameter expansion").
 *
 * Each scalar term's effects are written u = xi eta with
 *   eta_l ~ N(0, seta2),  xi ~ N(0, A^2),  seta2 ~ IG(nu / 2, nu / 2),
 * so that tau = |xi| sqrt(seta2) is half-t(nu, A) and u_l ~ N(0, tau^2):
 * the model of the data is unchanged.  One iteration draws (beta, u)
 * given tau^2 = xi^2 seta2 by the blocked step of bayes_draw.c (that is,
 * (beta, eta) given xi, seta2), then
 *   xi | beta, eta, sigma2, y     normal (all scalar terms jointly),
 *   seta2 | eta ~ IG((nu + n_t) / 2, (nu + sum eta_l^2) / 2).
 * With c_t = Z_t u_t (the current contribution of term t) and e the
 * current residual, xi_new = alpha_t xi_t where
 *   y - X beta - (other terms) = sum_t alpha_t c_t + e',
 *   alpha ~ N(P^-1 h, P^-1),  P = C'C / sigma2 + diag(xi_t^2 / A^2),
 *   h = (C'e + C'C 1) / sigma2,
 * from the sums C'C and C'e reduced over ranks in double-double with the
 * other sums of the step; every rank draws the same alpha from the
 * variance stream.  The redundant scale xi moves u and tau together,
 * which breaks the dependence between them that slows the plain Gibbs
 * sampler when tau is near zero. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>

#include "bayes.h"
#include "ddsum.h"

/* Index of the sum c_s c_t (s <= t) among the expansion's sums. */
static int pair(int nt, int s, int t)
{
  return s * (2 * nt - s + 1) / 2 + (t - s);
}

hlm_status hlm_bayes_px_create(hlm_gibbs *gb)
{
  hlm_status status = HLM_OK;
  int nt = gb->nt;
  gb->px = gb->prior->px;
  if (!gb->px) {
    return HLM_OK;
  }
  gb->npx = nt * (nt + 1) / 2 + nt;
  HLM_ALLOC(gb->xi, nt);
  HLM_ALLOC(gb->seta2, nt);
  HLM_ALLOC(gb->crow, nt);
  HLM_ALLOC(gb->pxwork, (size_t)nt * (nt + 2));
  HLM_ALLOC(gb->pxt, nt);
  gb->npxt = 0;
  for (int t = 0; t < nt; t++) {
    if (gb->d->term[t].k == 1) {
      gb->pxt[gb->npxt++] = t;
    }
  }
cleanup:
  return status;
}

void hlm_bayes_px_destroy(hlm_gibbs *gb)
{
  free(gb->xi);
  free(gb->seta2);
  free(gb->crow);
  free(gb->pxwork);
  free(gb->pxt);
}

void hlm_bayes_px_start(hlm_gibbs *gb)
{
  for (int i = 0; gb->px && i < gb->npxt; i++) {
    int t = gb->pxt[i];
    gb->xi[t] = sqrt(gb->tau2[t]);
    gb->seta2[t] = 1.0;
  }
}

void hlm_bayes_px_add_row(hlm_gibbs *gb, double e)
{
  int nt = gb->nt;
  double *a = &gb->acc[2 * (gb->ns + 2)];
  for (int s = 0; s < nt; s++) {
    for (int t = s; t < nt; t++) {
      hlm_dd_add(&a[2 * pair(nt, s, t)], gb->crow[s] * gb->crow[t]);
    }
    hlm_dd_add(&a[2 * (nt * (nt + 1) / 2 + s)], gb->crow[s] * e);
  }
}

/* Sum of u_l^2 over every level of scalar term t (local sums reduced,
 * plus the replicated global effects). */
static double term_ss(const hlm_gibbs *gb, int t)
{
  const hlm_reterm *rt = &gb->d->term[t];
  double ss = hlm_dd_value(&gb->acc[2 * gb->soff[t]]);
  for (int64_t l = 0; rt->global && l < rt->nlevels; l++) {
    ss += gb->ug[rt->gfirst + l] * gb->ug[rt->gfirst + l];
  }
  return ss;
}

/* u_t := alpha u_t for every effect of scalar term t held here. */
static void rescale(hlm_gibbs *gb, int t, double alpha)
{
  const hlm_design *d = gb->d;
  const hlm_reterm *rt = &d->term[t];
  for (int64_t l = 0; rt->global && l < rt->nlevels; l++) {
    gb->ug[rt->gfirst + l] *= alpha;
  }
  for (int64_t j = 0; j < d->ncl; j++) {
    const hlm_dcluster *c = &d->cl[j];
    double *u = &gb->ucur[gb->roff[j] + c->zoff[t]];
    for (int l = 0; l < c->nlev[t]; l++) {
      u[l] *= alpha;
    }
  }
}

/* alpha (npxt) from its normal full conditional. */
static hlm_status draw_alpha(hlm_gibbs *gb, hlm_rng *r, double *alpha)
{
  hlm_status status = HLM_OK;
  int nt = gb->nt, K = gb->npxt;
  const double *a = &gb->acc[2 * (gb->ns + 2)];
  double *P = gb->pxwork, *h = P + (size_t)nt * nt;
  double A2 = gb->prior->sd_scale * gb->prior->sd_scale;
  for (int i = 0; i < K; i++) {
    int s = gb->pxt[i];
    h[i] = hlm_dd_value(&a[2 * (nt * (nt + 1) / 2 + s)]);
    for (int j = 0; j < K; j++) {
      int t = gb->pxt[j];
      double cc = hlm_dd_value(&a[2 * pair(nt, s < t ? s : t, s < t ? t : s)]);
      h[i] += cc;
      P[(size_t)j * K + i] = cc / gb->sigma2;
    }
    h[i] /= gb->sigma2;
    P[(size_t)i * K + i] += gb->xi[s] * gb->xi[s] / A2;
  }
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', K, P, K);
  HLM_LAPACK_CHECK(info, "dpotrf",
                   "the parameter-expansion system of the Gibbs sampler is "
                   "not positive definite");
  cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, K, P, K, h,
              1);
  for (int i = 0; i < K; i++) {
    alpha[i] = h[i] + hlm_rng_normal(r);
  }
  cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, K, P, K,
              alpha, 1);
cleanup:
  return status;
}

hlm_status hlm_bayes_px_draw(hlm_gibbs *gb, hlm_rng *r)
{
  hlm_status status = HLM_OK;
  int nt = gb->nt;
  double nu = gb->prior->sd_df;
  double *alpha = gb->pxwork + (size_t)nt * (nt + 1);
  if (gb->npxt == 0) {
    return HLM_OK;
  }
  HLM_TRY(draw_alpha(gb, r, alpha));
  for (int i = 0; i < gb->npxt; i++) {
    int t = gb->pxt[i];
    double n = (double)gb->d->term[t].nlevels;
    double sse = term_ss(gb, t) / (gb->xi[t] * gb->xi[t]); /* sum eta^2 */
    gb->seta2[t] =
        0.5 * (nu + sse) / hlm_rng_gamma(r, 0.5 * (nu + n) + gb->bug);
    gb->xi[t] *= alpha[i];
    gb->tau2[t] = gb->xi[t] * gb->xi[t] * gb->seta2[t];
    rescale(gb, t, alpha[i]);
  }
cleanup:
  return status;
}
