/* mme.c: per-cluster cross-products, absorption of the local random effects
 * and the reduced fixed-effect system (docs/estimation.md).
 *
 * The response is first centred by the OLS fit: y~ = y - X b0.  For
 * cluster j, with T_j the block-diagonal relative covariance factor,
 *   C_jj = T_j' Z_j'Z_j T_j + I = L_j L_j'
 *   W_j  = L_j^-1 T_j' Z_j'X_j,  w_j = L_j^-1 T_j' Z_j'y~_j
 * and summed over clusters and ranks (in double-double)
 *   S = X'X - sum_j W_j'W_j,  s = X'y~ - sum_j W_j'w_j,
 *   r = y~'y~ - sum_j w_j'w_j,  ldL2 = sum_j log det C_jj.
 * Then S = R_X R_X', c = R_X^-1 s, beta = b0 + R_X^-T c, pwrss = r - c'c,
 * and lme4's profiled criteria
 *   REML: ldL2 + log det S + (n-p)(1 + log(2 pi pwrss / (n-p)))
 *   ML:   ldL2 + n (1 + log(2 pi pwrss / n)). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hlm/comm.h"
#include "mme_internal.h"

#define HLM_PI 3.14159265358979323846

/* ---- double-double sums ------------------------------------------------ */

/* acc (hi, lo) += x: hi carries the running sum, lo the exact rounding
 * errors of the additions (TwoSum; Ogita, Rump and Oishi's Sum2). */
static void dd_add(double *acc, double x)
{
  double s = acc[0] + x, bp = s - acc[0];
  acc[1] += (acc[0] - (s - bp)) + (x - bp);
  acc[0] = s;
}

static void dd_combine(const double *in, double *io)
{
  double s = in[0] + io[0], bp = s - io[0];
  double lo = in[1] + io[1] + ((io[0] - (s - bp)) + (in[0] - bp));
  double hi = s + lo;
  io[1] = lo - (hi - s);
  io[0] = hi;
}

static void dd_sum_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
  (void)type;
  for (int i = 0; i < *len; i++) {
    dd_combine((const double *)in + 2 * i, (double *)inout + 2 * i);
  }
}

static double dd_value(const double *acc)
{
  return acc[0] + acc[1];
}

/* acc[2 i] += x[i] for i < n */
static void dd_add_vec(double *acc, const double *x, int n)
{
  for (int i = 0; i < n; i++) {
    dd_add(&acc[2 * i], x[i]);
  }
}

static hlm_status dd_allreduce(hlm_mme *m, double *acc, int n)
{
  hlm_status status = HLM_OK;
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, acc, n, m->dd_type, m->dd_sum, m->comm));
cleanup:
  return status;
}

/* ---- cross-products --------------------------------------------------------
 */

/* Add row i's contributions to cluster block b: Z'Z, Z'X, Z'y~. */
static void add_row(const hlm_design *d, const hlm_dcluster *c, int64_t i,
                    double yi, hlm_xblock *b, int *idx, double *val)
{
  int m = 0, off = 0, q = b->q, p = d->p;
  for (int r = 0; r < d->nterms; r++) {
    int l = d->zlev[i * d->nterms + r], k = d->term[r].k;
    for (int e = 0; e < k; e++) {
      idx[m] = c->zoff[r] + l * k + e;
      val[m++] = d->zval[i * d->zwidth + off + e];
    }
    off += k;
  }
  const double *x = &d->X[i * p];
  for (int a = 0; a < m; a++) {
    for (int e = 0; e < m; e++) {
      b->ZtZ[idx[a] + (size_t)q * idx[e]] += val[a] * val[e];
    }
    for (int col = 0; col < p; col++) {
      b->ZtX[idx[a] + (size_t)q * col] += val[a] * x[col];
    }
    b->Zty[idx[a]] += val[a] * yi;
  }
}

