/* survey_joint.c: the joint sandwich of the fixed effects and the variance
 * components of a survey fit (survey.h; docs/survey.md, "Standard
 * errors").
 *
 * Parameters x = (beta, theta, sigma), theta the lower triangles of the
 * terms' relative factors L_t (Sigma_t = sigma^2 L_t L_t').  Cluster j's
 * pseudo-log-likelihood, with tildes for rows scaled by sqrt(w_i|j),
 * A = Z~ Lambda, M = I + A'A, r = y~ - X~ beta, b = M^-1 A'r, a = r - A b
 * (= (I + AA')^-1 r) and N_j = sum_i w_i|j, is
 *   l_j = -1/2 [N_j log(2 pi sigma^2) + log det M + r'a / sigma^2],
 * and its analytic score, times w_j, is
 *   d/dbeta  = X~'a / sigma^2,
 *   d/dtheta = sum over the term's levels of
 *              -(M^-1 A' z~_row)_col + (z~_row' a) b_col / sigma^2
 *              (theta the (row, col) entry of L_t; z~_row Z~'s column),
 *   d/dsigma = -N_j / sigma + r'a / sigma^3.
 * The scores go through the design's meat (hlm_survey_meat); the bread is
 * minus the Hessian of sum_j w_j l_j by central differences of the summed
 * analytic score (2 (p + ntheta + 1) passes over the clusters). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddsum.h"
#include "design_internal.h"
#include "hlm/comm.h"
#include "mme_tree.h"
#include "survey.h"

#define REC 4     /* keys before the scores in a record (survey_sandwich.c) */
#define HREL 1e-5 /* the step of the Hessian's differences, relative */

/* Per-cluster work space, sized by the largest cluster. */
typedef struct work {
  double *Z, *A, *M, *r, *t, *L;
} work;

static void work_free(work *w)
{
  free(w->Z);
  free(w->A);
  free(w->M);
  free(w->r);
  free(w->t);
  free(w->L);
}

static hlm_status work_alloc(const hlm_design *d, work *w)
{
  hlm_status status = HLM_OK;
  int64_t nmax = 1, qmax = 1;
  for (int64_t j = 0; j < d->ncl; j++) {
    nmax = d->cl[j].n > nmax ? d->cl[j].n : nmax;
    qmax = d->cl[j].q > qmax ? d->cl[j].q : qmax;
  }
  HLM_ALLOC(w->Z, nmax * qmax);
  HLM_ALLOC(w->A, nmax * qmax);
  HLM_ALLOC(w->M, qmax * qmax);
  HLM_ALLOC(w->r, 2 * nmax + 2 * qmax); /* r, b, a, tmp */
  HLM_ALLOC(w->t, qmax);
  HLM_ALLOC(w->L, (size_t)d->nterms * 64 * 64);
cleanup:
  return status;
}

/* Z~_j (n x q, column-major) of cluster j. */
static void cluster_z(const hlm_design *d, const hlm_dcluster *c, double *Z)
{
  int64_t n = c->n;
  memset(Z, 0, (size_t)(n * c->q) * sizeof *Z);
  for (int64_t i = 0; i < n; i++) {
    int64_t row = c->start + i;
    int off = 0;
    for (int t = 0; t < d->nterms; t++) {
      int k = d->term[t].k, l = d->zlev[row * d->nterms + t];
      for (int a = 0; a < k && !d->term[t].global; a++) {
        Z[i + n * (c->zoff[t] + l * k + a)] =
            d->zval[row * d->zwidth + off + a];
      }
      off += k;
    }
  }
}

/* A := Z Lambda (n x q): each level's k columns times L_t. */
static void cluster_a(const hlm_design *d, const hlm_dcluster *c,
                      const double *L, const double *Z, double *A)
{
  int64_t n = c->n;
  memset(A, 0, (size_t)(n * c->q) * sizeof *A);
  for (int t = 0; t < d->nterms; t++) {
    int k = d->term[t].k;
    for (int l = 0; l < c->nlev[t]; l++) {
      int o = c->zoff[t] + l * k;
      cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, k, k, 1.0,
                  &Z[n * o], (int)n, &L[t * 64 * 64], k, 0.0, &A[n * o],
                  (int)n);
    }
  }
}

