/* MPI test (issue 15): the distributed global system (ScaLAPACK, threshold
 * 0) gives the same answers as the replicated one (LAPACK) on the same
 * ranks.  At several theta (lme4's start, scaled, one variance at 0) the
 * REML and ML criteria agree to 1e-12 relative; REML and ML fits with
 * BOBYQA and with the quasi-Newton optimizer (analytic gradient, which
 * needs entries of the distributed S^-1) agree: criterion 1e-9 relative,
 * theta, fixed effects, SEs, variance components, sigma, logLik, AIC,
 * BIC, conditional modes and variances (relative to the largest in their
 * column) TOL = 1e-6 relative.  The two factorizations round differently
 * (about 1e-16 in the criterion), so BOBYQA takes a slightly different
 * path, as it does between rank counts with S distributed
 * (fit_ranks_scalapack.*, 1e-7); observed here: below 1e-7.  TOL sits
 * between engine I's rank-count tolerance (1e-7) and its tolerance
 * against lme4 (1e-6 for fixed effects, 1e-5 for SDs).
 * usage: test_scalapack DATA.h5 FORMULA CLUSTER */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_util.h"

#define TOL 1e-6

static int rank = 0, nbad = 0;
static double worst_crit = 0, worst_est = 0;

#define EXPECT(cond, ...)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      if (nbad++ < 30) {                                                       \
        fprintf(stderr, "rank %d: check failed: ", rank);                      \
        fprintf(stderr, __VA_ARGS__);                                          \
        fprintf(stderr, "\n");                                                 \
      }                                                                        \
    }                                                                          \
  } while (0)

static void cmp(const char *what, const char *s, double got, double want,
                double scale, double tol, double *worst)
{
  double rel = fabs(got - want) / (scale > 0 ? scale : 1.0);
  *worst = rel > *worst ? rel : *worst;
  EXPECT(rel <= tol, "%s (%s): %.15g vs %.15g with LAPACK (rel %.3g)", what, s,
         got, want, rel);
}

static void cmp_array(const char *what, const char *s, const double *got,
                      const double *want, int n)
{
  for (int i = 0; i < n; i++) {
    cmp(what, s, got[i], want[i], fabs(want[i]), TOL, &worst_est);
  }
}

static void cmp_ranef(const char *s, const hlm_fit *f, const hlm_fit *ref)
{
  for (int r = 0; r < hlm_fit_nterms(ref); r++) {
    hlm_ranef a, b;
    hlm_fit_ranef(f, r, &a);
    hlm_fit_ranef(ref, r, &b);
    EXPECT(a.nlevels == b.nlevels, "term %d: %lld levels vs %lld", r,
           (long long)a.nlevels, (long long)b.nlevels);
    for (int k = 0; k < b.ncols && a.nlevels == b.nlevels; k++) {
      double su = 0, sv = 0;
      for (int64_t l = 0; l < b.nlevels; l++) {
        su = fmax(su, fabs(b.values[l * b.ncols + k]));
        sv = fmax(sv, fabs(b.condvar[l * b.ncols + k]));
      }
      for (int64_t l = 0; l < b.nlevels; l++) {
        int64_t i = l * b.ncols + k;
        EXPECT(!strcmp(a.label[l], b.label[l]), "level %lld: %s vs %s",
               (long long)l, a.label[l], b.label[l]);
        cmp("ranef", s, a.values[i], b.values[i], su, TOL, &worst_est);
        cmp("condvar", s, a.condvar[i], b.condvar[i], sv, TOL, &worst_est);
      }
    }
  }
}

static void compare(const char *s, const hlm_fit *f, const hlm_fit *ref)
{
  cmp("criterion", s, hlm_fit_criterion(f), hlm_fit_criterion(ref),
      fabs(hlm_fit_criterion(ref)), 1e-9, &worst_crit);
  cmp_array("theta", s, hlm_fit_theta(f), hlm_fit_theta(ref),
            hlm_fit_ntheta(ref));
  cmp_array("fixef", s, hlm_fit_fixef(f), hlm_fit_fixef(ref),
            hlm_fit_nfixed(ref));
  cmp_array("fixef_se", s, hlm_fit_fixef_se(f), hlm_fit_fixef_se(ref),
            hlm_fit_nfixed(ref));
  double sc[4] = {hlm_fit_sigma(f), hlm_fit_loglik(f), hlm_fit_aic(f),
                  hlm_fit_bic(f)};
  double sr[4] = {hlm_fit_sigma(ref), hlm_fit_loglik(ref), hlm_fit_aic(ref),
                  hlm_fit_bic(ref)};
  cmp_array("sigma/logLik/AIC/BIC", s, sc, sr, 4);
  for (int i = 0; i < hlm_fit_nvarcorr(ref); i++) {
    double scale = fmax(fabs(hlm_fit_varcorr(ref, i)->sdcor), 1e-300);
    cmp("varcorr", s, hlm_fit_varcorr(f, i)->sdcor,
        hlm_fit_varcorr(ref, i)->sdcor, scale, TOL, &worst_est);
  }
  EXPECT(hlm_fit_nobs(f) == hlm_fit_nobs(ref), "nobs");
  EXPECT(hlm_fit_singular(f) == hlm_fit_singular(ref), "singular");
  cmp_ranef(s, f, ref);
}

