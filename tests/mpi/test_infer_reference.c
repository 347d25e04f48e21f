/* MPI test of Satterthwaite's df against lmerTest (lme4.json's
 * satterthwaite_df_REML, lmerTest 3.1 on lme4 1.1-31):
 *   - df of every fixed effect within 1e-4 relative;
 *   - SE equal to lme4's fixef_se (1e-6 relative);
 *   - the CI: estimate -/+ qt(0.975, df) SE computed here from lme4's
 *     estimate, SE and lmerTest's df with GSL (1e-6 relative);
 *   - p = 2 P(T_df > |t|) likewise;
 *   - a contrast equal to one coefficient gives that coefficient's test;
 *     a two-coefficient contrast has var L'VL of the fit's vcov (computed
 *     here) and the df of hlm_infer_satterthwaite;
 *   - the same df on every rank;
 *   - the derivatives behind the df: the Hessian of the deviance and the
 *     Jacobian of Var(beta-hat) from the analytic gradient (the default,
 *     src/infer_deriv.c) equal numDeriv's Richardson differences of the
 *     deviance (lmerTest's method, src/infer_varpar.c) within 1e-6
 *     relative to the largest entry of each.
 * usage: test_infer_reference DATA.h5 lme4.json FORMULA CLUSTER */
#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_util.h"
#include "hlm/infer.h"
#include "infer_internal.h"

static int rank = 0, nbad = 0, nchecked = 0;
static double worst_df = 0;

static void close_to(const char *what, const char *name, double got,
                     double want, double rel)
{
  double r = fit_util_reldiff(got, want);
  nchecked++;
  if (!(r <= rel)) {
    nbad++;
    fprintf(stderr, "rank %d: %s %s: got %.12g, want %.12g (rel %.3g)\n", rank,
            what, name, got, want, r);
  }
}

static double num(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static void check_fixed(const hlm_infer *inf, json_t *ref)
{
  json_t *sdf = json_object_get(ref, "satterthwaite_df_REML");
  json_t *reml = json_object_get(ref, "REML");
  json_t *fx = json_object_get(reml, "fixef");
  json_t *se = json_object_get(reml, "fixef_se");
  nchecked++;
  if (json_object_size(sdf) != (size_t)hlm_infer_nfixed(inf)) {
    nbad++;
    fprintf(stderr, "rank %d: %d fixed effects, lmerTest has %zu\n", rank,
            hlm_infer_nfixed(inf), json_object_size(sdf));
  }
  for (int j = 0; j < hlm_infer_nfixed(inf); j++) {
    const hlm_infer_test *t = hlm_infer_fixed(inf, j);
    double df = num(sdf, t->name), s = num(se, t->name), b = num(fx, t->name);
    double q = gsl_cdf_tdist_Pinv(0.975, df);
    double p = 2.0 * gsl_cdf_tdist_Q(fabs(b / s), df);
    double r = fit_util_reldiff(t->df, df);
    worst_df = r > worst_df ? r : worst_df;
    if (rank == 0) {
      printf("%-24s df %.10g lmerTest %.10g (rel %.2g)\n", t->name, t->df, df,
             r);
    }
    close_to("df", t->name, t->df, df, 1e-4);
    close_to("SE", t->name, t->se, s, 1e-6);
    close_to("CI lower", t->name, t->lower, b - q * s, 1e-6);
    close_to("CI upper", t->name, t->upper, b + q * s, 1e-6);
    close_to("p", t->name, t->p, p, 1e-4);
  }
}

/* Contrasts: e_last, and (Intercept) + last when p > 1. */
static void check_contrasts(const hlm_infer *inf, const hlm_fit *f)
{
  int p = hlm_infer_nfixed(inf);
  const double *V = hlm_fit_vcov(f), *beta = hlm_fit_fixef(f);
  const hlm_infer_test *c0 = hlm_infer_contrast_test(inf, 0);
  const hlm_infer_test *tl = hlm_infer_fixed(inf, p - 1);
  close_to("contrast e_p df", tl->name, c0->df, tl->df, 1e-12);
  close_to("contrast e_p estimate", tl->name, c0->estimate, tl->estimate,
           1e-12);
  if (p > 1) {
    const hlm_infer_test *c1 = hlm_infer_contrast_test(inf, 1);
    double var = V[0] + V[(size_t)p * p - 1] + 2.0 * V[p - 1], v2 = 0, df = 0;
    double *L = calloc((size_t)p, sizeof *L);
    L[0] = L[p - 1] = 1.0;
    hlm_infer_satterthwaite(inf, L, &v2, &df);
    free(L);
    close_to("contrast sum estimate", "", c1->estimate, beta[0] + beta[p - 1],
             1e-12);
    close_to("contrast sum SE", "", c1->se, sqrt(var), 1e-10);
    close_to("contrast sum df", "", c1->df, df, 1e-12);
  }
}

static double max_abs(const double *x, size_t n)
{
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    m = fabs(x[i]) > m ? fabs(x[i]) : m;
  }
  return m;
}

/* noise: numDeriv's own rounding error (absolute), added to 1e-6 of the
 * largest entry. */
static void compare_scaled(const char *what, const double *a, const double *b,
                           size_t n, double noise)
{
  double scale = max_abs(b, n), worst = 0;
  for (size_t i = 0; i < n; i++) {
    double r = fabs(a[i] - b[i]) / scale;
    worst = r > worst ? r : worst;
  }
  close_to(what, "largest difference / largest entry", worst, 0,
           1e-6 + noise / scale);
  if (rank == 0) {
    printf("%s: analytic vs numDeriv %.3g\n", what, worst);
  }
}

static hlm_status fn_dev(void *ctx, const double *x, double *f)
{
  return hlm_varpar_deviance(ctx, x, f);
}