/* Pass 1: X'X and X'y over all ranks, and b0 = (X'X)^-1 X'y. */
static hlm_status global_ols(hlm_mme *m, double *acc, double *tmp)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = m->d;
  int p = d->p, n = 0, np2 = p * p;
  for (int64_t j = 0; j < d->ncl; j++) {
    const hlm_dcluster *c = &d->cl[j];
    const double *Xt = &d->X[c->start * p]; /* X_j' is p x n column-major */
    HLM_TRY(hlm_to_int(c->n, "rows of a cluster", &n));
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, p, n, 1.0, Xt, p, 0.0,
                tmp, p);
    cblas_dgemv(CblasColMajor, CblasNoTrans, p, n, 1.0, Xt, p, &d->y[c->start],
                1, 0.0, tmp + np2, 1);
    dd_add_vec(acc, tmp, np2 + p);
  }
  HLM_TRY(dd_allreduce(m, acc, np2 + p));
  for (int i = 0; i < np2; i++) {
    m->XtX[i] = dd_value(&acc[2 * i]);
    tmp[i] = m->XtX[i];
  }
  for (int i = 0; i < p; i++) {
    m->b0[i] = dd_value(&acc[2 * (np2 + i)]);
  }
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', p, tmp, p);
  HLM_LAPACK_CHECK(info, "dpotrf", "X'X is not positive definite");
  info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', p, 1, tmp, p, m->b0, p);
  HLM_LAPACK_CHECK(info, "dpotrs", "solving for the OLS start");
cleanup:
  return status;
}

/* Pass 2: cluster j's Z cross-products with y~ = y - X b0; adds X_j'y~
 * and y~'y~ to acc. */
static hlm_status cluster_xprod(hlm_mme *m, int64_t j, int *idx, double *val,
                                double *yt, double *acc)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = m->d;
  const hlm_dcluster *c = &d->cl[j];
  hlm_xblock *b = &m->blk[j];
  int p = d->p, n = 0;
  b->q = c->q;
  HLM_ALLOC(b->ZtZ, (size_t)c->q * c->q);
  HLM_ALLOC(b->ZtX, (size_t)c->q * p);
  HLM_ALLOC(b->Zty, c->q);
  for (int64_t i = 0; i < c->n; i++) {
    const double *x = &d->X[(c->start + i) * p];
    yt[i] = d->y[c->start + i] - cblas_ddot(p, x, 1, m->b0, 1);
    add_row(d, c, c->start + i, yt[i], b, idx, val);
  }
  HLM_TRY(hlm_to_int(c->n, "rows of a cluster", &n));
  cblas_dgemv(CblasColMajor, CblasNoTrans, p, n, 1.0, &d->X[c->start * p], p,
              yt, 1, 0.0, val, 1);
  dd_add_vec(acc, val, p);
  dd_add(&acc[2 * p], cblas_ddot(n, yt, 1, yt, 1));
cleanup:
  return status;
}

static hlm_status mme_alloc_work(hlm_mme *m)
{
  hlm_status status = HLM_OK;
  size_t q = (size_t)m->qmax, p = (size_t)m->p;
  HLM_ALLOC(m->C, q * q);
  HLM_ALLOC(m->M, q * q);
  HLM_ALLOC(m->Tt, q * q);
  HLM_ALLOC(m->B, q * p);
  HLM_ALLOC(m->w, q);
  HLM_ALLOC(m->WtW, p * p + p);
  m->nred = (int)(p * p + p + 3);
  HLM_ALLOC(m->red, 2 * (size_t)m->nred);
cleanup:
  return status;
}

