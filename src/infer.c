/* infer.c: t tests of fixed effects and contrasts with Satterthwaite,
 * residual or asymptotic df (docs/inference.md), as lmerTest computes
 * them:
 *   A   = 2 H^+, H the Hessian of the unprofiled deviance in
 *         vp = (theta, sigma) at the optimum, H^+ its pseudo-inverse over
 *         the eigenvalues above 1e-8 (lmerTest's tol);
 *   J_i = dVar(beta-hat)/dvp_i;
 *   for L'beta: v = L'VL, g_i = L'J_iL, df = 2 v^2 / (g'Ag). */
#include <gsl/gsl_cdf.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"
#include "hlm/comm.h"
#include "hlm/infer.h"
#include "infer_internal.h"

#define EIG_TOL 1e-8

void hlm_infer_options_default(hlm_infer_options *o)
{
  memset(o, 0, sizeof *o);
  o->df = HLM_DF_SATTERTHWAITE;
  o->level = 0.95;
}

/* ---- A and J ---------------------------------------------------------- */

static hlm_status dev_fn(void *ctx, const double *x, double *f)
{
  return hlm_varpar_deviance(ctx, x, f);
}

static hlm_status vcov_fn(void *ctx, const double *x, double *f)
{
  return hlm_varpar_vcov(ctx, x, f);
}

/* A = 2 H^+ over the eigenvalues > EIG_TOL; counts the negative and
 * near-zero eigenvalues (lmerTest warns about them). */
static hlm_status pseudo_inverse(hlm_infer *inf, double *H)
{
  hlm_status status = HLM_OK;
  int n = inf->nvp;
  double *w = NULL;
  HLM_ALLOC(w, n);
  int info = LAPACKE_dsyev(LAPACK_COL_MAJOR, 'V', 'L', n, H, n, w);
  HLM_LAPACK_CHECK(info, "dsyev", "eigenvalues of the deviance's Hessian");
  memset(inf->A, 0, (size_t)n * n * sizeof *inf->A);
  for (int e = 0; e < n; e++) {
    inf->neg_eig += w[e] < -EIG_TOL;
    inf->zero_eig += fabs(w[e]) <= EIG_TOL;
    if (w[e] <= EIG_TOL) {
      continue;
    }
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < n; i++) {
        inf->A[i + n * j] += 2.0 * H[i + n * e] * H[j + n * e] / w[e];
      }
    }
  }
cleanup:
  free(w);
  return status;
}

/* H and J from the analytic gradient, or numDeriv's as lmerTest where it
 * is not available (HLM_SATTERTHWAITE=numderiv forces that). */
static hlm_status derivatives(hlm_varpar *v, int n, int p, const double *vp,
                              double *H, double *J)
{
  hlm_status status = HLM_OK;
  const char *env = getenv("HLM_SATTERTHWAITE");
  int ok = 0, analytic = env == NULL || strcmp(env, "numderiv") != 0;
  /* agreed: the environment may differ between hosts */
  HLM_MPI(
      MPI_Allreduce(MPI_IN_PLACE, &analytic, 1, MPI_INT, MPI_MIN, v->m->comm));
  if (analytic) {
    HLM_TRY(hlm_varpar_derivs(v, vp, H, J, &ok));
  }
  if (!ok) {
    HLM_TRY(hlm_numderiv_hessian(dev_fn, v, n, vp, H));
    HLM_TRY(hlm_numderiv_jacobian(vcov_fn, v, n, p * p, vp, J));
  }
cleanup:
  return status;
}

