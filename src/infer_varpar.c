/* infer_varpar.c: the unprofiled deviance and Var(beta-hat) as functions of
 * the variance parameters (theta, sigma), and numDeriv's Richardson
 * derivatives (docs/inference.md). */
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer_internal.h"

#define HLM_PI 3.14159265358979323846

/* numDeriv's defaults: eps, zero.tol, r, v. */
#define ND_EPS 1e-4
#define ND_R 4
#define ND_ZERO_TOL sqrt(DBL_EPSILON / 7e-7)

hlm_status hlm_varpar_create(MPI_Comm comm, const hlm_design *d, int reml,
                             hlm_varpar **out)
{
  hlm_status status = HLM_OK;
  hlm_mme *m = NULL;
  *out = NULL;
  HLM_TRY(hlm_mme_create(comm, d, &m));
  HLM_TRY(hlm_varpar_create_from(m, d, reml, out));
  (*out)->borrowed = 0; /* its own equations */
  m = NULL;
cleanup:
  hlm_mme_destroy(&m);
  return status;
}

hlm_status hlm_varpar_create_from(hlm_mme *m, const hlm_design *d, int reml,
                                  hlm_varpar **out)
{
  hlm_status status = HLM_OK;
  hlm_varpar *v = NULL;
  *out = NULL;
  HLM_ALLOC(v, 1);
  v->reml = reml;
  v->known_sd = hlm_design_known_sd(d);
  v->ntheta = hlm_design_ntheta(d);
  v->p = hlm_design_nfixed(d);
  v->m = m;
  v->borrowed = 1;
  HLM_ALLOC(v->beta, v->p);
  HLM_ALLOC(v->RX, (size_t)v->p * v->p);
  *out = v;
  v = NULL;
cleanup:
  hlm_varpar_destroy(&v);
  return status;
}

void hlm_varpar_destroy(hlm_varpar **v)
{
  if (v == NULL || *v == NULL) {
    return;
  }
  if (!(*v)->borrowed) {
    hlm_mme_destroy(&(*v)->m);
  }
  free((*v)->beta);
  free((*v)->RX);
  free(*v);
  *v = NULL;
}

static hlm_status varpar_eval(hlm_varpar *v, const double *vp, hlm_mme_eval *ev)
{
  ev->beta = v->beta;
  ev->RX = v->RX;
  return hlm_mme_evaluate(v->m, vp, v->reml, ev);
}

hlm_status hlm_varpar_deviance(hlm_varpar *v, const double *vp, double *dev)
{
  hlm_status status = HLM_OK;
  hlm_mme_eval ev;
  double s2 = v->known_sd ? 1.0 : vp[v->ntheta] * vp[v->ntheta];
  double n = (double)hlm_design_nobs(v->m->d);
  HLM_TRY(varpar_eval(v, vp, &ev));
  *dev = ev.ldL2 + ev.pwrss / s2 + n * log(2.0 * HLM_PI * s2);
  if (v->reml) {
    *dev += ev.ldRX2 - v->p * log(2.0 * HLM_PI * s2);
  }
cleanup:
  return status;
}

hlm_status hlm_varpar_vcov(hlm_varpar *v, const double *vp, double *vcov)
{
  return hlm_varpar_vcov_pwrss(v, vp, vcov, NULL);
}

hlm_status hlm_varpar_vcov_pwrss(hlm_varpar *v, const double *vp, double *vcov,
                                 double *pwrss)
{
  hlm_status status = HLM_OK;
  hlm_mme_eval ev;
  int p = v->p;
  double s2 = v->known_sd ? 1.0 : vp[v->ntheta] * vp[v->ntheta];
  HLM_TRY(varpar_eval(v, vp, &ev));
  if (pwrss != NULL) {
    *pwrss = ev.pwrss;
  }
  /* sigma^2 S^-1 = sigma^2 R_X^-T R_X^-1: invert the Cholesky factor */
  memcpy(vcov, v->RX, (size_t)p * p * sizeof *vcov);
  int info = LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', p, vcov, p);
  HLM_LAPACK_CHECK(info, "dpotri", "inverting the fixed-effect system S");
  /* scale the lower triangle, then mirror it (reading an entry already
   * scaled would scale it twice) */
  for (int j = 0; j < p; j++) {
    for (int i = j; i < p; i++) {
      vcov[i + (size_t)p * j] *= s2;
      vcov[j + (size_t)p * i] = vcov[i + (size_t)p * j];
    }
  }
cleanup:
  return status;
}

/* ---- numDeriv -------------------------------------------------------- */

/* Initial steps: h = |d x| + eps (|x| < zero.tol). */
static void nd_steps(int n, const double *x, double d, double *h)
{
  for (int i = 0; i < n; i++) {
    h[i] = fabs(d * x[i]) + ND_EPS * (fabs(x[i]) < ND_ZERO_TOL);
  }
}