static hlm_status mme_setup(hlm_mme *m)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = m->d;
  int p = d->p;
  int64_t maxn = 0;
  int *idx = NULL;
  double *val = NULL, *yt = NULL, *acc = NULL, *tmp = NULL;
  HLM_ALLOC(m->XtX, (size_t)p * p);
  HLM_ALLOC(m->Xty, p);
  HLM_ALLOC(m->b0, p);
  HLM_ALLOC(m->blk, d->ncl);
  HLM_ALLOC(acc, 2 * ((size_t)p * p + p));
  HLM_ALLOC(tmp, (size_t)p * p + p);
  HLM_TRY(global_ols(m, acc, tmp));
  for (int64_t j = 0; j < d->ncl; j++) {
    maxn = d->cl[j].n > maxn ? d->cl[j].n : maxn;
  }
  HLM_ALLOC(idx, d->zwidth);
  HLM_ALLOC(val, d->zwidth > p ? d->zwidth : p);
  HLM_ALLOC(yt, maxn);
  memset(acc, 0, 2 * ((size_t)p + 1) * sizeof *acc);
  for (int64_t j = 0; j < d->ncl; j++) {
    HLM_TRY(cluster_xprod(m, j, idx, val, yt, acc));
    m->qmax = d->cl[j].q > m->qmax ? d->cl[j].q : m->qmax;
  }
  HLM_TRY(dd_allreduce(m, acc, p + 1));
  for (int i = 0; i < p; i++) {
    m->Xty[i] = dd_value(&acc[2 * i]);
  }
  m->yty = dd_value(&acc[2 * p]);
  HLM_TRY(mme_alloc_work(m));
cleanup:
  free(idx);
  free(val);
  free(yt);
  free(acc);
  free(tmp);
  return status;
}

hlm_status hlm_mme_create(MPI_Comm comm, const hlm_design *d, hlm_mme **out)
{
  hlm_status status = HLM_OK;
  hlm_mme *m = NULL;
  HLM_ALLOC(m, 1);
  m->comm = comm;
  m->d = d;
  m->p = d->p;
  m->ncl = d->ncl;
  m->dd_type = MPI_DATATYPE_NULL;
  m->dd_sum = MPI_OP_NULL;
  HLM_MPI(MPI_Type_contiguous(2, MPI_DOUBLE, &m->dd_type));
  HLM_MPI(MPI_Type_commit(&m->dd_type));
  HLM_MPI(MPI_Op_create(dd_sum_op, 1, &m->dd_sum));
  HLM_TRY(mme_setup(m));
  *out = m;
  m = NULL;
cleanup:
  hlm_mme_destroy(&m);
  return hlm_comm_agree(comm, status, "cross-products", NULL);
}

void hlm_mme_destroy(hlm_mme **mp)
{
  if (mp == NULL || *mp == NULL) {
    return;
  }
  hlm_mme *m = *mp;
  for (int64_t j = 0; m->blk && j < m->ncl; j++) {
    free(m->blk[j].ZtZ);
    free(m->blk[j].ZtX);
    free(m->blk[j].Zty);
  }
  if (m->dd_type != MPI_DATATYPE_NULL) {
    MPI_Type_free(&m->dd_type);
  }
  if (m->dd_sum != MPI_OP_NULL) {
    MPI_Op_free(&m->dd_sum);
  }
  free(m->blk);
  free(m->XtX);
  free(m->Xty);
  free(m->b0);
  free(m->C);
  free(m->M);
  free(m->Tt);
  free(m->B);
  free(m->w);
  free(m->WtW);
  free(m->red);
  free(m);
  *mp = NULL;
}

/* The k x k lower-triangular factor of term r from theta (column-major
 * lower triangle, lme4's order), into L (k x k, column-major). */
static void term_factor(const hlm_reterm *rt, const double *theta, double *L)
{
  const double *th = &theta[rt->theta_off];
  int k = rt->k, t = 0;
  memset(L, 0, (size_t)k * k * sizeof *L);
  for (int col = 0; col < k; col++) {
    for (int row = col; row < k; row++) {
      L[row + k * col] = th[t++];
    }
  }
}