static hlm_status satterthwaite_setup(MPI_Comm comm, const hlm_design *d,
                                      const hlm_fit *f, hlm_infer *inf)
{
  hlm_status status = HLM_OK;
  hlm_varpar *v = NULL;
  double *vp = NULL, *H = NULL;
  int n = inf->nvp, p = inf->p;
  HLM_ALLOC(vp, n);
  HLM_ALLOC(H, (size_t)n * n);
  HLM_ALLOC(inf->A, (size_t)n * n);
  HLM_ALLOC(inf->J, (size_t)p * p * n);
  memcpy(vp, hlm_fit_theta(f), (size_t)hlm_fit_ntheta(f) * sizeof *vp);
  if (n > hlm_fit_ntheta(f)) {
    vp[n - 1] = hlm_fit_sigma(f);
  }
  hlm_mme *m = hlm_fit_mme(f, d); /* the fit's cross-products, if kept */
  HLM_TRY(m != NULL ? hlm_varpar_create_from(m, d, hlm_fit_reml(f), &v)
                    : hlm_varpar_create(comm, d, hlm_fit_reml(f), &v));
  HLM_TRY(derivatives(v, n, p, vp, H, inf->J));
  /* every rank holds the same values; rank 0's are the ones used */
  HLM_MPI(MPI_Bcast(H, n * n, MPI_DOUBLE, 0, comm));
  HLM_MPI(MPI_Bcast(inf->J, p * p * n, MPI_DOUBLE, 0, comm));
  HLM_TRY(pseudo_inverse(inf, H));
cleanup:
  hlm_varpar_destroy(&v);
  free(vp);
  free(H);
  return status;
}

/* ---- tests ------------------------------------------------------------ */

/* L'ML for a p x p matrix M. */
static double quad(const double *L, const double *M, int p)
{
  double s = 0.0;
  for (int j = 0; j < p; j++) {
    for (int i = 0; i < p; i++) {
      s += L[i] * M[i + (size_t)p * j] * L[j];
    }
  }
  return s;
}

hlm_status hlm_infer_satterthwaite(const hlm_infer *inf, const double *L,
                                   double *var, double *df)
{
  hlm_status status = HLM_OK;
  int n = inf->nvp, p = inf->p;
  double g[64], denom = 0.0;
  HLM_CHECK(inf->A != NULL && n <= 64, HLM_ERR_INVALID_ARG,
            "Satterthwaite's df were not computed for this fit");
  *var = quad(L, inf->V, p);
  for (int i = 0; i < n; i++) {
    g[i] = quad(L, &inf->J[(size_t)p * p * i], p);
  }
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < n; j++) {
      denom += g[i] * inf->A[i + n * j] * g[j];
    }
  }
  *df = 2.0 * *var * *var / denom;
cleanup:
  return status;
}

static hlm_status one_test(const hlm_infer *inf, const double *L,
                           hlm_infer_test *t)
{
  hlm_status status = HLM_OK;
  double var = quad(L, inf->V, inf->p), q = 0.0;
  t->estimate = 0.0;
  for (int j = 0; j < inf->p; j++) {
    t->estimate += L[j] * inf->beta[j];
  }
  if (inf->df == HLM_DF_SATTERTHWAITE) {
    HLM_TRY(hlm_infer_satterthwaite(inf, L, &var, &t->df));
  } else if (inf->df == HLM_DF_RESIDUAL) {
    t->df = (double)(inf->nobs - inf->p);
  } else if (inf->df == HLM_DF_DESIGN) {
    t->df = inf->design_df;
  } else {
    t->df = INFINITY;
  }
  t->se = sqrt(var);
  t->t = t->estimate / t->se;
  if (isinf(t->df)) {
    t->p = 2.0 * gsl_cdf_ugaussian_Q(fabs(t->t));
    q = gsl_cdf_ugaussian_Pinv(0.5 + inf->level / 2.0);
  } else if (t->df > 0) {
    t->p = 2.0 * gsl_cdf_tdist_Q(fabs(t->t), t->df);
    q = gsl_cdf_tdist_Pinv(0.5 + inf->level / 2.0, t->df);
  } else {
    t->p = q = NAN;
  }
  t->lower = t->estimate - q * t->se;
  t->upper = t->estimate + q * t->se;
cleanup:
  return status;
}

static hlm_status copy_contrasts(hlm_infer *inf, const hlm_infer_options *o)
{
  hlm_status status = HLM_OK;
  int p = inf->p;
  inf->ncon = o->ncontrast;
  HLM_ALLOC(inf->con, o->ncontrast);
  HLM_ALLOC(inf->con_name, o->ncontrast);
  HLM_ALLOC(inf->conL, (size_t)o->ncontrast * p);
  for (int c = 0; c < o->ncontrast; c++) {
    HLM_TRY(hlm_fit_strdup(o->contrast[c].name, &inf->con_name[c]));
    inf->con[c].name = inf->con_name[c];
    memcpy(&inf->conL[(size_t)c * p], o->contrast[c].L, p * sizeof(double));
  }
cleanup:
  return status;
}

