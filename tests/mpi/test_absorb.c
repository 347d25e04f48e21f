/* MPI test (white box): the level-by-level absorption of nested random
 * effects (mme_tree.c) against the dense absorption of each cluster's
 * whole C_jj (HLM_ABSORB=dense), two independent computations of the same
 * quantities.  At the REML optimum and at several other theta values
 * (scaled, with one term's factor at zero, perturbed), REML and ML: the
 * criterion, its log-determinants, the penalized RSS and beta agree within
 * 1e-10 relative, and so do every cluster's conditional modes and
 * variances (relative to the largest magnitude).  With --tree, at least
 * one cluster must have taken the tree path, and with --dense none.
 * usage: test_absorb DATA.h5 FORMULA CLUSTER --tree|--dense */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_util.h"
#include "mme_internal.h"

static int rank = 0, nbad = 0;

#define TOL 1e-10

static void check(const char *what, double got, double want, double scale)
{
  double s = scale > fabs(want) ? scale : fabs(want);
  double rel = fabs(got - want) / (s > 0 ? s : 1.0);
  if (!(rel <= TOL) && nbad++ < 30) {
    fprintf(stderr, "rank %d: %s: tree %.17g, dense %.17g (rel %.3g)\n", rank,
            what, got, want, rel);
  }
}

static hlm_mme *make_mme(const hlm_design *d, int dense)
{
  hlm_mme *m = NULL;
  if (dense) {
    setenv("HLM_ABSORB", "dense", 1);
  } else {
    unsetenv("HLM_ABSORB");
  }
  if (hlm_mme_create(MPI_COMM_WORLD, d, &m) != HLM_OK) {
    fprintf(stderr, "rank %d: hlm_mme_create failed\n", rank);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  return m;
}

/* Conditional modes and variances of every local cluster, both ways. */
static void compare_ranef(hlm_mme *mt, hlm_mme *md, const double *theta,
                          const double *beta, int qmax)
{
  double *u[2], *cv[2], s2 = 1.7;
  int64_t qg = mt->qg > 0 ? mt->qg : 1;
  for (int w = 0; w < 2; w++) {
    u[w] = calloc((size_t)(qmax > qg ? qmax : qg), sizeof(double));
    cv[w] = calloc((size_t)(qmax > qg ? qmax : qg), sizeof(double));
  }
  hlm_mme_global_ranef(mt, theta, s2, u[0], cv[0]);
  hlm_mme_global_ranef(md, theta, s2, u[1], cv[1]);
  for (int64_t j = 0; j < mt->ncl; j++) {
    int q = mt->blk[j].q;
    double su = 0, sc = 0;
    if (hlm_mme_cluster_ranef(mt, j, theta, beta, s2, u[0], cv[0]) != HLM_OK ||
        hlm_mme_cluster_ranef(md, j, theta, beta, s2, u[1], cv[1]) != HLM_OK) {
      fprintf(stderr, "rank %d: cluster_ranef failed\n", rank);
      nbad++;
      break;
    }
    for (int i = 0; i < q; i++) {
      su = fmax(su, fabs(u[1][i]));
      sc = fmax(sc, fabs(cv[1][i]));
    }
    for (int i = 0; i < q; i++) {
      check("conditional mode", u[0][i], u[1][i], su);
      check("conditional variance", cv[0][i], cv[1][i], sc);
    }
  }
  for (int w = 0; w < 2; w++) {
    free(u[w]);
    free(cv[w]);
  }
}

static void compare_at(hlm_mme *mt, hlm_mme *md, const double *theta, int p,
                       int reml, int qmax)
{
  double bt[64], bd[64], Rt[64 * 64], Rd[64 * 64];
  hlm_mme_eval et = {.beta = bt, .RX = Rt}, ed = {.beta = bd, .RX = Rd};
  if (hlm_mme_evaluate(mt, theta, reml, &et) != HLM_OK ||
      hlm_mme_evaluate(md, theta, reml, &ed) != HLM_OK) {
    fprintf(stderr, "rank %d: evaluate failed\n", rank);
    nbad++;
    return;
  }
  check("criterion", et.crit, ed.crit, 0);
  check("ldL2", et.ldL2, ed.ldL2, 1);
  check("ldRX2", et.ldRX2, ed.ldRX2, 1);
  check("pwrss", et.pwrss, ed.pwrss, 0);
  for (int i = 0; i < p; i++) {
    check("beta", bt[i], bd[i], 1);
  }
  compare_ranef(mt, md, theta, bt, qmax);
}

/* The theta values to try: the optimum, scaled, one term at zero,
 * perturbed. */
static void make_theta(const double *opt, int nt, int which, double *th)
{
  for (int i = 0; i < nt; i++) {
    double o = opt[i] != 0 ? opt[i] : 0.5;
    th[i] = which == 0   ? opt[i]
            : which == 1 ? 0.3 * o
            : which == 2 ? 2.5 * o
            : which == 3 ? (i == 0 ? 0.0 : o)
                         : o * (1.0 + 0.1 * (i % 3)) - 0.05 * (i % 2);
  }
}

static int count_trees(const hlm_mme *m, int *qmax)
{
  int local = 0, total = 0;
  *qmax = 1;
  for (int64_t j = 0; j < m->ncl; j++) {
    local += m->blk[j].tree != NULL;
    *qmax = m->blk[j].q > *qmax ? m->blk[j].q : *qmax;
  }
  MPI_Allreduce(&local, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc != 5) {
    fprintf(stderr, "usage: test_absorb DATA.h5 FORMULA CLUSTER --tree|"
                    "--dense\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  int want_tree = strcmp(argv[4], "--tree") == 0, qmax = 0, all = 0;
  hlm_design *d = NULL;
  hlm_fit *f = NULL;
  if (fit_util_load(MPI_COMM_WORLD, argv[1], argv[2], argv[3], &d) != HLM_OK ||
      hlm_fit_run(MPI_COMM_WORLD, d, NULL, &f) != HLM_OK) {
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  hlm_mme *mt = make_mme(d, 0), *md = make_mme(d, 1);
  int ntree = count_trees(mt, &qmax), nt = hlm_fit_ntheta(f);
  if (want_tree ? ntree == 0 : ntree != 0) {
    fprintf(stderr, "rank %d: %d clusters took the tree path\n", rank, ntree);
    nbad++;
  }
  double *th = calloc((size_t)nt, sizeof *th);
  for (int which = 0; which < 5; which++) {
    make_theta(hlm_fit_theta(f), nt, which, th);
    compare_at(mt, md, th, hlm_fit_nfixed(f), 1, qmax);
    compare_at(mt, md, th, hlm_fit_nfixed(f), 0, qmax);
  }
  MPI_Allreduce(&nbad, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("%s: %d clusters absorbed level by level; %s\n", argv[2], ntree,
           all ? "FAILED" : "tree and dense absorption agree");
  }
  free(th);
  hlm_mme_destroy(&mt);
  hlm_mme_destroy(&md);
  hlm_fit_destroy(&f);
  hlm_design_destroy(&d);
  MPI_Finalize();
  return all != 0;
}