/* Dense T_j' (q x q, column-major) of cluster c at theta. */
static void build_Tt(const hlm_design *d, const hlm_dcluster *c,
                     const double *theta, double *Tt)
{
  int q = c->q;
  double L[64 * 64];
  memset(Tt, 0, (size_t)q * q * sizeof *Tt);
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    int k = rt->k;
    term_factor(rt, theta, L);
    for (int l = 0; l < c->nlev[r]; l++) {
      int o = c->zoff[r] + l * k;
      for (int a = 0; a < k; a++) {
        for (int b = 0; b < k; b++) {
          Tt[(o + a) + (size_t)q * (o + b)] = L[b + k * a]; /* T' = L' */
        }
      }
    }
  }
}

/* C = T' Z'Z T + I with dense T' (q small relative to the rows). */
static void form_C(hlm_mme *m, const hlm_xblock *b)
{
  int q = b->q;
  /* M = T' Z'Z;  C = M T = M (T')' */
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, q, q, 1.0, m->Tt, q,
              b->ZtZ, q, 0.0, m->M, q);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, q, q, q, 1.0, m->M, q,
              m->Tt, q, 0.0, m->C, q);
  for (int i = 0; i < q; i++) {
    m->C[i + (size_t)q * i] += 1.0;
  }
}

/* Factor C_jj and form W = L^-1 T'Z'X (in m->B) and w = L^-1 T'Z'y. */
static hlm_status absorb_cluster(hlm_mme *m, int64_t j, const double *theta,
                                 double *ld)
{
  hlm_status status = HLM_OK;
  const hlm_xblock *b = &m->blk[j];
  int q = b->q, p = m->p;
  if (q == 0) {
    return HLM_OK;
  }
  build_Tt(m->d, &m->d->cl[j], theta, m->Tt);
  form_C(m, b);
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', q, m->C, q);
  HLM_LAPACK_CHECK(info, "dpotrf",
                   "C_jj = T'Z'ZT + I is not positive "
                   "definite (non-finite theta?)");
  for (int i = 0; i < q; i++) {
    *ld += 2.0 * log(m->C[i + (size_t)q * i]);
  }
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, p, q, 1.0, m->Tt, q,
              b->ZtX, q, 0.0, m->B, q);
  cblas_dgemv(CblasColMajor, CblasNoTrans, q, q, 1.0, m->Tt, q, b->Zty, 1, 0.0,
              m->w, 1);
  cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit,
              q, p, 1.0, m->C, q, m->B, q);
  cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, q, m->C, q,
              m->w, 1);
cleanup:
  return status;
}

/* This rank's sums of W'W, W'w, w'w and log det C_jj (double-double, in
 * m->red), its clusters in order. */
static hlm_status absorb_all(hlm_mme *m, const double *theta)
{
  hlm_status status = HLM_OK;
  int p = m->p, np2 = p * p;
  double *acc = m->red, ld = 0.0;
  memset(acc, 0, 2 * (size_t)m->nred * sizeof *acc);
  for (int64_t j = 0; j < m->ncl; j++) {
    int q = m->blk[j].q;
    ld = 0.0;
    HLM_TRY(absorb_cluster(m, j, theta, &ld));
    if (q == 0) {
      continue;
    }
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, p, q, 1.0, m->B, q, 0.0,
                m->WtW, p);
    cblas_dgemv(CblasColMajor, CblasTrans, q, p, 1.0, m->B, q, m->w, 1, 0.0,
                m->WtW + np2, 1);
    dd_add_vec(acc, m->WtW, np2 + p);
    dd_add(&acc[2 * (np2 + p)], cblas_ddot(q, m->w, 1, m->w, 1));
    dd_add(&acc[2 * (np2 + p + 1)], ld);
  }
cleanup:
  return status;
}

/* Replicated: S = X'X - sum W'W, s = X'y~ - sum W'w, r = y~'y~ - sum w'w;
 * factor S, solve for beta and evaluate the criterion. */
