/* survey_sandwich.c: the design-based covariance of the fixed effects
 * (survey.h; docs/survey.md, "Standard errors").
 *
 * With theta at its estimate, cluster j's score for beta is
 *   u_j = w_j X~_j' (y~_j - X~_j beta - Z~_j u^_j)
 * (tildes: rows scaled by sqrt(w_i|j); u^_j the conditional modes), which
 * is w_j sigma^2 X_j' V_j^-1 (y_j - X_j beta) with the marginal covariance
 * V_j = sigma^2 W_j^-1 + Z_j G Z_j'.  The u_j go to rank 0 with their
 * PSU, stratum and fpc; rank 0 sums them into PSU totals U_hi (a PSU is a
 * (stratum, psu) pair), in cluster order so that the result does not
 * depend on the number of ranks, and forms
 *   B = sum_h (1 - f_h) n_h / (n_h - 1) sum_i (U_hi - U_h.)(U_hi - U_h.)',
 *   V = S^-1 B S^-1,  S = RX RX' (the weighted information, sigma^2 units). */
#include <cblas.h>
#include <inttypes.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "design_internal.h"
#include "hlm/comm.h"
#include "mme_internal.h"
#include "survey.h"

#define REC 4 /* numbers before the score in a record */

/* One cluster's record on rank 0. */
typedef struct score_rec {
  double g, psu, stratum, fpc;
  const double *u; /* p */
} score_rec;

static int cmp_stratum(const void *a, const void *b)
{
  const score_rec *x = a, *y = b;
  if (x->stratum != y->stratum) {
    return x->stratum < y->stratum ? -1 : 1;
  }
  if (x->psu != y->psu) {
    return x->psu < y->psu ? -1 : 1;
  }
  return (x->g > y->g) - (x->g < y->g);
}

/* Cluster j's score (p values) from its conditional modes u (Z_j's
 * column order): w_j sum_i x~_i (y~_i - x~_i' beta - z~_i' u). */
static void cluster_score(const hlm_design *d, int64_t j, const double *beta,
                          const double *u, double *score)
{
  const hlm_dcluster *c = &d->cl[j];
  int p = d->p;
  memset(score, 0, (size_t)p * sizeof *score);
  for (int64_t i = c->start; i < c->start + c->n; i++) {
    const double *x = &d->X[i * p];
    double r = d->y[i] - cblas_ddot(p, x, 1, beta, 1);
    int off = 0;
    for (int t = 0; t < d->nterms; t++) {
      int k = d->term[t].k, l = d->zlev[i * d->nterms + t];
      for (int a = 0; a < k; a++) {
        r -= d->zval[i * d->zwidth + off + a] * u[c->zoff[t] + l * k + a];
      }
      off += k;
    }
    cblas_daxpy(p, d->cw[j] * r, x, 1, score, 1);
  }
}

/* This rank's records (g, psu, stratum, fpc, u_1..u_p) of the clusters of
 * positive weight into rec; *nrec gets their number. */
static hlm_status local_scores(hlm_mme *m, const hlm_survey *s,
                               const double *theta, const hlm_mme_eval *ev,
                               double *rec, int64_t *nrec)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = m->d;
  int w = d->p + REC;
  double *u = NULL, *cv = NULL;
  HLM_ALLOC(u, m->qmax > 0 ? m->qmax : 1);
  HLM_ALLOC(cv, m->qmax > 0 ? m->qmax : 1);
  *nrec = 0;
  for (int64_t j = 0; j < d->ncl; j++) {
    if (d->cw[j] == 0.0) {
      continue;
    }
    double *r = &rec[*nrec * w];
    HLM_TRY(hlm_mme_cluster_ranef(m, j, theta, ev->beta, 1.0, u, cv));
    r[0] = (double)d->cl[j].gindex;
    r[1] = s->psu[j];
    r[2] = s->stratum[j];
    r[3] = s->fpc[j];
    cluster_score(d, j, ev->beta, u, r + REC);
    (*nrec)++;
  }
cleanup:
  free(u);
  free(cv);
  return status;
}

/* Rank 0: a PSU or stratum key as the user wrote it. */
static void key_label(double key, int categorical, char **levels, char *buf,
                      size_t len)
{
  if (categorical && levels) {
    snprintf(buf, len, "%s", levels[(int64_t)key]);
  } else {
    snprintf(buf, len, "%.17g", key);
  }
}

/* Rank 0: B (p x p) += (1 - f_h) n_h / (n_h - 1) sum_i (U_i - U.)(U_i -
 * U.)' of the n_h PSU totals U (n_h x p, row-major); fpc = f_h. */
