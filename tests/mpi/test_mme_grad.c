/* MPI test (white box): the analytic gradient of the profiled REML and ML
 * criteria (src/mme_grad.c) against central finite differences of the
 * criterion itself (hlm_mme_evaluate, Richardson-extrapolated: error
 * O(h^4) plus rounding ~1e-16 |crit| / h), at several theta values per
 * data set: lme4's start, scaled and perturbed factors, negative
 * correlations, and every k = 1 term at 0 in turn (where the gradient of
 * that entry must be exactly 0: the criterion is even in it).  Passes when
 * |analytic - fd| <= 1e-6 max(|fd|, 1) for every entry, and the gradient
 * is the same on every rank.
 * usage: test_mme_grad DATA.h5 FORMULA CLUSTER [WEIGHTS|-] [KNOWN_SD|-]
 *        [--dense] */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_util.h"
#include "mme_grad.h"

static int rank = 0, nbad = 0, nchecked = 0;
static double worst = 0.0;

static double crit_at(hlm_mme *m, const double *th, int reml, double *beta,
                      double *RX)
{
  hlm_mme_eval ev = {.beta = beta, .RX = RX};
  if (hlm_mme_evaluate(m, th, reml, &ev) != HLM_OK) {
    fprintf(stderr, "rank %d: evaluate failed\n", rank);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  return ev.crit;
}

/* Richardson-extrapolated central difference in theta_i. */
static double fd(hlm_mme *m, const double *th0, int nt, int i, int reml,
                 double *beta, double *RX)
{
  double th[256], h = 1e-4 * (fabs(th0[i]) > 1 ? fabs(th0[i]) : 1.0), f[4];
  const double step[4] = {h, -h, 2 * h, -2 * h};
  for (int s = 0; s < 4; s++) {
    memcpy(th, th0, (size_t)nt * sizeof *th);
    th[i] += step[s];
    f[s] = crit_at(m, th, reml, beta, RX);
  }
  return (8.0 * (f[0] - f[1]) - (f[2] - f[3])) / (12.0 * h);
}

/* The absorbed-cluster cache (src/mme_cache.c) changes nothing: m0, built
 * without it, gives bitwise the same criterion and gradient. */
static void check_uncached(hlm_mme *m0, const double *th, int nt, int reml,
                           double crit, const double *g, const char *label)
{
  double beta[256], RX[256 * 256 / 16], g0[256];
  int ok = 0;
  hlm_mme_eval ev = {.beta = beta, .RX = RX};
  if (hlm_mme_evaluate(m0, th, reml, &ev) != HLM_OK ||
      hlm_mme_gradient(m0, th, reml, &ev, g0, NULL, &ok) != HLM_OK) {
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  if (ev.crit != crit || memcmp(g0, g, (size_t)nt * sizeof *g) != 0) {
    fprintf(stderr, "rank %d: %s %s: the cached absorption differs\n", rank,
            reml ? "REML" : "ML", label);
    nbad++;
  }
}

static void check_at(hlm_mme *m, hlm_mme *m0, const hlm_design *d,
                     const double *th, int reml, const char *label)
{
  int nt = d->ntheta, ok = 0;
  double beta[256], RX[256 * 256 / 16], g[256], gmax[256];
  hlm_mme_eval ev = {.beta = beta, .RX = RX};
  if (hlm_mme_evaluate(m, th, reml, &ev) != HLM_OK ||
      hlm_mme_gradient(m, th, reml, &ev, g, NULL, &ok) != HLM_OK) {
    fprintf(stderr, "rank %d: evaluate/gradient failed\n", rank);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Allreduce(g, gmax, nt, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  check_uncached(m0, th, nt, reml, ev.crit, g, label);
  for (int i = 0; i < nt; i++) {
    double want = fd(m, th, nt, i, reml, beta, RX);
    double err = fabs(g[i] - want) / (fabs(want) > 1 ? fabs(want) : 1.0);
    nchecked++;
    worst = err > worst ? err : worst;
    if (!ok || !(err <= 1e-6) || gmax[i] != g[i]) {
      if (nbad++ < 30) {
        fprintf(stderr,
                "rank %d: %s %s theta[%d]: analytic %.12g, fd %.12g "
                "(rel %.3g, ok %d)\n",
                rank, reml ? "REML" : "ML", label, i, g[i], want, err, ok);
      }
    }
  }
  if (rank == 0) {
    printf("%-5s %-12s crit %.10g  grad", reml ? "REML" : "ML", label, ev.crit);
    for (int i = 0; i < nt; i++) {
      printf(" %.6g", g[i]);
    }
    printf("\n");
  }
}

/* Test points: 0 start, 1 scaled, 2 perturbed with negative off-diagonal
 * entries, 3 + r: term r (k = 1) at zero. */
static int make_theta(const hlm_design *d, int which, double *th)
{
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    int t = rt->theta_off;
    for (int col = 0; col < rt->k; col++) {
      for (int row = col; row < rt->k; row++, t++) {
        double diag = which == 1 ? 0.35 : 0.4 + 0.23 * (t % 4);
        double off = which == 1 ? 0.1 : -0.15 - 0.05 * t;
        th[t] = row == col ? (which == 0 ? 1.0 : diag) : (which ? off : 0.0);
      }
    }
  }
  if (which >= 3) {
    const hlm_reterm *rt = &d->term[which - 3];
    if (rt->k != 1) {
      return 0;
    }
    th[rt->theta_off] = 0.0;
  }
  return 1;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc < 4) {
    fprintf(stderr, "usage: test_mme_grad DATA.h5 FORMULA CLUSTER [WEIGHTS|-] "
                    "[KNOWN_SD|-] [--dense]\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  hlm_design_options o = {argc > 4 && strcmp(argv[4], "-") ? argv[4] : NULL,
                          argc > 5 && strcmp(argv[5], "-") ? argv[5] : NULL};
  if (argc > 6 && !strcmp(argv[6], "--dense")) {
    setenv("HLM_ABSORB", "dense", 1);
  }
  hlm_design *d = NULL;
  hlm_mme *m = NULL, *m0 = NULL;
  int all = 0;
  if (fit_util_load_opt(MPI_COMM_WORLD, argv[1], argv[2], argv[3], &o, &d) !=
          HLM_OK ||
      hlm_mme_create(MPI_COMM_WORLD, d, &m) != HLM_OK) {
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  setenv("HLM_ABSORB_CACHE_MB", "0", 1);
  if (hlm_mme_create(MPI_COMM_WORLD, d, &m0) != HLM_OK) {
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  unsetenv("HLM_ABSORB_CACHE_MB");
  if ((m->cache == NULL && d->ncl > 0 && !m->distributed) ||
      m0->cache != NULL) {
    fprintf(stderr, "rank %d: absorbed-cluster cache not as configured\n",
            rank);
    nbad++;
  }
  double th[256];
  const char *labels[] = {"start", "scaled", "perturbed"};
  for (int which = 0; which < 3 + d->nterms; which++) {
    char label[32];
    if (!make_theta(d, which, th)) {
      continue;
    }
    snprintf(label, sizeof label, "%s%d", which < 3 ? labels[which] : "zero",
             which < 3 ? 0 : which - 3);
    check_at(m, m0, d, th, 1, label);
    check_at(m, m0, d, th, 0, label);
  }
  MPI_Allreduce(&nbad, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("test_mme_grad %s: %d entries checked, largest rel. difference "
           "%.3g; %s\n",
           argv[2], nchecked, worst, all ? "FAILED" : "ok");
  }
  hlm_mme_destroy(&m);
  hlm_mme_destroy(&m0);
  hlm_design_destroy(&d);
  MPI_Finalize();
  return all != 0;
}
