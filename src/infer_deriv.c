/* infer_deriv.c: Satterthwaite's derivatives from the analytic gradient
 * (docs/inference.md, "How the derivatives are computed").
 *
 * lmerTest differentiates the unprofiled deviance D(theta, sigma) twice
 * and Var(beta-hat)(theta, sigma) once, numerically, with numDeriv: about
 * 30 n + 8 n^2 criterion evaluations for n variance parameters.  Here:
 *   - d D / d theta is analytic (mme_grad.c with sigma^2 given), so the
 *     theta block of the Hessian is a central difference of the gradient
 *     in each theta (Richardson extrapolation, two step sizes);
 *   - D depends on sigma in closed form: with df = n (ML) or n - p
 *     (REML), d2D / dsigma2 = 6 pwrss / sigma^4 - 2 df / sigma^2 and
 *     d2D / dtheta_i dsigma = -2 / sigma^3 d pwrss / dtheta_i, the latter
 *     from the same differences of pwrss;
 *   - Var(beta-hat) = sigma^2 S(theta)^-1, so its sigma column is
 *     2 Var / sigma and its theta columns are differences of the same
 *     evaluations.
 * 4 ntheta evaluations with their gradients in all.  Where the gradient
 * is not available (a correlated term's factor with a zero diagonal, at or
 * next to the boundary) *ok is 0 and the caller uses numDeriv. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer_internal.h"
#include "mme_grad.h"

#define STEP_REL 1e-3 /* step: STEP_REL |theta_i| ...                */
#define STEP_ABS 1e-4 /* ... or STEP_ABS when |theta_i| < STEP_SMALL */
#define STEP_SMALL 1e-2
#define LEVELS 2 /* Richardson: h and h / 2 */

/* val := (the theta gradient of D, pwrss, Var(beta-hat)) at vp. */
static hlm_status eval_point(hlm_varpar *v, const double *vp, double *val,
                             int *ok)
{
  hlm_status status = HLM_OK;
  int nt = v->ntheta, gok = 1;
  double s2 = v->known_sd ? 1.0 : vp[nt] * vp[nt];
  HLM_TRY(hlm_varpar_vcov_pwrss(v, vp, val + nt + 1, val + nt));
  HLM_TRY(hlm_mme_gradient_s2(v->m, vp, v->reml, s2, val, NULL, &gok));
  *ok &= gok;
cleanup:
  return status;
}

/* out := d val / d theta_i by central differences and Richardson. */
static hlm_status difference(hlm_varpar *v, const double *vp, int i, int m,
                             double *out, int *ok)
{
  hlm_status status = HLM_OK;
  int n = v->ntheta + !v->known_sd;
  double *xt = NULL, *lo = NULL, *a = NULL;
  double h = fabs(vp[i]) < STEP_SMALL ? STEP_ABS : STEP_REL * fabs(vp[i]);
  HLM_ALLOC(xt, n);
  HLM_ALLOC(lo, m);
  HLM_ALLOC(a, (size_t)LEVELS * m);
  for (int k = 0; k < LEVELS; k++, h /= 2.0) {
    memcpy(xt, vp, (size_t)n * sizeof *xt);
    xt[i] = vp[i] + h;
    HLM_TRY(eval_point(v, xt, &a[(size_t)k * m], ok));
    xt[i] = vp[i] - h;
    HLM_TRY(eval_point(v, xt, lo, ok));
    for (int c = 0; c < m; c++) {
      a[(size_t)k * m + c] = (a[(size_t)k * m + c] - lo[c]) / (2.0 * h);
    }
  }
  for (int c = 0; c < m; c++) { /* error O(h^2): (4 a(h/2) - a(h)) / 3 */
    out[c] = (4.0 * a[(size_t)m + c] - a[c]) / 3.0;
  }
cleanup:
  free(xt);
  free(lo);
  free(a);
  return status;
}

/* The sigma row and column of H and the sigma column of J. */
static void sigma_terms(const hlm_varpar *v, const double *vp,
                        const double *center, const double *dpw, double *H,
                        double *J)
{
  int nt = v->ntheta, n = nt + 1, pp = v->p * v->p;
  double s = vp[nt], nobs = (double)hlm_design_nobs(v->m->d);
  double df = v->reml ? nobs - v->p : nobs, pwrss = center[nt];
  for (int i = 0; i < nt; i++) {
    H[nt + n * i] = H[i + n * nt] = -2.0 * dpw[i] / (s * s * s);
  }
  H[nt + n * nt] = 6.0 * pwrss / (s * s * s * s) - 2.0 * df / (s * s);
  for (int c = 0; c < pp; c++) {
    J[(size_t)nt * pp + c] = 2.0 * center[nt + 1 + c] / s;
  }
}

hlm_status hlm_varpar_derivs(hlm_varpar *v, const double *vp, double *H,
                             double *J, int *ok)
{
  hlm_status status = HLM_OK;
  int nt = v->ntheta, n = nt + !v->known_sd, pp = v->p * v->p;
  int m = nt + 1 + pp;
  double *center = NULL, *d = NULL, *dpw = NULL;
  *ok = 1;
  HLM_ALLOC(center, m);
  HLM_ALLOC(d, (size_t)nt * m);
  HLM_ALLOC(dpw, nt);
  HLM_TRY(eval_point(v, vp, center, ok));
  for (int i = 0; i < nt && *ok; i++) {
    HLM_TRY(difference(v, vp, i, m, &d[(size_t)i * m], ok));
  }
  if (!*ok) {
    goto cleanup;
  }
  for (int i = 0; i < nt; i++) {
    const double *di = &d[(size_t)i * m];
    for (int r = 0; r < nt; r++) { /* symmetric part of the differences */
      H[r + n * i] = 0.5 * (di[r] + d[(size_t)r * m + i]);
    }
    dpw[i] = di[nt];
    memcpy(&J[(size_t)i * pp], di + nt + 1, (size_t)pp * sizeof *J);
  }
  if (!v->known_sd) {
    sigma_terms(v, vp, center, dpw, H, J);
  }
cleanup:
  free(center);
  free(d);
  free(dpw);
  return status;
}