static void add_stratum(int p, int64_t nh, double fpc, double *U, double *mean,
                        double *B)
{
  memset(mean, 0, (size_t)p * sizeof *mean);
  for (int64_t i = 0; i < nh; i++) {
    for (int a = 0; a < p; a++) {
      mean[a] += U[i * p + a] / (double)nh;
    }
  }
  for (int64_t i = 0; i < nh; i++) {
    for (int a = 0; a < p; a++) {
      U[i * p + a] -= mean[a];
    }
  }
  double f = (1.0 - fpc) * (double)nh / (double)(nh - 1);
  for (int64_t i = 0; i < nh; i++) {
    cblas_dger(CblasColMajor, p, p, f, &U[i * p], 1, &U[i * p], 1, B, p);
  }
}

/* Rank 0: the sampling fraction f of a stratum with nh PSUs from its fpc
 * value (Stata's convention: a fraction when <= 1, else the population's
 * PSUs); 0 without [survey] fpc. */
static hlm_status fraction(const hlm_survey *s, const score_rec *r, int64_t nh,
                           int varies, const char *lab, double *f)
{
  hlm_status status = HLM_OK;
  const char *col = s->cfg->survey_fpc;
  *f = 0.0;
  if (col == NULL) {
    return HLM_OK;
  }
  HLM_CHECK(!varies, HLM_ERR_DATA,
            "[survey] fpc column '%s' varies within stratum '%s'; it must be "
            "constant within each stratum",
            col, lab);
  *f = r->fpc <= 1.0 ? r->fpc : (double)nh / r->fpc;
  HLM_CHECK(r->fpc > 0 && *f <= 1.0, HLM_ERR_DATA,
            "[survey] fpc column '%s' is %g in stratum '%s', which has %" PRId64
            " PSUs with weight: give the stratum's population of PSUs (at "
            "least that many) or its sampling fraction (above 0, at most 1)",
            col, r->fpc, lab, nh);
cleanup:
  return status;
}

/* Rank 0: B from the records sorted by (stratum, PSU, cluster). */
static hlm_status meat(hlm_survey *s, const score_rec *r, int64_t n, int p,
                       double *B)
{
  hlm_status status = HLM_OK;
  double *U = NULL, *mean = NULL;
  char lab[128];
  HLM_ALLOC(U, (size_t)n * p);
  HLM_ALLOC(mean, p);
  s->npsu = s->nstrata = 0;
  for (int64_t i = 0; i < n;) {
    int64_t nh = 0, e = i;
    int varies = 0;
    while (e < n && r[e].stratum == r[i].stratum) {
      varies |= r[e].fpc != r[i].fpc;
      if (e == i || r[e].psu != r[e - 1].psu) {
        memset(&U[nh++ * p], 0, (size_t)p * sizeof *U);
      }
      cblas_daxpy(p, 1.0, r[e].u, 1, &U[(nh - 1) * p], 1);
      e++;
    }
    key_label(r[i].stratum, s->stratum_label, s->stratum_levels, lab,
              sizeof lab);
    HLM_CHECK(nh > 1, HLM_ERR_DATA,
              "[survey] %s%s%s has a single PSU with weight: its "
              "between-PSU variance cannot be estimated (merge it with "
              "another stratum)",
              s->cfg->survey_strata ? "stratum '" : "the sample",
              s->cfg->survey_strata ? lab : "",
              s->cfg->survey_strata ? "'" : "");
    double f = 0.0; /* the sampling fraction */
    HLM_TRY(fraction(s, &r[i], nh, varies, lab, &f));
    add_stratum(p, nh, f, U, mean, B);
    s->npsu += nh;
    s->nstrata++;
    i = e;
  }
cleanup:
  free(U);
  free(mean);
  return status;
}

/* Rank 0: V = S^-1 B S^-1 with S = RX RX'. */
static hlm_status bread(int p, const double *RX, const double *B, double *V)
{
  hlm_status status = HLM_OK;
  double *Si = NULL, *T = NULL;
  HLM_ALLOC(Si, (size_t)p * p);
  HLM_ALLOC(T, (size_t)p * p);
  memcpy(Si, RX, (size_t)p * p * sizeof *Si);
  int info = LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', p, Si, p);
  HLM_LAPACK_CHECK(info, "dpotri", "inverting the fixed-effect information");
  for (int c = 0; c < p; c++) {
    for (int a = c + 1; a < p; a++) {
      Si[c + (size_t)p * a] = Si[a + (size_t)p * c];
    }
  }
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, p, p, 1.0, Si, p, B,
              p, 0.0, T, p);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, p, p, 1.0, T, p, Si,
              p, 0.0, V, p);
cleanup:
  free(Si);
  free(T);
  return status;
}

/* Rank 0: the records of all ranks (n of them, width p + REC) into V, or
 * (RX NULL) only the meat B (p x p) into V. */