/* Collective: the fit with S replicated (threshold huge) or distributed
 * (threshold 0). */
static hlm_fit *fit_with(hlm_design *d, int reml, int optimizer, int dist)
{
  hlm_fit *f = NULL;
  hlm_fit_options o;
  hlm_fit_options_default(&o);
  o.reml = reml;
  o.optimizer = optimizer;
  hlm_design_set_scalapack_threshold(d, dist ? 0 : 1000000);
  hlm_status st = hlm_fit_run(MPI_COMM_WORLD, d, &o, &f);
  EXPECT(st == HLM_OK, "fit (%s): %s", dist ? "ScaLAPACK" : "LAPACK",
         hlm_error_message());
  return f;
}

/* Collective: the criteria at a few theta, both paths. */
static void criteria(hlm_design *d)
{
  int nt = hlm_design_ntheta(d);
  double *th = calloc((size_t)nt, sizeof *th);
  for (int c = 0; c < 3; c++) {
    for (int i = 0; i < nt; i++) {
      th[i] = c == 0 ? 1.0 : c == 1 ? 0.3 + 0.7 * i : (i == 0 ? 0.0 : 2.0);
    }
    for (int reml = 0; reml <= 1; reml++) {
      double v[2] = {0, 0};
      for (int dist = 0; dist <= 1; dist++) {
        hlm_design_set_scalapack_threshold(d, dist ? 0 : 1000000);
        hlm_status st =
            hlm_fit_criterion_at(MPI_COMM_WORLD, d, reml, th, &v[dist]);
        EXPECT(st == HLM_OK, "criterion: %s", hlm_error_message());
      }
      cmp(reml ? "REML criterion at theta" : "ML criterion at theta",
          c == 0   ? "start"
          : c == 1 ? "scaled"
                   : "zero",
          v[1], v[0], fabs(v[0]), 1e-12, &worst_crit);
    }
  }
  free(th);
}

int main(int argc, char **argv)
{
  int size = 1, total = 0;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  hlm_error_install_handlers();
  if (argc < 4) {
    fprintf(stderr, "usage: test_scalapack DATA.h5 FORMULA CLUSTER\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  hlm_design *d = NULL;
  if (fit_util_load(MPI_COMM_WORLD, argv[1], argv[2], argv[3], &d) != HLM_OK) {
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  criteria(d);
  for (int opt = 0; opt <= 1; opt++) {
    for (int reml = 1; reml >= 0; reml--) {
      const char *what =
          opt ? (reml ? "REML, quasi-Newton" : "ML, quasi-Newton")
              : (reml ? "REML, BOBYQA" : "ML, BOBYQA");
      int optimizer = opt ? HLM_FIT_NEWTON : HLM_FIT_BOBYQA;
      hlm_fit *ref = fit_with(d, reml, optimizer, 0);
      hlm_fit *f = fit_with(d, reml, optimizer, 1);
      if (rank == 0 && f && ref) {
        compare(what, f, ref);
        printf("%s: criterion %.15g (LAPACK %.15g), %d evaluations (LAPACK "
               "%d)\n",
               what, hlm_fit_criterion(f), hlm_fit_criterion(ref),
               hlm_fit_evaluations(f), hlm_fit_evaluations(ref));
      }
      hlm_fit_destroy(&f);
      hlm_fit_destroy(&ref);
    }
  }
  hlm_design_destroy(&d);
  MPI_Allreduce(&nbad, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("test_scalapack %s: %d ranks, largest differences from LAPACK: "
           "criterion %.3g, estimates %.3g; %d failed checks\n",
           argv[1], size, worst_crit, worst_est, total);
  }
  MPI_Finalize();
  return total != 0;
}