/* score (nj values) := w_j times cluster j's score at x. */
static hlm_status cluster_score(const hlm_design *d, int64_t j, const double *x,
                                work *w, double *score)
{
  hlm_status status = HLM_OK;
  const hlm_dcluster *c = &d->cl[j];
  int p = d->p, q = c->q, n = (int)c->n, nt = d->ntheta;
  double sigma = x[p + nt], s2 = sigma * sigma, nw = 0.0, ra = 0.0;
  double *r = w->r, *b = w->r + n, *a = w->r + n + q, *tmp = a + n;
  for (int i = 0; i < n; i++) {
    const double *xi = &d->X[(c->start + i) * p];
    r[i] = d->y[c->start + i] - cblas_ddot(p, xi, 1, x, 1);
    double sw = d->sqrtw ? d->sqrtw[c->start + i] : 1.0;
    nw += sw * sw;
  }
  cluster_z(d, c, w->Z);
  cluster_a(d, c, w->L, w->Z, w->A);
  /* M = I + A'A, b = M^-1 A'r, a = r - A b */
  cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, q, n, 1.0, w->A, n, 0.0,
              w->M, q);
  for (int e = 0; e < q; e++) {
    w->M[e + q * e] += 1.0;
  }
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', q, w->M, q);
  HLM_LAPACK_CHECK(info, "dpotrf", "the joint survey sandwich's cluster");
  cblas_dgemv(CblasColMajor, CblasTrans, n, q, 1.0, w->A, n, r, 1, 0.0, b, 1);
  LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', q, 1, w->M, q, b, q);
  memcpy(a, r, (size_t)n * sizeof *a);
  cblas_dgemv(CblasColMajor, CblasNoTrans, n, q, -1.0, w->A, n, b, 1, 1.0, a,
              1);
  ra = cblas_ddot(n, r, 1, a, 1);
  memset(score, 0, (size_t)(p + nt + 1) * sizeof *score);
  for (int i = 0; i < n; i++) {
    cblas_daxpy(p, a[i] / s2, &d->X[(c->start + i) * p], 1, score, 1);
  }
  for (int t = 0; t < d->nterms; t++) {
    int k = d->term[t].k, th = p + d->term[t].theta_off;
    for (int col = 0; col < k; col++) {
      for (int row = col; row < k; row++, th++) {
        for (int l = 0; l < c->nlev[t]; l++) {
          int o = c->zoff[t] + l * k;
          const double *z = &w->Z[(size_t)n * (o + row)];
          cblas_dgemv(CblasColMajor, CblasTrans, n, q, 1.0, w->A, n, z, 1, 0.0,
                      tmp, 1);
          LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', q, 1, w->M, q, tmp, q);
          score[th] +=
              -tmp[o + col] + cblas_ddot(n, z, 1, a, 1) * b[o + col] / s2;
        }
      }
    }
  }
  score[p + nt] = -nw / sigma + ra / (s2 * sigma);
  cblas_dscal(p + nt + 1, d->cw[j], score, 1);
cleanup:
  return status;
}

/* The terms' factors at x's theta into w->L (64 x 64 slots). */
static void factors(const hlm_design *d, const double *x, work *w)
{
  for (int t = 0; t < d->nterms; t++) {
    hlm_term_factor(&d->term[t], x + d->p, &w->L[t * 64 * 64]);
  }
}