static hlm_status root_sandwich(hlm_survey *s, const double *all, int64_t n,
                                int p, const double *RX, double *V)
{
  hlm_status status = HLM_OK;
  int w = p + REC;
  score_rec *r = NULL;
  double *B = NULL;
  HLM_ALLOC(r, n);
  HLM_ALLOC(B, (size_t)p * p);
  for (int64_t i = 0; i < n; i++) {
    r[i].g = all[i * w];
    r[i].psu = all[i * w + 1];
    r[i].stratum = all[i * w + 2];
    r[i].fpc = all[i * w + 3];
    r[i].u = &all[i * w + REC];
  }
  /* PSU codes are read within strata, as Stata's svyset reads them */
  qsort(r, (size_t)n, sizeof *r, cmp_stratum);
  HLM_TRY(meat(s, r, n, p, B));
  if (RX != NULL) {
    HLM_TRY(bread(p, RX, B, V));
  } else {
    memcpy(V, B, (size_t)p * p * sizeof *V);
  }
  s->df = (double)(s->npsu - s->nstrata);
cleanup:
  free(r);
  free(B);
  return status;
}

/* Collective.  Gather every rank's records (p scores each) on rank 0,
 * build V there (the meat only when RX is NULL) and broadcast it. */
static hlm_status gather_and_build(MPI_Comm comm, hlm_survey *s,
                                   const double *rec, int64_t nrec, int p,
                                   const double *RX, double *V)
{
  hlm_status status = HLM_OK, local = HLM_OK;
  int rank = 0, size = 1, w = p + REC, mine = 0, total = 0;
  int *counts = NULL, *displ = NULL;
  double *all = NULL;
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  HLM_MPI(MPI_Comm_size(comm, &size));
  HLM_TRY(hlm_to_int(nrec * w, "survey score records", &mine));
  HLM_ALLOC(counts, size);
  HLM_ALLOC(displ, size);
  HLM_MPI(MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
  if (rank == 0) {
    int64_t t = 0;
    for (int i = 0; i < size; i++) {
      displ[i] = (int)t;
      t += counts[i];
    }
    HLM_TRY(hlm_to_int(t, "survey score records", &total));
    HLM_ALLOC(all, total > 0 ? total : 1);
  }
  HLM_MPI(MPI_Gatherv(rec, mine, MPI_DOUBLE, all, counts, displ, MPI_DOUBLE, 0,
                      comm));
  if (rank == 0) {
    local = root_sandwich(s, all, total / w, p, RX, V);
  }
  HLM_TRY(hlm_comm_agree(comm, local, "the survey sandwich", NULL));
  int64_t cnt[2] = {s->npsu, s->nstrata};
  HLM_MPI(MPI_Bcast(cnt, 2, MPI_INT64_T, 0, comm));
  HLM_MPI(MPI_Bcast(V, p * p, MPI_DOUBLE, 0, comm));
  s->npsu = cnt[0];
  s->nstrata = cnt[1];
  s->df = (double)(s->npsu - s->nstrata);
cleanup:
  free(counts);
  free(displ);
  free(all);
  return status;
}

hlm_status hlm_survey_sandwich(MPI_Comm comm, hlm_survey *s, hlm_design *d,
                               const hlm_fit *f)
{
  hlm_status status = HLM_OK, local = HLM_OK;
  hlm_mme *m = NULL;
  hlm_mme_eval ev = {0};
  double *rec = NULL;
  int64_t nrec = 0;
  int p = d->p;
  HLM_ALLOC(ev.beta, p);
  HLM_ALLOC(ev.RX, (size_t)p * p);
  HLM_ALLOC(s->V, (size_t)p * p);
  HLM_ALLOC(rec, (size_t)(d->ncl > 0 ? d->ncl : 1) * (p + REC));
  HLM_TRY(hlm_mme_create(comm, d, &m));
  HLM_TRY(hlm_mme_evaluate(m, hlm_fit_theta(f), 0, &ev));
  local = local_scores(m, s, hlm_fit_theta(f), &ev, rec, &nrec);
  HLM_TRY(hlm_comm_agree(comm, local, "the survey scores", NULL));
  HLM_TRY(gather_and_build(comm, s, rec, nrec, p, ev.RX, s->V));
  HLM_TRY(hlm_survey_joint(comm, s, d, f, ev.beta));
cleanup:
  hlm_mme_destroy(&m);
  free(ev.beta);
  free(ev.RX);
  free(rec);
  return status;
}

hlm_status hlm_survey_meat(MPI_Comm comm, hlm_survey *s, const double *rec,
                           int64_t nrec, int width, double *B)
{
  return gather_and_build(comm, s, rec, nrec, width, NULL, B);
}