static hlm_status solve_global(hlm_mme *m, int reml, hlm_mme_eval *ev)
{
  hlm_status status = HLM_OK;
  int p = m->p, np2 = p * p;
  const double *acc = m->red;
  double n = (double)m->d->nglobal, r = 0.0;
  for (int i = 0; i < np2; i++) {
    ev->RX[i] = m->XtX[i] - dd_value(&acc[2 * i]);
  }
  for (int i = 0; i < p; i++) {
    ev->beta[i] = m->Xty[i] - dd_value(&acc[2 * (np2 + i)]);
  }
  r = m->yty - dd_value(&acc[2 * (np2 + p)]);
  ev->ldL2 = dd_value(&acc[2 * (np2 + p + 1)]);
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', p, ev->RX, p);
  HLM_LAPACK_CHECK(info, "dpotrf",
                   "the fixed-effect system S is not positive definite");
  /* with R_X^-1 s = c:  beta~ = R_X^-T c,  pwrss = r - c'c */
  cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, p, ev->RX,
              p, ev->beta, 1);
  ev->pwrss = r - cblas_ddot(p, ev->beta, 1, ev->beta, 1);
  cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, p, ev->RX, p,
              ev->beta, 1);
  cblas_daxpy(p, 1.0, m->b0, 1, ev->beta, 1);
  ev->ldRX2 = 0.0;
  for (int i = 0; i < p; i++) {
    ev->ldRX2 += 2.0 * log(ev->RX[i + (size_t)p * i]);
  }
  HLM_CHECK(ev->pwrss > 0, HLM_ERR_NUMERIC,
            "the penalized residual sum of squares is %g (not positive)",
            ev->pwrss);
  double df = reml ? n - p : n;
  ev->crit = ev->ldL2 + (reml ? ev->ldRX2 : 0.0) +
             df * (1.0 + log(2.0 * HLM_PI * ev->pwrss / df));
cleanup:
  return status;
}

hlm_status hlm_mme_evaluate(hlm_mme *m, const double *theta, int reml,
                            hlm_mme_eval *ev)
{
  hlm_status status = HLM_OK, local = HLM_OK;
  double *fail = &m->red[2 * (m->nred - 1)];
  local = absorb_all(m, theta);
  fail[0] = local != HLM_OK;
  fail[1] = 0.0;
  HLM_TRY(dd_allreduce(m, m->red, m->nred));
  HLM_TRY(local);
  HLM_CHECK(fail[0] == 0, HLM_ERR_OTHER_RANK,
            "another rank failed to absorb its clusters at this theta");
  HLM_TRY(solve_global(m, reml, ev));
cleanup:
  return status;
}

hlm_status hlm_mme_cluster_ranef(hlm_mme *m, int64_t j, const double *theta,
                                 const double *beta, double sigma2, double *u,
                                 double *cv)
{
  hlm_status status = HLM_OK;
  const hlm_xblock *b = &m->blk[j];
  int q = b->q, p = m->p;
  double ld = 0.0;
  if (q == 0) {
    return HLM_OK;
  }
  HLM_TRY(absorb_cluster(m, j, theta, &ld));
  /* L' v = w - W (beta - b0);  u = T v */
  cblas_dgemv(CblasColMajor, CblasNoTrans, q, p, -1.0, m->B, q, beta, 1, 1.0,
              m->w, 1);
  cblas_dgemv(CblasColMajor, CblasNoTrans, q, p, 1.0, m->B, q, m->b0, 1, 1.0,
              m->w, 1);
  cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, q, m->C, q,
              m->w, 1);
  cblas_dgemv(CblasColMajor, CblasTrans, q, q, 1.0, m->Tt, q, m->w, 1, 0.0, u,
              1);
  /* diag(sigma2 T C^-1 T') = sigma2 * column norms^2 of L^-1 T' */
  memcpy(m->M, m->Tt, (size_t)q * q * sizeof *m->M);
  cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit,
              q, q, 1.0, m->C, q, m->M, q);
  for (int i = 0; i < q; i++) {
    cv[i] = sigma2 *
            cblas_ddot(q, &m->M[(size_t)q * i], 1, &m->M[(size_t)q * i], 1);
  }
cleanup:
  return status;
}