/* Collective.  g := the summed score at x (double-double over ranks). */
static hlm_status total_score(MPI_Comm comm, const hlm_design *d,
                              const double *x, work *w, double *g)
{
  hlm_status status = HLM_OK, local = HLM_OK;
  int nj = d->p + d->ntheta + 1;
  double *acc = NULL, *sc = NULL;
  HLM_ALLOC(acc, 2 * (nj + 1));
  HLM_ALLOC(sc, nj);
  factors(d, x, w);
  for (int64_t j = 0; j < d->ncl && local == HLM_OK; j++) {
    if (d->cw[j] == 0.0) {
      continue;
    }
    local = cluster_score(d, j, x, w, sc);
    for (int e = 0; e < nj && local == HLM_OK; e++) {
      hlm_dd_add(&acc[2 * e], sc[e]);
    }
  }
  acc[2 * nj] = local != HLM_OK;
  HLM_TRY(hlm_dd_allreduce(comm, acc, nj + 1));
  HLM_TRY(local);
  HLM_CHECK(acc[2 * nj] == 0, HLM_ERR_OTHER_RANK,
            "another rank failed in the joint survey sandwich");
  for (int e = 0; e < nj; e++) {
    g[e] = hlm_dd_value(&acc[2 * e]);
  }
cleanup:
  free(acc);
  free(sc);
  return status;
}

/* Collective.  H (nj x nj, symmetric) := minus the Hessian by central
 * differences of the summed analytic score. */
static hlm_status neg_hessian(MPI_Comm comm, const hlm_design *d,
                              const double *x0, work *w, double *H)
{
  hlm_status status = HLM_OK;
  int nj = d->p + d->ntheta + 1;
  double *x = NULL, *gp = NULL, *gm = NULL;
  HLM_ALLOC(x, nj);
  HLM_ALLOC(gp, nj);
  HLM_ALLOC(gm, nj);
  for (int k = 0; k < nj; k++) {
    double h = HREL * fmax(fabs(x0[k]), 1.0);
    memcpy(x, x0, (size_t)nj * sizeof *x);
    x[k] = x0[k] + h;
    HLM_TRY(total_score(comm, d, x, w, gp));
    x[k] = x0[k] - h;
    HLM_TRY(total_score(comm, d, x, w, gm));
    for (int i = 0; i < nj; i++) {
      H[i + (size_t)nj * k] = -(gp[i] - gm[i]) / (2.0 * h);
    }
  }
  for (int k = 0; k < nj; k++) {
    for (int i = k + 1; i < nj; i++) {
      double v = 0.5 * (H[i + (size_t)nj * k] + H[k + (size_t)nj * i]);
      H[i + (size_t)nj * k] = H[k + (size_t)nj * i] = v;
    }
  }
cleanup:
  free(x);
  free(gp);
  free(gm);
  return status;
}

/* Local.  This rank's records (g, psu, stratum, fpc, scores). */
static hlm_status local_records(const hlm_survey *s, const hlm_design *d,
                                const double *x, work *w, double *rec,
                                int64_t *nrec)
{
  hlm_status status = HLM_OK;
  int width = d->p + d->ntheta + 1 + REC;
  factors(d, x, w);
  *nrec = 0;
  for (int64_t j = 0; j < d->ncl; j++) {
    if (d->cw[j] == 0.0) {
      continue;
    }
    double *r = &rec[*nrec * width];
    r[0] = (double)d->cl[j].gindex;
    r[1] = s->psu[j];
    r[2] = s->stratum[j];
    r[3] = s->fpc[j];
    HLM_TRY(cluster_score(d, j, x, w, r + REC));
    (*nrec)++;
  }
cleanup:
  return status;
}

/* A malloc'ed copy of the formatted name (NULL when out of memory). */
static char *name_of(const char *fmt, ...)
{
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  char *out = malloc(strlen(buf) + 1);
  if (out) {
    strcpy(out, buf);
  }
  return out;
}

/* Local.  The variance components at (theta, sigma) = y: per term its k
 * SDs, then its correlations (column by column of the lower triangle),
 * then sigma.  Into phi (s->nvc values); names too when names != NULL. */