static hlm_status run_tests(hlm_infer *inf, const hlm_fit *f)
{
  hlm_status status = HLM_OK;
  int p = inf->p;
  double *L = NULL;
  HLM_ALLOC(L, p);
  HLM_ALLOC(inf->fixed, p);
  for (int j = 0; j < p; j++) {
    memset(L, 0, p * sizeof *L);
    L[j] = 1.0;
    inf->fixed[j].name = hlm_fit_fixed_name(f, j);
    HLM_TRY(one_test(inf, L, &inf->fixed[j]));
  }
  for (int c = 0; c < inf->ncon; c++) {
    HLM_TRY(one_test(inf, &inf->conL[(size_t)c * p], &inf->con[c]));
  }
cleanup:
  free(L);
  return status;
}

static hlm_status infer_local(MPI_Comm comm, const hlm_design *d,
                              const hlm_fit *f, const hlm_infer_options *o,
                              hlm_infer *inf)
{
  hlm_status status = HLM_OK;
  int p = hlm_fit_nfixed(f);
  inf->df = o->df;
  inf->level = o->level;
  inf->p = p;
  /* (theta, sigma); theta alone when the residual SDs are known */
  inf->nvp = hlm_fit_ntheta(f) + !hlm_design_known_sd(d);
  inf->nobs = hlm_fit_nobs(f);
  inf->sigma = hlm_fit_sigma(f);
  HLM_CHECK(o->level > 0 && o->level < 1, HLM_ERR_INVALID_ARG,
            "confidence level %g is not between 0 and 1", o->level);
  HLM_ALLOC(inf->beta, p);
  HLM_ALLOC(inf->V, (size_t)p * p);
  memcpy(inf->beta, hlm_fit_fixef(f), p * sizeof *inf->beta);
  memcpy(inf->V, o->vcov ? o->vcov : hlm_fit_vcov(f),
         (size_t)p * p * sizeof *inf->V);
  inf->robust = o->vcov != NULL;
  inf->design_df = o->design_df;
  HLM_TRY(copy_contrasts(inf, o));
  if (o->df == HLM_DF_SATTERTHWAITE) {
    HLM_TRY(satterthwaite_setup(comm, d, f, inf));
  }
  HLM_TRY(run_tests(inf, f));
  HLM_TRY(hlm_infer_anova_run(comm, d, o, inf));
cleanup:
  return status;
}

hlm_status hlm_infer_run(MPI_Comm comm, const hlm_design *d, const hlm_fit *f,
                         const hlm_infer_options *o, hlm_infer **out)
{
  hlm_status status = HLM_OK;
  hlm_infer *inf = NULL;
  hlm_infer_options def;
  *out = NULL;
  if (o == NULL) {
    hlm_infer_options_default(&def);
    o = &def;
  }
  HLM_ALLOC(inf, 1);
  status = infer_local(comm, d, f, o, inf);
  HLM_TRY(hlm_comm_agree(comm, status, "inference", NULL));
  *out = inf;
  inf = NULL;
cleanup:
  hlm_infer_destroy(&inf);
  return status;
}

void hlm_infer_destroy(hlm_infer **inf)
{
  if (inf == NULL || *inf == NULL) {
    return;
  }
  hlm_infer *x = *inf;
  for (int c = 0; x->con_name && c < x->ncon; c++) {
    free(x->con_name[c]);
  }
  free(x->con_name);
  free(x->con);
  free(x->conL);
  free(x->fixed);
  free(x->beta);
  free(x->V);
  free(x->A);
  free(x->J);
  hlm_infer_anova_free(x);
  free(x);
  *inf = NULL;
}

int hlm_infer_nfixed(const hlm_infer *inf)
{
  return inf->p;
}

const hlm_infer_test *hlm_infer_fixed(const hlm_infer *inf, int j)
{
  return &inf->fixed[j];
}

int hlm_infer_ncontrast(const hlm_infer *inf)
{
  return inf->ncon;
}

const hlm_infer_test *hlm_infer_contrast_test(const hlm_infer *inf, int c)
{
  return &inf->con[c];
}

int hlm_infer_nvarpar(const hlm_infer *inf)
{
  return inf->nvp;
}

const double *hlm_infer_varpar_cov(const hlm_infer *inf)
{
  return inf->A;
}