static hlm_status fn_vcov(void *ctx, const double *x, double *f)
{
  return hlm_varpar_vcov(ctx, x, f);
}

/* A bound on the rounding error of numDeriv's Hessian: second differences
 * of a deviance D with the smallest step h (h0 / 8, h0 = 0.1 |x|, plus
 * 1e-4 near 0: numDeriv's zero.tol), amplified by Richardson: 8 eps |D| / h^2.
 * It matters only at theta = 0 (dyestuff2): steps of 1.25e-5 on D ~ 160 lose
 * ~2e-4. */
static double hessian_noise(hlm_varpar *v, int n, const double *vp)
{
  double dev = 0, hmin = INFINITY;
  if (hlm_varpar_deviance(v, vp, &dev) != HLM_OK) {
    return NAN;
  }
  for (int i = 0; i < n; i++) {
    double h0 =
        0.1 * fabs(vp[i]) + 1e-4 * (fabs(vp[i]) < sqrt(DBL_EPSILON / 7e-7));
    hmin = h0 / 8 < hmin ? h0 / 8 : hmin;
  }
  return 8 * DBL_EPSILON * fabs(dev) / (hmin * hmin);
}

/* The analytic-gradient derivatives against numDeriv's at the optimum. */
static void check_derivatives(const hlm_design *d, const hlm_fit *f)
{
  hlm_varpar *v = NULL;
  int nt = hlm_fit_ntheta(f), n = nt + !hlm_design_known_sd(d);
  int pp = hlm_fit_nfixed(f) * hlm_fit_nfixed(f), ok = 0;
  double vp[64], *H = calloc(4 * (size_t)n * n, sizeof *H);
  double *J = calloc(2 * (size_t)pp * n, sizeof *J);
  memcpy(vp, hlm_fit_theta(f), (size_t)nt * sizeof *vp);
  vp[n - 1] = n > nt ? hlm_fit_sigma(f) : vp[n - 1];
  if (H == NULL || J == NULL ||
      hlm_varpar_create(MPI_COMM_WORLD, d, hlm_fit_reml(f), &v) != HLM_OK ||
      hlm_varpar_derivs(v, vp, H, J, &ok) != HLM_OK ||
      hlm_numderiv_hessian(fn_dev, v, n, vp, H + n * n) != HLM_OK ||
      hlm_numderiv_jacobian(fn_vcov, v, n, pp, vp, J + (size_t)pp * n) !=
          HLM_OK) {
    fprintf(stderr, "rank %d: derivatives: %s\n", rank, hlm_error_message());
    nbad++;
  } else if (!ok) {
    printf("derivatives: the gradient is not available at this optimum\n");
  } else {
    compare_scaled("Hessian", H, H + n * n, (size_t)n * n,
                   hessian_noise(v, n, vp));
    compare_scaled("Jacobian", J, J + (size_t)pp * n, (size_t)pp * n, 0);
  }
  hlm_varpar_destroy(&v);
  free(H);
  free(J);
}

/* The same df bits on every rank. */
static void check_ranks(const hlm_infer *inf)
{
  int p = hlm_infer_nfixed(inf);
  for (int j = 0; j < p; j++) {
    double lo = hlm_infer_fixed(inf, j)->df, hi = lo;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    close_to("df across ranks", hlm_infer_fixed(inf, j)->name, lo, hi, 0);
  }
}

static int run(const char *h5, json_t *ref, const char *formula,
               const char *cluster)
{
  hlm_design *d = NULL;
  hlm_fit *f = NULL;
  hlm_infer *inf = NULL;
  hlm_infer_options o;
  hlm_infer_contrast con[2];
  double *L = NULL;
  int p = 0;
  if (fit_util_load(MPI_COMM_WORLD, h5, formula, cluster, &d) != HLM_OK ||
      hlm_fit_run(MPI_COMM_WORLD, d, NULL, &f) != HLM_OK) {
    return 1;
  }
  p = hlm_fit_nfixed(f);
  L = calloc(2 * (size_t)p, sizeof *L);
  L[p - 1] = 1.0;
  L[p] = 1.0;
  L[2 * p - 1] += 1.0;
  con[0] = (hlm_infer_contrast){"last", L};
  con[1] = (hlm_infer_contrast){"sum", L + p};
  hlm_infer_options_default(&o);
  o.ncontrast = p > 1 ? 2 : 1;
  o.contrast = con;
  if (hlm_infer_run(MPI_COMM_WORLD, d, f, &o, &inf) != HLM_OK) {
    fprintf(stderr, "rank %d: %s\n", rank, hlm_error_message());
    nbad++;
  } else {
    check_fixed(inf, ref);
    check_contrasts(inf, f);
    check_ranks(inf);
    check_derivatives(d, f);
  }
  free(L);
  hlm_infer_destroy(&inf);
  hlm_fit_destroy(&f);
  hlm_design_destroy(&d);
  return 0;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  gsl_set_error_handler_off();
  if (argc != 5) {
    fprintf(stderr, "usage: %s DATA.h5 lme4.json FORMULA CLUSTER\n", argv[0]);
    MPI_Finalize();
    return 2;
  }
  json_error_t err;
  json_t *ref = json_load_file(argv[2], 0, &err);
  if (ref == NULL) {
    fprintf(stderr, "%s: %s\n", argv[2], err.text);
    MPI_Finalize();
    return 2;
  }
  int bad = run(argv[1], ref, argv[3], argv[4]);
  json_decref(ref);
  if (rank == 0) {
    printf("%d checks, %d failed; worst df rel diff %.3g\n", nchecked, nbad,
           worst_df);
  }
  MPI_Allreduce(MPI_IN_PLACE, &nbad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Finalize();
  return bad || nbad ? 1 : 0;
}