static void components(const hlm_design *d, const double *y, double *phi,
                       char **names)
{
  double sigma = y[d->ntheta], L[64 * 64], S[64 * 64];
  int e = 0;
  for (int t = 0; t < d->nterms; t++) {
    const hlm_reterm *rt = &d->term[t];
    int k = rt->k;
    hlm_term_factor(rt, y, L);
    for (int a = 0; a < k; a++) {
      for (int b = 0; b <= a; b++) {
        double v = 0.0;
        for (int c = 0; c <= b; c++) {
          v += L[a + k * c] * L[b + k * c];
        }
        S[a + k * b] = S[b + k * a] = sigma * sigma * v;
      }
    }
    for (int a = 0; a < k; a++, e++) {
      phi[e] = sqrt(S[a + k * a]);
      if (names) {
        names[e] = name_of("sd %s %s", rt->group, rt->mm.name[a]);
      }
    }
    for (int b = 0; b < k; b++) {
      for (int a = b + 1; a < k; a++, e++) {
        phi[e] = S[a + k * b] / sqrt(S[a + k * a] * S[b + k * b]);
        if (names) {
          names[e] = name_of("cor %s %s.%s", rt->group, rt->mm.name[a],
                             rt->mm.name[b]);
        }
      }
    }
  }
  phi[e] = sigma;
  if (names) {
    names[e] = name_of("sd Residual");
  }
}

/* Local.  Number of variance components: per term k SDs and k (k - 1) / 2
 * correlations, and sigma. */
static int count_components(const hlm_design *d)
{
  int n = 1;
  for (int t = 0; t < d->nterms; t++) {
    n += d->term[t].k * (d->term[t].k + 1) / 2;
  }
  return n;
}

/* Local.  On the boundary: a zero diagonal of a term's factor. */
static int on_boundary(const hlm_design *d, const double *theta)
{
  double L[64 * 64];
  for (int t = 0; t < d->nterms; t++) {
    int k = d->term[t].k;
    hlm_term_factor(&d->term[t], theta, L);
    for (int a = 0; a < k; a++) {
      if (!(fabs(L[a + k * a]) > 0.0)) {
        return 1;
      }
    }
  }
  return 0;
}

/* Local.  V := Hi Mt Hi with Hi = H^-1 (all nj x nj); 0 when H is not
 * positive definite. */
static hlm_status sandwich(int nj, double *H, const double *Mt, double *V,
                           int *ok)
{
  hlm_status status = HLM_OK;
  double *T = NULL;
  HLM_ALLOC(T, (size_t)nj * nj);
  *ok = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', nj, H, nj) == 0 &&
        LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', nj, H, nj) == 0;
  if (!*ok) {
    goto cleanup;
  }
  for (int c = 0; c < nj; c++) {
    for (int a = c + 1; a < nj; a++) {
      H[c + (size_t)nj * a] = H[a + (size_t)nj * c];
    }
  }
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, nj, nj, nj, 1.0, H, nj,
              Mt, nj, 0.0, T, nj);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, nj, nj, nj, 1.0, T, nj,
              H, nj, 0.0, V, nj);
cleanup:
  free(T);
  return status;
}

/* Local.  The variance components and their SEs by the delta method,
 * J V_(theta, sigma) J', J by central differences of components(). */