/* Richardson extrapolation of a[0..r) (step halved each time), m values
 * each (a[k * m + c]); the result in a[0..m). */
static void richardson(double *a, int m)
{
  for (int s = 1; s < ND_R; s++) {
    double f = pow(4.0, s);
    for (int k = 0; k < ND_R - s; k++) {
      for (int c = 0; c < m; c++) {
        a[k * m + c] = (a[(k + 1) * m + c] * f - a[k * m + c]) / (f - 1.0);
      }
    }
  }
}

/* f at x + a e_i + b e_j. */
static hlm_status eval_at(hlm_numderiv_fn fn, void *ctx, int n, const double *x,
                          int i, double a, int j, double b, double *xt,
                          double *f)
{
  memcpy(xt, x, (size_t)n * sizeof *xt);
  xt[i] += a;
  if (j >= 0) {
    xt[j] += b;
  }
  return fn(ctx, xt, f);
}

/* Diagonal entry i of the Hessian (genD's Hdiag). */
static hlm_status hess_diag(hlm_numderiv_fn fn, void *ctx, int n,
                            const double *x, double f0, const double *h0, int i,
                            double *xt, double *out)
{
  hlm_status status = HLM_OK;
  double a[ND_R], h = h0[i], f1 = 0, f2 = 0;
  for (int k = 0; k < ND_R; k++, h /= 2.0) {
    HLM_TRY(eval_at(fn, ctx, n, x, i, h, -1, 0, xt, &f1));
    HLM_TRY(eval_at(fn, ctx, n, x, i, -h, -1, 0, xt, &f2));
    a[k] = (f1 - 2.0 * f0 + f2) / (h * h);
  }
  richardson(a, 1);
  *out = a[0];
cleanup:
  return status;
}

/* Off-diagonal entry (i, j) (genD). */
static hlm_status hess_off(hlm_numderiv_fn fn, void *ctx, int n,
                           const double *x, double f0, const double *h0,
                           const double *H, int i, int j, double *xt,
                           double *out)
{
  hlm_status status = HLM_OK;
  double a[ND_R], hi = h0[i], hj = h0[j], f1 = 0, f2 = 0;
  for (int k = 0; k < ND_R; k++, hi /= 2.0, hj /= 2.0) {
    HLM_TRY(eval_at(fn, ctx, n, x, i, hi, j, hj, xt, &f1));
    HLM_TRY(eval_at(fn, ctx, n, x, i, -hi, j, -hj, xt, &f2));
    a[k] =
        (f1 - 2.0 * f0 + f2 - H[i + n * i] * hi * hi - H[j + n * j] * hj * hj) /
        (2.0 * hi * hj);
  }
  richardson(a, 1);
  *out = a[0];
cleanup:
  return status;
}

hlm_status hlm_numderiv_hessian(hlm_numderiv_fn fn, void *ctx, int n,
                                const double *x, double *H)
{
  hlm_status status = HLM_OK;
  double *h0 = NULL, *xt = NULL, f0 = 0;
  HLM_ALLOC(h0, n);
  HLM_ALLOC(xt, n);
  nd_steps(n, x, 0.1, h0);
  HLM_TRY(fn(ctx, x, &f0));
  for (int i = 0; i < n; i++) {
    HLM_TRY(hess_diag(fn, ctx, n, x, f0, h0, i, xt, &H[i + n * i]));
  }
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < i; j++) {
      HLM_TRY(hess_off(fn, ctx, n, x, f0, h0, H, i, j, xt, &H[i + n * j]));
      H[j + n * i] = H[i + n * j];
    }
  }
cleanup:
  free(h0);
  free(xt);
  return status;
}

hlm_status hlm_numderiv_jacobian(hlm_numderiv_fn fn, void *ctx, int n, int m,
                                 const double *x, double *J)
{
  hlm_status status = HLM_OK;
  double *h = NULL, *xt = NULL, *a = NULL, *f2 = NULL;
  HLM_ALLOC(h, n);
  HLM_ALLOC(xt, n);
  HLM_ALLOC(a, (size_t)ND_R * m);
  HLM_ALLOC(f2, m);
  for (int i = 0; i < n; i++) {
    nd_steps(n, x, 1e-4, h);
    for (int k = 0; k < ND_R; k++) {
      double hi = h[i] / pow(2.0, k);
      HLM_TRY(eval_at(fn, ctx, n, x, i, hi, -1, 0, xt, &a[(size_t)k * m]));
      HLM_TRY(eval_at(fn, ctx, n, x, i, -hi, -1, 0, xt, f2));
      for (int c = 0; c < m; c++) {
        a[(size_t)k * m + c] = (a[(size_t)k * m + c] - f2[c]) / (2.0 * hi);
      }
    }
    richardson(a, m);
    memcpy(&J[(size_t)i * m], a, (size_t)m * sizeof *J);
  }
cleanup:
  free(h);
  free(xt);
  free(a);
  free(f2);
  return status;
}
