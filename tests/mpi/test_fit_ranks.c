/* MPI test: a fit does not depend on the number of ranks.  Run at np
 * ranks, it fits the model (REML and ML) on sub-communicators of 1, 2, ...,
 * np ranks (world ranks 0 .. s-1), one after the other, and compares every
 * fit with the one-rank fit: the criterion within 1e-9 relative, theta,
 * fixed effects, SEs, variance components, sigma, logLik, AIC, BIC and the
 * conditional modes and variances (in global cluster order, labels equal)
 * within 1e-7 relative (for a mode or variance: relative to the largest
 * magnitude in its column).  Sub-communicators larger than the number of
 * clusters leave ranks without data.
 * usage: test_fit_ranks DATA.h5 FORMULA CLUSTER [WEIGHTS]
 * (WEIGHTS: the column of lme4's precision weights, issue 8) */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_util.h"

static int rank = 0, nbad = 0;
static const char *wcol; /* weights column or NULL */
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

static void cmp(const char *what, int s, double got, double want, double scale,
                double tol, double *worst)
{
  double rel = fabs(got - want) / (scale > 0 ? scale : 1.0);
  *worst = rel > *worst ? rel : *worst;
  EXPECT(rel <= tol, "%s at %d ranks: %.15g vs %.15g at 1 rank (rel %.3g)",
         what, s, got, want, rel);
}

static void cmp_array(const char *what, int s, const double *got,
                      const double *want, int n)
{
  for (int i = 0; i < n; i++) {
    cmp(what, s, got[i], want[i], fabs(want[i]), 1e-7, &worst_est);
  }
}

static void cmp_ranef(int s, const hlm_fit *f, const hlm_fit *ref)
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
        cmp("ranef", s, a.values[i], b.values[i], su, 1e-7, &worst_est);
        cmp("condvar", s, a.condvar[i], b.condvar[i], sv, 1e-7, &worst_est);
      }
    }
  }
}

static void compare(int s, const hlm_fit *f, const hlm_fit *ref)
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
        hlm_fit_varcorr(ref, i)->sdcor, scale, 1e-7, &worst_est);
  }
  EXPECT(hlm_fit_nobs(f) == hlm_fit_nobs(ref), "nobs");
  EXPECT(hlm_fit_singular(f) == hlm_fit_singular(ref), "singular");
  cmp_ranef(s, f, ref);
}

/* Collective on world: fit on ranks 0 .. s-1; *out on world rank 0. */
static void fit_on(int s, const char **argv, int reml, hlm_fit **out)
{
  MPI_Comm sub = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, rank < s ? 0 : MPI_UNDEFINED, rank, &sub);
  if (sub != MPI_COMM_NULL) {
    hlm_design *d = NULL;
    hlm_fit_options o;
    hlm_fit_options_default(&o);
    o.reml = reml;
    MPI_Comm_set_errhandler(sub, MPI_ERRORS_RETURN);
    hlm_design_options dopt = {wcol, NULL};
    hlm_status st =
        fit_util_load_opt(sub, argv[1], argv[2], argv[3], &dopt, &d);
    if (st == HLM_OK) {
      st = hlm_fit_run(sub, d, &o, out);
    }
    EXPECT(st == HLM_OK, "fit at %d ranks: %s", s, hlm_error_message());
    if (rank != 0) {
      hlm_fit_destroy(out);
    }
    hlm_design_destroy(&d);
    MPI_Comm_free(&sub);
  }
  MPI_Barrier(MPI_COMM_WORLD);
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
    fprintf(stderr, "usage: test_fit_ranks DATA.h5 FORMULA CLUSTER\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  wcol = argc > 4 ? argv[4] : NULL;
  for (int reml = 1; reml >= 0; reml--) {
    hlm_fit *ref = NULL;
    fit_on(1, (const char **)argv, reml, &ref);
    for (int s = 2; s <= size; s++) {
      hlm_fit *f = NULL;
      fit_on(s, (const char **)argv, reml, &f);
      if (rank == 0 && f && ref) {
        compare(s, f, ref);
      }
      hlm_fit_destroy(&f);
    }
    if (rank == 0 && ref) {
      printf("%s: criterion %.15g, %d evaluations\n", reml ? "REML" : "ML",
             hlm_fit_criterion(ref), hlm_fit_evaluations(ref));
    }
    hlm_fit_destroy(&ref);
  }
  MPI_Allreduce(&nbad, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("test_fit_ranks %s: 1..%d ranks, largest differences: criterion "
           "%.3g, estimates %.3g; %d failed checks\n",
           argv[1], size, worst_crit, worst_est, total);
  }
  MPI_Finalize();
  return total != 0;
}