static hlm_status delta(hlm_survey *s, const hlm_design *d, const double *x)
{
  hlm_status status = HLM_OK;
  int p = d->p, m = d->ntheta + 1, nvc = s->nvc, nj = s->nj;
  double *J = NULL, *y = NULL, *fp = NULL, *fm = NULL;
  HLM_ALLOC(J, (size_t)nvc * m);
  HLM_ALLOC(y, m);
  HLM_ALLOC(fp, nvc);
  HLM_ALLOC(fm, nvc);
  components(d, x + p, s->vc, NULL); /* names: hlm_survey_joint */
  for (int k = 0; k < m; k++) {
    double h = 1e-6 * fmax(fabs(x[p + k]), 1.0);
    memcpy(y, x + p, (size_t)m * sizeof *y);
    y[k] = x[p + k] + h;
    components(d, y, fp, NULL);
    y[k] = x[p + k] - h;
    components(d, y, fm, NULL);
    for (int e = 0; e < nvc; e++) {
      J[e + (size_t)nvc * k] = (fp[e] - fm[e]) / (2.0 * h);
    }
  }
  for (int e = 0; e < nvc; e++) {
    double v = 0.0;
    for (int a = 0; a < m; a++) {
      for (int b = 0; b < m; b++) {
        v += J[e + (size_t)nvc * a] * s->Vj[(p + a) + (size_t)nj * (p + b)] *
             J[e + (size_t)nvc * b];
      }
    }
    s->vcse[e] = sqrt(v);
  }
cleanup:
  free(J);
  free(y);
  free(fp);
  free(fm);
  return status;
}

/* Local.  The joint sandwich's arrays (s's and the work arrays). */
static hlm_status alloc_all(hlm_survey *s, const hlm_design *d, int nj,
                            double **x, double **H, double **Mt, double **rec)
{
  hlm_status status = HLM_OK;
  HLM_ALLOC(s->vc, s->nvc);
  HLM_ALLOC(s->vcse, s->nvc);
  HLM_ALLOC(s->vcname, s->nvc);
  HLM_ALLOC(*x, nj);
  HLM_ALLOC(*H, (size_t)nj * nj);
  HLM_ALLOC(*Mt, (size_t)nj * nj);
  HLM_ALLOC(*rec, (size_t)(d->ncl > 0 ? d->ncl : 1) * (nj + REC));
cleanup:
  return status;
}

hlm_status hlm_survey_joint(MPI_Comm comm, hlm_survey *s, hlm_design *d,
                            const hlm_fit *f, const double *beta)
{
  hlm_status status = HLM_OK, local = HLM_OK;
  int p = d->p, nj = p + d->ntheta + 1, ok = 0;
  work w = {0};
  double *x = NULL, *H = NULL, *Mt = NULL, *rec = NULL;
  int64_t nrec = 0;
  s->nj = nj;
  s->nvc = count_components(d);
  if (on_boundary(d, hlm_fit_theta(f))) { /* theta: the same on all ranks */
    s->vc_note = "the fit is on the boundary (a variance component is 0)";
  }
  local = alloc_all(s, d, nj, &x, &H, &Mt, &rec);
  if (local == HLM_OK) {
    memcpy(x, beta, (size_t)p * sizeof *x);
    memcpy(x + p, hlm_fit_theta(f), (size_t)d->ntheta * sizeof *x);
    x[nj - 1] = hlm_fit_sigma(f);
    components(d, x + p, s->vc, s->vcname); /* the estimates, always */
    if (s->vc_note == NULL) {
      local = work_alloc(d, &w);
    }
  }
  if (local == HLM_OK && s->vc_note == NULL) {
    local = local_records(s, d, x, &w, rec, &nrec);
  }
  HLM_TRY(hlm_comm_agree(comm, local, "the joint survey scores", NULL));
  if (s->vc_note != NULL) {
    goto cleanup;
  }
  HLM_TRY(hlm_survey_meat(comm, s, rec, nrec, nj, Mt));
  HLM_TRY(neg_hessian(comm, d, x, &w, H));
  HLM_ALLOC(s->Vj, (size_t)nj * nj);
  HLM_TRY(sandwich(nj, H, Mt, s->Vj, &ok));
  if (!ok) {
    s->vc_note = "the pseudo-log-likelihood's Hessian is not negative "
                 "definite at the estimates";
    free(s->Vj);
    s->Vj = NULL;
    goto cleanup;
  }
  HLM_TRY(delta(s, d, x));
cleanup:
  work_free(&w);
  free(x);
  free(H);
  free(Mt);
  free(rec);
  return status;
}
