/* mme.c: per-cluster cross-products, absorption of the local random effects
 * and the global system of g = (v_global, beta) (docs/estimation.md).
 *
 * Rows come pre-scaled by sqrt(w_i) when there are weights.  The response
 * is first centred by the OLS fit: y~ = y - X b0.  With H = [Z_g X] (Z_g:
 * the global terms' columns), T_G = diag(T_g, I_p), and for cluster j with
 * T_j the block-diagonal factor of its local terms,
 *   C_jj = T_j' Z_j'Z_j T_j + I = L_j L_j'
 *   W_j  = L_j^-1 T_j' Z_j'H_j T_G,  w_j = L_j^-1 T_j' Z_j'y~_j
 * (H_j only on the global columns cluster j touches: sparse coupling), and
 * summed over clusters and ranks (in double-double)
 *   S = T_G' H'H T_G + diag(I, 0) - sum_j W_j'W_j,
 *   s = T_G' H'y~ - sum_j W_j'w_j,  r = y~'y~ - sum_j w_j'w_j.
 * Then S = R R', c = R^-1 s, g = R^-T c, beta = b0 + g_beta,
 * pwrss = r - c'c, ldL2 = sum_j log det C_jj + log det R_vv^2 (the leading
 * v_global block), ldRX2 = log det of the rest, and lme4's criteria
 *   REML: ldL2 + ldRX2 - sum log w + (n-p)(1 + log(2 pi pwrss / (n-p)))
 *   ML:   ldL2 - sum log w + n (1 + log(2 pi pwrss / n))
 * or with known SDs (sigma = 1, not profiled)
 *   ldL2 [+ ldRX2] - sum log w + pwrss + df log(2 pi).
 * A survey design (survey.c, docs/survey.md) multiplies every sum over
 * cluster j by its level-2 weight w_j and replaces n by sum_j w_j n_j^w
 * (the weighted row count) in the pseudo-ML criterion. */
#include <cblas.h>
#include <inttypes.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ddsum.h"
#include "hlm/comm.h"
#include "hlm/runlog.h"
#include "mme_cache.h"
#include "mme_dist.h"
#include "mme_grad.h"
#include "mme_internal.h"
#include "smallblas.h"
#include "watchdog.h"

#define HLM_PI 3.14159265358979323846

/* ---- double-double sums (ddsum.h) -------------------------------------- */

#define dd_add hlm_dd_add
#define dd_value hlm_dd_value

/* acc[2 i] += x[i] for i < n */
static void dd_add_vec(double *acc, const double *x, int n)
{
  for (int i = 0; i < n; i++) {
    dd_add(&acc[2 * i], x[i]);
  }
}

static hlm_status dd_allreduce(hlm_mme *m, double *acc, int n)
{
  return hlm_dd_allreduce(m->comm, acc, n);
}

/* ---- cross-products --------------------------------------------------------
 */

/* One row's nonzero effect values: local (columns of Z_j) and global
 * (columns of v_global). */
typedef struct row_ent {
  int nl, ngv;
  int *lidx;
  double *lval;
  int64_t *gv;
  int *gpos; /* positions of gv among the cluster's gidx */
  double *gval;
} row_ent;

static void row_entries(const hlm_design *d, const hlm_dcluster *c, int64_t i,
                        row_ent *e)
{
  int off = 0;
  e->nl = 0;
  e->ngv = 0;
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    int l = d->zlev[i * d->nterms + r], k = rt->k;
    for (int a = 0; a < k; a++) {
      double v = d->zval[i * d->zwidth + off + a];
      if (rt->global) {
        e->gv[e->ngv] = rt->gfirst + (int64_t)l * k + a;
        e->gval[e->ngv++] = v;
      } else {
        e->lidx[e->nl] = c->zoff[r] + l * k + a;
        e->lval[e->nl++] = v;
      }
    }
    off += k;
  }
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The global columns cluster j touches, ascending, into b->gidx. */
static hlm_status touched_globals(const hlm_design *d, const hlm_dcluster *c,
                                  hlm_xblock *b, row_ent *e)
{
  hlm_status status = HLM_OK;
  int64_t n = 0, gw = d->zwidth;
  HLM_ALLOC(b->gidx, c->n * gw);
  for (int64_t i = 0; i < c->n; i++) {
    row_entries(d, c, c->start + i, e);
    for (int a = 0; a < e->ngv; a++) {
      b->gidx[n++] = e->gv[a];
    }
  }
  qsort(b->gidx, (size_t)n, sizeof *b->gidx, cmp_i64);
  b->ng = 0;
  for (int64_t i = 0; i < n; i++) {
    if (b->ng == 0 || b->gidx[i] != b->gidx[b->ng - 1]) {
      b->gidx[b->ng++] = b->gidx[i];
    }
  }
cleanup:
  return status;
}

/* Add row i's contributions to cluster block b (Z'Z, Z'X, Z'y~, Z'Zg) and
 * to the cluster's H_j'H_j (h x h) and H_j'y~, H_j = [Zg_j X_j], except
 * their X_j'X_j and X_j'y~ blocks (x_rows, once per cluster). */
static void add_row(const hlm_design *d, int64_t i, double yi, hlm_xblock *b,
                    const row_ent *e, double *Hj, double *hy)
{
  int q = b->q, p = d->p, h = b->ng + p;
  const double *x = &d->X[i * p];
  if (b->tree != NULL) {
    hlm_tree_add_row(b->tree, d, i, b->ZtZ);
  }
  for (int a = 0; a < e->nl; a++) {
    double va = e->lval[a];
    int ia = e->lidx[a];
    for (int c = 0; c < e->nl && b->tree == NULL; c++) {
      b->ZtZ[ia + (size_t)q * e->lidx[c]] += va * e->lval[c];
    }
    for (int col = 0; col < p; col++) {
      b->ZtX[ia + (size_t)q * col] += va * x[col];
    }
    for (int c = 0; c < e->ngv; c++) {
      b->ZtG[ia + (size_t)q * e->gpos[c]] += va * e->gval[c];
    }
    b->Zty[ia] += va * yi;
  }
  for (int a = 0; a < e->ngv; a++) {
    int ia = e->gpos[a];
    for (int c = 0; c < e->ngv; c++) {
      Hj[ia + (size_t)h * e->gpos[c]] += e->gval[a] * e->gval[c];
    }
    for (int col = 0; col < p; col++) {
      Hj[ia + (size_t)h * (b->ng + col)] += e->gval[a] * x[col];
    }
    hy[ia] += e->gval[a] * yi;
  }
}

/* The X_j'X_j and X_j'y~ blocks of H_j'H_j and H_j'y~ (after add_row),
 * by BLAS over the cluster's rows: X_j' is p x n column-major. */
static hlm_status x_rows(const hlm_design *d, const hlm_dcluster *c, int ng,
                         const double *yt, double *Hj, double *hy)
{
  hlm_status status = HLM_OK;
  int p = d->p, h = ng + p, n = 0;
  const double *Xt = &d->X[c->start * p];
  double *XX = Hj + ng + (size_t)h * ng;
  HLM_TRY(hlm_to_int(c->n, "rows of a cluster", &n));
  cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, p, n, 1.0, Xt, p, 1.0,
              XX, h);
  for (int col = 0; col < p; col++) {
    for (int a = col + 1; a < p; a++) {
      XX[col + (size_t)h * a] = XX[a + (size_t)h * col];
    }
  }
  cblas_dgemv(CblasColMajor, CblasNoTrans, p, n, 1.0, Xt, p, yt, 1, 1.0,
              hy + ng, 1);
cleanup:
  return status;
}

/* Global index of column a of a cluster's H_j. */
static int64_t hcol(const hlm_mme *m, const hlm_xblock *b, int a)
{
  return a < b->ng ? b->gidx[a] : m->qg + (a - b->ng);
}

/* acc (G x G, then G) += H_j'H_j and H_j'y~ scattered; when S is
 * distributed, acc holds only the G-vector (at m->roff = 0). */
static void scatter_add(const hlm_mme *m, const hlm_xblock *b, const double *Hj,
                        const double *hy, double *acc)
{
  int h = b->ng + m->p;
  size_t G = (size_t)m->G;
  for (int c = 0; c < h; c++) {
    int64_t gc = hcol(m, b, c);
    for (int a = 0; !m->distributed && a < h; a++) {
      dd_add(&acc[2 * (hcol(m, b, a) + G * gc)], Hj[a + (size_t)h * c]);
    }
    dd_add(&acc[2 * (m->roff + gc)], hy[c]);
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
    hlm_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, p, n, 1.0, Xt, p, 0.0,
              tmp, p);
    hlm_dgemv(CblasColMajor, CblasNoTrans, p, n, 1.0, Xt, p, &d->y[c->start], 1,
              0.0, tmp + np2, 1);
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
  int info = hlm_dpotrf(LAPACK_COL_MAJOR, 'L', p, tmp, p);
  HLM_LAPACK_CHECK(info, "dpotrf", "X'X is not positive definite");
  info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', p, 1, tmp, p, m->b0, p);
  HLM_LAPACK_CHECK(info, "dpotrs", "solving for the OLS start");
cleanup:
  return status;
}

/* Pass 2: cluster j's cross-products with y~ = y - X b0; adds H_j'H_j,
 * H_j'y~ and y~'y~ to acc (G x G, G, 1). */
static hlm_status cluster_xprod(hlm_mme *m, int64_t j, row_ent *e, double *acc)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = m->d;
  const hlm_dcluster *c = &d->cl[j];
  hlm_xblock *b = &m->blk[j];
  int p = d->p;
  double *Hj = NULL, *hy = NULL, *yts = NULL, yty = 0.0;
  b->q = c->q;
  HLM_TRY(touched_globals(d, c, b, e));
  if (!m->force_dense && c->q > 0) {
    HLM_TRY(hlm_tree_create(d, c, &b->tree));
  }
  int h = b->ng + p;
  if (b->tree != NULL) {
    HLM_ALLOC(b->ZtZ, b->tree->npanel > 0 ? b->tree->npanel : 1);
    m->npmax = b->tree->npanel > m->npmax ? b->tree->npanel : m->npmax;
    m->mmax = b->tree->mmax > m->mmax ? b->tree->mmax : m->mmax;
  } else {
    HLM_ALLOC(b->ZtZ, (size_t)c->q * c->q);
    m->qdense = c->q > m->qdense ? c->q : m->qdense;
  }
  HLM_ALLOC(b->ZtX, (size_t)c->q * p);
  HLM_ALLOC(b->Zty, c->q);
  HLM_ALLOC(b->ZtG, (size_t)c->q * b->ng);
  HLM_ALLOC(Hj, (size_t)h * h);
  HLM_ALLOC(hy, h);
  HLM_ALLOC(yts, c->n > 0 ? c->n : 1);
  for (int64_t i = 0; i < c->n; i++) {
    const double *x = &d->X[(c->start + i) * p];
    double yt = d->y[c->start + i] - cblas_ddot(p, x, 1, m->b0, 1);
    yts[i] = yt;
    row_entries(d, c, c->start + i, e);
    for (int a = 0; a < e->nl && b->tree != NULL; a++) {
      e->lidx[a] = b->tree->pos[e->lidx[a]];
    }
    for (int a = 0; a < e->ngv; a++) {
      const int64_t *hit =
          bsearch(&e->gv[a], b->gidx, (size_t)b->ng, sizeof *b->gidx, cmp_i64);
      e->gpos[a] = (int)(hit - b->gidx);
    }
    add_row(d, c->start + i, yt, b, e, Hj, hy);
    yty += yt * yt;
  }
  HLM_TRY(x_rows(d, c, b->ng, yts, Hj, hy));
  if (d->cw != NULL) { /* a survey's level-2 weight (survey.c) */
    cblas_dscal(h * h, d->cw[j], Hj, 1);
    cblas_dscal(h, d->cw[j], hy, 1);
    yty *= d->cw[j];
  }
  scatter_add(m, b, Hj, hy, acc);
  dd_add(&acc[2 * (m->roff + m->G)], yty);
  if (m->distributed) {
    b->HH = Hj; /* the distributed S re-forms its part per theta */
    Hj = NULL;
  }
  m->qmax = b->q > m->qmax ? b->q : m->qmax;
  m->hmax = h > m->hmax ? h : m->hmax;
cleanup:
  free(Hj);
  free(hy);
  free(yts);
  return status;
}

static hlm_status mme_alloc_work(hlm_mme *m)
{
  hlm_status status = HLM_OK;
  size_t q = (size_t)m->qmax, h = (size_t)m->hmax, G = (size_t)m->G;
  size_t big = q > G ? q : G, qd = (size_t)m->qdense, mx = (size_t)m->mmax;
  size_t nlf = 0;
  for (int r = 0; r < m->d->nterms; r++) {
    nlf += (size_t)m->d->term[r].k * m->d->term[r].k;
  }
  HLM_ALLOC(m->C, qd * qd);
  HLM_ALLOC(m->M, qd * qd);
  HLM_ALLOC(m->Tt, qd * qd);
  HLM_ALLOC(m->tW, m->npmax);
  HLM_ALLOC(m->tSig, m->npmax);
  HLM_ALLOC(m->twork, mx * (mx + 128) + 64 * 64);
  HLM_ALLOC(m->tq, 2 * q);
  HLM_ALLOC(m->Lf, nlf);
  HLM_ALLOC(m->Lfoff, m->d->nterms);
  HLM_ALLOC(m->B, q * h);
  HLM_ALLOC(m->w, q);
  HLM_ALLOC(m->WtW, h * h + h);
  HLM_ALLOC(m->P, q * h);
  HLM_ALLOC(m->Q, big * 64);
  if (!m->distributed) {
    HLM_ALLOC(m->S, G * G);
  }
  HLM_ALLOC(m->g, G);
  m->nred = (int)(m->roff + G + 3);
  HLM_ALLOC(m->red, 2 * (size_t)m->nred);
cleanup:
  return status;
}

static hlm_status row_ent_alloc(const hlm_design *d, row_ent *e)
{
  hlm_status status = HLM_OK;
  HLM_ALLOC(e->lidx, d->zwidth);
  HLM_ALLOC(e->lval, d->zwidth);
  HLM_ALLOC(e->gv, d->zwidth);
  HLM_ALLOC(e->gpos, d->zwidth);
  HLM_ALLOC(e->gval, d->zwidth);
cleanup:
  return status;
}

static void row_ent_free(row_ent *e)
{
  free(e->lidx);
  free(e->lval);
  free(e->gv);
  free(e->gpos);
  free(e->gval);
}

static hlm_status mme_setup(hlm_mme *m)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = m->d;
  int p = d->p;
  size_t G = (size_t)m->G, nacc = m->roff + G + 1;
  row_ent e = {0};
  double *acc = NULL, *tmp = NULL;
  HLM_ALLOC(m->XtX, (size_t)p * p);
  HLM_ALLOC(m->Xty, p);
  HLM_ALLOC(m->b0, p);
  if (!m->distributed) {
    HLM_ALLOC(m->HtH, G * G);
  }
  HLM_ALLOC(m->Hty, G);
  HLM_ALLOC(m->blk, d->ncl);
  HLM_ALLOC(acc, 2 * (nacc > (size_t)p * p + p ? nacc : (size_t)p * p + p));
  HLM_ALLOC(tmp, (size_t)p * p + p);
  HLM_TRY(global_ols(m, acc, tmp));
  HLM_TRY(row_ent_alloc(d, &e));
  memset(acc, 0, 2 * nacc * sizeof *acc);
  for (int64_t j = 0; j < d->ncl; j++) {
    HLM_TRY(cluster_xprod(m, j, &e, acc));
  }
  HLM_TRY(dd_allreduce(m, acc, (int)nacc));
  for (size_t i = 0; i < m->roff; i++) {
    m->HtH[i] = dd_value(&acc[2 * i]);
  }
  for (size_t i = 0; i < G; i++) {
    m->Hty[i] = dd_value(&acc[2 * (m->roff + i)]);
  }
  memcpy(m->Xty, &m->Hty[m->qg], (size_t)p * sizeof *m->Xty);
  m->yty = dd_value(&acc[2 * (m->roff + G)]);
  if (m->distributed) {
    HLM_TRY(hlm_mme_dist_create(m));
  }
  HLM_TRY(mme_alloc_work(m));
  HLM_TRY(hlm_absorb_cache_create(m, &m->cache));
cleanup:
  row_ent_free(&e);
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
  m->qg = d->qg;
  HLM_CHECK(d->qg + d->p <= INT32_MAX / 2, HLM_ERR_NOT_IMPLEMENTED,
            "the global system has %" PRId64 " unknowns (at most %d supported)",
            d->qg + d->p, INT32_MAX / 2);
  m->G = (int)(d->qg + d->p);
  m->distributed = m->G > d->scalapack_threshold;
  HLM_CHECK(m->distributed || m->G <= HLM_DESIGN_MAX_GLOBAL,
            HLM_ERR_NOT_IMPLEMENTED,
            "the global system has %d unknowns, more than the replicated "
            "(LAPACK) path takes (%d): set [estimation] scalapack_threshold "
            "below %d to solve it distributed (ScaLAPACK)",
            m->G, HLM_DESIGN_MAX_GLOBAL, m->G);
  m->roff = m->distributed ? 0 : (size_t)m->G * m->G;
  m->hmax = d->p;
  m->ncl = d->ncl;
  const char *absorb = getenv("HLM_ABSORB");
  m->force_dense = absorb != NULL && strcmp(absorb, "dense") == 0;
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
  if (m->distributed && m->dist != NULL) { /* S^-1's part counts too */
    const hlm_grid *g = m->dist->grid;
    hlm_log_global_system(m->G, g->nprow, g->npcol, hlm_mme_global_bytes(m));
  }
  for (int64_t j = 0; m->blk && j < m->ncl; j++) {
    free(m->blk[j].ZtZ);
    free(m->blk[j].ZtX);
    free(m->blk[j].Zty);
    free(m->blk[j].gidx);
    free(m->blk[j].ZtG);
    free(m->blk[j].HH);
    hlm_tree_destroy(&m->blk[j].tree);
  }
  free(m->blk);
  free(m->XtX);
  free(m->Xty);
  free(m->b0);
  free(m->HtH);
  free(m->Hty);
  free(m->S);
  free(m->g);
  free(m->Svi);
  free(m->C);
  free(m->M);
  free(m->Tt);
  free(m->B);
  free(m->w);
  free(m->WtW);
  free(m->P);
  free(m->Q);
  free(m->tW);
  free(m->tSig);
  free(m->twork);
  free(m->tq);
  free(m->Lf);
  free(m->Lfoff);
  free(m->red);
  hlm_mme_dist_destroy(&m->dist);
  hlm_absorb_cache_destroy(&m->cache);
  free(m);
  *mp = NULL;
}

/* The global term holding v_global column gc. */
static const hlm_reterm *global_term(const hlm_design *d, int64_t gc)
{
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    if (rt->global && gc >= rt->gfirst &&
        gc < rt->gfirst + rt->nlevels * rt->k) {
      return rt;
    }
  }
  return NULL;
}

/* M := M T_g on M's first ncols columns, which are the v_global columns
 * cols[] (whole levels, ascending); M is nrows x ., leading dim ldm;
 * tmp holds nrows x 64. */
void hlm_mme_right_tg(const hlm_design *d, const double *theta,
                      const int64_t *cols, int ncols, double *M, int nrows,
                      int ldm, double *tmp)
{
  double L[64 * 64];
  for (int a = 0; a < ncols;) {
    int64_t gc = cols ? cols[a] : a;
    const hlm_reterm *rt = global_term(d, gc);
    int k = rt->k;
    hlm_term_factor(rt, theta, L);
    for (int e = 0; e < k; e++) {
      for (int i = 0; i < nrows; i++) {
        tmp[i + (size_t)nrows * e] = M[i + (size_t)ldm * (a + e)];
      }
    }
    for (int e = 0; e < k; e++) {
      for (int i = 0; i < nrows; i++) {
        double sum = 0.0;
        for (int f = e; f < k; f++) {
          sum += tmp[i + (size_t)nrows * f] * L[f + k * e];
        }
        M[i + (size_t)ldm * (a + e)] = sum;
      }
    }
    a += k;
  }
}

/* Dense T_j' (q x q, column-major) of cluster c at theta (local terms). */
static void build_Tt(const hlm_design *d, const hlm_dcluster *c,
                     const double *theta, double *Tt)
{
  int q = c->q;
  double L[64 * 64];
  memset(Tt, 0, (size_t)q * q * sizeof *Tt);
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    int k = rt->k;
    hlm_term_factor(rt, theta, L);
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
  hlm_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, q, q, 1.0, m->Tt, q,
            b->ZtZ, q, 0.0, m->M, q);
  hlm_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, q, q, q, 1.0, m->M, q,
            m->Tt, q, 0.0, m->C, q);
  for (int i = 0; i < q; i++) {
    m->C[i + (size_t)q * i] += 1.0;
  }
}

/* The tree path of absorb_cluster: B = Z'[Zg T_g X] and w = Z'y~ in the
 * node order, then T' and L^-1 level by level (mme_tree.c). */
static hlm_status absorb_tree(hlm_mme *m, const hlm_xblock *b,
                              const double *theta, double *ld)
{
  int q = b->q, p = m->p, ng = b->ng;
  memcpy(m->B, b->ZtG, (size_t)q * ng * sizeof *m->B);
  if (ng > 0) {
    hlm_mme_right_tg(m->d, theta, b->gidx, ng, m->B, q, q, m->Q);
  }
  memcpy(m->B + (size_t)q * ng, b->ZtX, (size_t)q * p * sizeof *m->B);
  memcpy(m->w, b->Zty, (size_t)q * sizeof *m->w);
  return hlm_tree_absorb(b->tree, m->Lf, m->Lfoff, b->ZtZ, m->tW, m->B, ng + p,
                         m->w, ld);
}

/* Factor C_jj and form W = L^-1 T'Z'H_j T_G (q x h, in m->B; H_j =
 * [Zg_j X_j], T_G = diag(T_g, I)) and w = L^-1 T'Z'y~. */
static hlm_status absorb_cluster(hlm_mme *m, int64_t j, const double *theta,
                                 double *ld)
{
  hlm_status status = HLM_OK;
  const hlm_xblock *b = &m->blk[j];
  int q = b->q, p = m->p, ng = b->ng;
  if (q == 0) {
    return HLM_OK;
  }
  if (b->tree != NULL) {
    return absorb_tree(m, b, theta, ld);
  }
  build_Tt(m->d, &m->d->cl[j], theta, m->Tt);
  form_C(m, b);
  int info = hlm_dpotrf(LAPACK_COL_MAJOR, 'L', q, m->C, q);
  HLM_LAPACK_CHECK(info, "dpotrf",
                   "C_jj = T'Z'ZT + I is not positive "
                   "definite (non-finite theta?)");
  for (int i = 0; i < q; i++) {
    *ld += 2.0 * log(m->C[i + (size_t)q * i]);
  }
  if (ng > 0) {
    memcpy(m->P, b->ZtG, (size_t)q * ng * sizeof *m->P);
    hlm_mme_right_tg(m->d, theta, b->gidx, ng, m->P, q, q, m->Q);
    hlm_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, ng, q, 1.0, m->Tt,
              q, m->P, q, 0.0, m->B, q);
  }
  hlm_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, p, q, 1.0, m->Tt, q,
            b->ZtX, q, 0.0, m->B + (size_t)q * ng, q);
  hlm_dgemv(CblasColMajor, CblasNoTrans, q, q, 1.0, m->Tt, q, b->Zty, 1, 0.0,
            m->w, 1);
  hlm_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, q,
            ng + p, 1.0, m->C, q, m->B, q);
  hlm_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, q, m->C, q,
            m->w, 1);
cleanup:
  return status;
}

/* absorb_cluster, or its blocks kept from an earlier pass at theta (then
 * m->Tt is rebuilt too: the state is that of a fresh absorb). */
static hlm_status absorb_cached(hlm_mme *m, int64_t j, const double *theta,
                                double *ld)
{
  hlm_status status = HLM_OK;
  double l = 0.0;
  if (m->blk[j].q == 0) {
    return HLM_OK;
  }
  if (hlm_absorb_cache_get(m, j, theta, ld)) {
    if (m->blk[j].tree == NULL) { /* as absorb_cluster leaves it */
      build_Tt(m->d, &m->d->cl[j], theta, m->Tt);
    }
    return HLM_OK;
  }
  HLM_TRY(absorb_cluster(m, j, theta, &l));
  hlm_absorb_cache_put(m, j, theta, l);
  *ld += l;
cleanup:
  return status;
}

/* This rank's sums of W'W, W'w (scattered into G x G and G), w'w and log
 * det C_jj (double-double, in m->red), its clusters in order. */
static hlm_status absorb_all(hlm_mme *m, const double *theta)
{
  hlm_status status = HLM_OK;
  size_t G = (size_t)m->G;
  double *acc = m->red, ld = 0.0;
  memset(acc, 0, 2 * (size_t)m->nred * sizeof *acc);
  hlm_tree_term_factors(m->d, theta, m->Lf, m->Lfoff);
  for (int64_t j = 0; j < m->ncl; j++) {
    const hlm_xblock *b = &m->blk[j];
    int q = b->q, h = b->ng + m->p;
    ld = 0.0;
    HLM_TRY(absorb_cached(m, j, theta, &ld));
    if (q == 0) {
      if (m->distributed) {
        hlm_mme_dist_cluster(m, j, theta, NULL);
      }
      continue;
    }
    hlm_dsyrk(CblasColMajor, CblasLower, CblasTrans, h, q, 1.0, m->B, q, 0.0,
              m->WtW, h);
    for (int c = 0; c < h; c++) {
      for (int a = c + 1; a < h; a++) {
        m->WtW[c + (size_t)h * a] = m->WtW[a + (size_t)h * c];
      }
    }
    hlm_dgemv(CblasColMajor, CblasTrans, q, h, 1.0, m->B, q, m->w, 1, 0.0,
              m->WtW + (size_t)h * h, 1);
    /* a survey's level-2 weight multiplies the cluster's whole part */
    double cw = m->d->cw != NULL ? m->d->cw[j] : 1.0;
    if (cw != 1.0) {
      cblas_dscal(h * h + h, cw, m->WtW, 1);
    }
    scatter_add(m, b, m->WtW, m->WtW + (size_t)h * h, acc);
    if (m->distributed) {
      hlm_mme_dist_cluster(m, j, theta, m->WtW);
    }
    dd_add(&acc[2 * (m->roff + G)], cw * cblas_ddot(q, m->w, 1, m->w, 1));
    dd_add(&acc[2 * (m->roff + G + 1)], cw * ld);
  }
cleanup:
  return status;
}

/* s = T_G' H'y~ - sum W'w into m->g. */
static void form_s(hlm_mme *m, const double *theta)
{
  int G = m->G, qg = (int)m->qg;
  memcpy(m->g, m->Hty, (size_t)G * sizeof *m->g);
  if (qg > 0) {
    hlm_mme_right_tg(m->d, theta, NULL, qg, m->g, 1, 1, m->Q);
  }
  for (int i = 0; i < G; i++) {
    m->g[i] -= dd_value(&m->red[2 * (m->roff + i)]);
  }
}

/* S = T_G' H'H T_G + diag(I_qg, 0) - sum W'W and s into m->S and m->g. */
static void form_S(hlm_mme *m, const double *theta)
{
  int G = m->G, qg = (int)m->qg;
  const double *acc = m->red;
  double *S = m->S;
  memcpy(S, m->HtH, (size_t)G * G * sizeof *S);
  form_s(m, theta);
  if (qg > 0) {
    hlm_mme_right_tg(m->d, theta, NULL, qg, S, G, G, m->Q);
    for (int c = 0; c < G; c++) {
      for (int a = c + 1; a < G; a++) {
        double t = S[a + (size_t)G * c];
        S[a + (size_t)G * c] = S[c + (size_t)G * a];
        S[c + (size_t)G * a] = t;
      }
    }
    hlm_mme_right_tg(m->d, theta, NULL, qg, S, G, G, m->Q);
  }
  for (int i = 0; i < qg; i++) {
    S[i + (size_t)G * i] += 1.0;
  }
  for (size_t i = 0; i < (size_t)G * G; i++) {
    S[i] -= dd_value(&acc[2 * i]);
  }
}

/* lme4's profiled criterion (REML when reml != 0), or with known SDs the
 * criterion at sigma = 1; both with -sum log w_i from the weights. */
static double criterion(const hlm_mme *m, int reml, const hlm_mme_eval *ev)
{
  double n = hlm_design_ncrit(m->d), df = reml ? n - m->p : n;
  double base = ev->ldL2 + (reml ? ev->ldRX2 : 0.0) - m->d->sumlogw;
  if (m->d->known_sd) {
    return base + ev->pwrss + df * log(2.0 * HLM_PI);
  }
  return base + df * (1.0 + log(2.0 * HLM_PI * ev->pwrss / df));
}

/* Replicated: form and factor S, solve for g = (v_global, beta - b0) and
 * evaluate the criterion. */
static hlm_status solve_global(hlm_mme *m, const double *theta, int reml,
                               hlm_mme_eval *ev)
{
  hlm_status status = HLM_OK;
  int p = m->p, G = m->G, qg = (int)m->qg;
  const double *acc = m->red;
  size_t GG = m->roff;
  double r = m->yty - dd_value(&acc[2 * (GG + G)]);
  if (m->distributed) {
    form_s(m, theta);
    ev->ldL2 = dd_value(&acc[2 * (GG + G + 1)]);
    HLM_TRY(hlm_mme_dist_solve(m, r, ev));
    goto check;
  }
  form_S(m, theta);
  int info = hlm_dpotrf(LAPACK_COL_MAJOR, 'L', G, m->S, G);
  HLM_LAPACK_CHECK(info, "dpotrf",
                   "the global system S is not positive definite");
  /* with R^-1 s = c:  g = R^-T c,  pwrss = r - c'c */
  hlm_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, G, m->S, G,
            m->g, 1);
  ev->pwrss = r - cblas_ddot(G, m->g, 1, m->g, 1);
  hlm_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, G, m->S, G,
            m->g, 1);
  ev->ldL2 = dd_value(&acc[2 * (GG + G + 1)]);
  ev->ldRX2 = 0.0;
  for (int i = 0; i < G; i++) {
    double l2 = 2.0 * log(m->S[i + (size_t)G * i]);
    *(i < qg ? &ev->ldL2 : &ev->ldRX2) += l2;
  }
  for (int i = 0; i < p; i++) {
    ev->beta[i] = m->b0[i] + m->g[qg + i];
    for (int k = 0; k < p; k++) {
      ev->RX[k + (size_t)p * i] =
          k >= i ? m->S[qg + k + (size_t)G * (qg + i)] : 0.0;
    }
  }
check:
  HLM_CHECK(ev->pwrss > 0, HLM_ERR_NUMERIC,
            "the penalized residual sum of squares is %g (not positive)",
            ev->pwrss);
  ev->crit = criterion(m, reml, ev);
cleanup:
  return status;
}

/* Collective.  Absorb this rank's clusters at theta and sum the results
 * over the ranks; a failure on any rank fails every rank (the flag travels
 * in the same reduction). */
static hlm_status absorb_reduce(hlm_mme *m, const double *theta)
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
cleanup:
  return status;
}

hlm_status hlm_mme_evaluate(hlm_mme *m, const double *theta, int reml,
                            hlm_mme_eval *ev)
{
  hlm_status status = HLM_OK;
  HLM_TRY(absorb_reduce(m, theta));
  HLM_TRY(solve_global(m, theta, reml, ev));
  free(m->Svi);
  m->Svi = NULL;
  hlm_watchdog_touch(); /* progress (issue 17) */
cleanup:
  return status;
}

/* cv[i] += diag(K Svi_sub K')_i for K = T_l L^-T W_vg (q x ng; with a
 * tree, in its node order). */
static hlm_status global_condvar(hlm_mme *m, const hlm_xblock *b, double s2,
                                 double *cv)
{
  hlm_status status = HLM_OK;
  int q = b->q, ng = b->ng;
  double *K = NULL, *KS = NULL, *Ss = NULL, *tmp = NULL;
  HLM_CHECK(m->Svi != NULL || (m->distributed && m->dist->sel_n == m->qg),
            HLM_ERR_INTERNAL, "hlm_mme_global_ranef was not called");
  HLM_ALLOC(K, (size_t)q * ng);
  HLM_ALLOC(KS, (size_t)q * ng);
  HLM_ALLOC(Ss, (size_t)ng * ng);
  memcpy(m->P, m->B, (size_t)q * ng * sizeof *m->P);
  if (b->tree != NULL) {
    HLM_ALLOC(tmp, (size_t)b->tree->mmax * ng);
    hlm_tree_solve_lt(b->tree, m->tW, m->P, ng, tmp);
    hlm_tree_apply_t(b->tree, m->Lf, m->Lfoff, m->P, ng);
    memcpy(K, m->P, (size_t)q * ng * sizeof *K);
  } else {
    hlm_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, q,
              ng, 1.0, m->C, q, m->P, q);
    hlm_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, q, ng, q, 1.0, m->Tt, q,
              m->P, q, 0.0, K, q);
  }
  for (int c = 0; c < ng; c++) {
    for (int a = 0; a < ng; a++) {
      Ss[a + (size_t)ng * c] = m->distributed
                                   ? m->dist->sel[m->dist->hoff[b - m->blk] +
                                                  a + (size_t)(ng + m->p) * c]
                                   : m->Svi[b->gidx[a] + m->qg * b->gidx[c]];
    }
  }
  cblas_dsymm(CblasColMajor, CblasRight, CblasLower, q, ng, 1.0, Ss, ng, K, q,
              0.0, KS, q);
  for (int i = 0; i < q; i++) {
    cv[i] += s2 * cblas_ddot(ng, &K[i], q, &KS[i], q);
  }
cleanup:
  free(K);
  free(KS);
  free(Ss);
  free(tmp);
  return status;
}

/* The tree path of hlm_mme_cluster_ranef, from m->w = w - W g: v = L^-T w,
 * u = T v and diag(sigma2 T C_jj^-1 T') by the selected inverse, mapped
 * back from the node order. */
static hlm_status tree_ranef(hlm_mme *m, const hlm_xblock *b, double s2,
                             double *u, double *cv)
{
  hlm_status status = HLM_OK;
  const hlm_tree *t = b->tree;
  double *tmp = NULL, *dg = m->tq;
  HLM_ALLOC(tmp, t->mmax);
  hlm_tree_solve_lt(t, m->tW, m->w, 1, tmp);
  hlm_tree_apply_t(t, m->Lf, m->Lfoff, m->w, 1);
  HLM_TRY(
      hlm_tree_diag_inverse(t, m->Lf, m->Lfoff, m->tW, m->tSig, m->twork, dg));
  for (int i = 0; i < b->q; i++) {
    dg[i] *= s2;
  }
  if (b->ng > 0) {
    HLM_TRY(global_condvar(m, b, s2, dg));
  }
  for (int i = 0; i < b->q; i++) {
    u[i] = m->w[t->pos[i]];
    cv[i] = dg[t->pos[i]];
  }
cleanup:
  free(tmp);
  return status;
}

hlm_status hlm_mme_cluster_ranef(hlm_mme *m, int64_t j, const double *theta,
                                 const double *beta, double sigma2, double *u,
                                 double *cv)
{
  hlm_status status = HLM_OK;
  const hlm_xblock *b = &m->blk[j];
  int q = b->q, p = m->p, ng = b->ng;
  double ld = 0.0;
  if (q == 0) {
    return HLM_OK;
  }
  hlm_tree_term_factors(m->d, theta, m->Lf, m->Lfoff);
  HLM_TRY(absorb_cluster(m, j, theta, &ld));
  /* L' v = w - W (v_global, beta - b0);  u = T v */
  for (int a = 0; a < ng; a++) {
    cblas_daxpy(q, -m->g[b->gidx[a]], &m->B[(size_t)q * a], 1, m->w, 1);
  }
  hlm_dgemv(CblasColMajor, CblasNoTrans, q, p, -1.0, m->B + (size_t)q * ng, q,
            beta, 1, 1.0, m->w, 1);
  hlm_dgemv(CblasColMajor, CblasNoTrans, q, p, 1.0, m->B + (size_t)q * ng, q,
            m->b0, 1, 1.0, m->w, 1);
  if (b->tree != NULL) {
    HLM_TRY(tree_ranef(m, b, sigma2, u, cv));
    goto cleanup;
  }
  hlm_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, q, m->C, q,
            m->w, 1);
  hlm_dgemv(CblasColMajor, CblasTrans, q, q, 1.0, m->Tt, q, m->w, 1, 0.0, u, 1);
  /* diag(sigma2 T C^-1 T') = sigma2 * column norms^2 of L^-1 T' */
  memcpy(m->M, m->Tt, (size_t)q * q * sizeof *m->M);
  hlm_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, q,
            q, 1.0, m->C, q, m->M, q);
  for (int i = 0; i < q; i++) {
    cv[i] = sigma2 *
            cblas_ddot(q, &m->M[(size_t)q * i], 1, &m->M[(size_t)q * i], 1);
  }
  if (ng > 0) {
    HLM_TRY(global_condvar(m, b, sigma2, cv));
  }
cleanup:
  return status;
}

/* m->Svi = S_vv^-1 from the leading block of S's factor. */
static hlm_status global_inverse(hlm_mme *m)
{
  hlm_status status = HLM_OK;
  int qg = (int)m->qg, G = m->G;
  free(m->Svi);
  HLM_ALLOC(m->Svi, (size_t)qg * qg);
  for (int c = 0; c < qg; c++) {
    for (int a = c; a < qg; a++) {
      m->Svi[a + (size_t)qg * c] = m->S[a + (size_t)G * c];
    }
  }
  int info = hlm_dpotri(LAPACK_COL_MAJOR, 'L', qg, m->Svi, qg);
  HLM_LAPACK_CHECK(info, "dpotri", "inverting the global random-effects block");
  for (int c = 0; c < qg; c++) {
    for (int a = c + 1; a < qg; a++) {
      m->Svi[c + (size_t)qg * a] = m->Svi[a + (size_t)qg * c];
    }
  }
cleanup:
  return status;
}

hlm_status hlm_mme_global_ranef(hlm_mme *m, const double *theta, double sigma2,
                                double *u, double *cv)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = m->d;
  int64_t qg = m->qg;
  double L[64 * 64];
  if (qg == 0) {
    return HLM_OK;
  }
  if (m->distributed) { /* collective: S_vv^-1 where the clusters need it */
    HLM_TRY(hlm_mme_dist_select(m, (int)qg));
  } else {
    HLM_TRY(global_inverse(m));
  }
  for (int64_t a = 0; a < qg;) {
    const hlm_reterm *rt = global_term(d, a);
    int k = rt->k;
    hlm_term_factor(rt, theta, L);
    for (int e = 0; e < k && u; e++) {
      double su = 0.0, sv = 0.0;
      for (int f = 0; f <= e; f++) {
        su += L[e + k * f] * m->g[a + f];
        for (int h = 0; h <= e; h++) {
          double svi =
              m->distributed
                  ? m->dist->seld[(size_t)(a + f) * m->dist->kw + (size_t)h]
                  : m->Svi[(a + f) + qg * (a + h)];
          sv += L[e + k * f] * svi * L[e + k * h];
        }
      }
      u[a + e] = su;
      cv[a + e] = sigma2 * sv;
    }
    a += k;
  }
cleanup:
  return status;
}

/* ---- for the Gibbs sampler (bayes_draw.c, issue 11) -------------------- */

hlm_status hlm_mme_form_system(hlm_mme *m, const double *theta)
{
  hlm_status status = HLM_OK;
  /* m->distributed is the same on every rank (G and the threshold are) */
  HLM_CHECK(!m->distributed, HLM_ERR_NOT_IMPLEMENTED,
            "method = \"bayes\" with a distributed global system (dim S = "
            "%d above [estimation] scalapack_threshold) is not implemented "
            "yet (issue 15); raise scalapack_threshold to at least %d (the "
            "replicated path takes up to 4000 unknowns)",
            m->G, m->G);
  HLM_TRY(absorb_reduce(m, theta));
  form_S(m, theta);
  hlm_watchdog_touch(); /* progress: one per Gibbs iteration (issue 17) */
cleanup:
  return status;
}

/* m->w := w - W g after absorb_cluster(b): the right-hand side of cluster
 * b's local system given the global unknowns g (G values: v_global, then
 * beta - b0). */
static void subtract_global(hlm_mme *m, const hlm_xblock *b, const double *g)
{
  int q = b->q, ng = b->ng;
  for (int a = 0; a < ng; a++) {
    cblas_daxpy(q, -g[b->gidx[a]], &m->B[(size_t)q * a], 1, m->w, 1);
  }
  hlm_dgemv(CblasColMajor, CblasNoTrans, q, m->p, -1.0, m->B + (size_t)q * ng,
            q, g + m->qg, 1, 1.0, m->w, 1);
}

hlm_status hlm_mme_cluster_draw(hlm_mme *m, int64_t j, const double *theta,
                                const double *g, double sigma, const double *z,
                                double *u)
{
  hlm_status status = HLM_OK;
  const hlm_xblock *b = &m->blk[j];
  int q = b->q;
  double ld = 0.0, *tmp = NULL;
  if (q == 0) {
    return HLM_OK;
  }
  hlm_tree_term_factors(m->d, theta, m->Lf, m->Lfoff);
  HLM_TRY(absorb_cached(m, j, theta, &ld));
  /* L' v = w - W g + sigma z;  u = T v */
  subtract_global(m, b, g);
  cblas_daxpy(q, sigma, z, 1, m->w, 1);
  if (b->tree != NULL) {
    HLM_ALLOC(tmp, b->tree->mmax > 0 ? b->tree->mmax : 1);
    hlm_tree_solve_lt(b->tree, m->tW, m->w, 1, tmp);
    hlm_tree_apply_t(b->tree, m->Lf, m->Lfoff, m->w, 1);
    for (int i = 0; i < q; i++) {
      u[i] = m->w[b->tree->pos[i]];
    }
    goto cleanup;
  }
  hlm_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, q, m->C, q,
            m->w, 1);
  hlm_dgemv(CblasColMajor, CblasTrans, q, q, 1.0, m->Tt, q, m->w, 1, 0.0, u, 1);
cleanup:
  free(tmp);
  return status;
}

/* ---- for the analytic gradient (mme_grad.c, issue 7) ------------------- */

/* Row (in m->B / m->P order) of Z_j column c. */
static int node_row(const hlm_xblock *b, int c)
{
  return b->tree != NULL ? b->tree->pos[c] : c;
}

/* phi rows := the k x k diagonal blocks of C_jj^-1 from the dense factor
 * in m->C (its inverse, L^-1, in m->M). */
static hlm_status dense_phi(hlm_mme *m, const hlm_dcluster *c, int kw,
                            double *phi)
{
  hlm_status status = HLM_OK;
  int q = c->q;
  memcpy(m->M, m->C, (size_t)q * q * sizeof *m->M);
  int info = hlm_dtrtri(LAPACK_COL_MAJOR, 'L', 'N', q, m->M, q);
  HLM_LAPACK_CHECK(info, "dtrtri", "inverting the factor of C_jj");
  for (int r = 0; r < m->d->nterms; r++) {
    int k = m->d->term[r].k;
    for (int l = 0; l < c->nlev[r]; l++) {
      int o = c->zoff[r] + l * k;
      for (int a = 0; a < k; a++) {
        for (int e = 0; e < k; e++) {
          int lo = (a > e ? a : e) + o;
          double s = 0.0; /* (L^-T L^-1)_{o+a, o+e}, L^-1 lower */
          for (int i = lo; i < q; i++) {
            s += m->M[i + (size_t)q * (o + a)] * m->M[i + (size_t)q * (o + e)];
          }
          phi[(size_t)(o + a) * kw + e] = s;
        }
      }
    }
  }
cleanup:
  return status;
}

/* phi rows := the k x k diagonal blocks of C_jj^-1 by the selected inverse
 * on the tree pattern (mme_tree.c). */
static hlm_status tree_phi(hlm_mme *m, const hlm_dcluster *c, const hlm_tree *t,
                           int kw, double *phi)
{
  hlm_status status = HLM_OK;
  HLM_TRY(hlm_tree_diag_inverse(t, m->Lf, m->Lfoff, m->tW, m->tSig, m->twork,
                                m->tq));
  for (int s = 0; s < t->nst; s++) {
    int r = t->st_term[s], k = t->st_k[s];
    int rows = t->kcum[t->nst] - t->kcum[s];
    for (int n = t->st_node[s]; n < t->st_node[s + 1]; n++) {
      const double *Sn = m->tSig + t->poff[n];
      int o = c->zoff[r] + (n - t->st_node[s]) * k;
      for (int a = 0; a < k; a++) {
        for (int e = 0; e < k; e++) {
          phi[(size_t)(o + a) * kw + e] = Sn[a + (size_t)rows * e];
        }
      }
    }
  }
cleanup:
  return status;
}

/* phi rows += the diagonal blocks of K Sg_j K' with K (q x h, rows in
 * node order, in m->P) = C_jj^-1 C_jg and Sg_j Sg on the cluster's
 * global columns. */
static hlm_status phi_correction(hlm_mme *m, const hlm_xblock *b,
                                 const hlm_dcluster *c, const double *Sg,
                                 int kw, double *phi)
{
  hlm_status status = HLM_OK;
  int q = b->q, h = b->ng + m->p;
  size_t G = (size_t)m->G;
  double *Ss = NULL, *KS = NULL;
  HLM_ALLOC(Ss, (size_t)h * h);
  HLM_ALLOC(KS, (size_t)q * h);
  for (int e = 0; e < h; e++) {
    for (int a = 0; a < h; a++) {
      /* distributed: Sg is the selection, this cluster's block at hoff */
      Ss[a + (size_t)h * e] =
          m->distributed ? Sg[m->dist->hoff[b - m->blk] + a + (size_t)h * e]
                         : Sg[hcol(m, b, a) + G * hcol(m, b, e)];
    }
  }
  cblas_dsymm(CblasColMajor, CblasRight, CblasLower, q, h, 1.0, Ss, h, m->P, q,
              0.0, KS, q);
  for (int r = 0; r < m->d->nterms; r++) {
    int k = m->d->term[r].k;
    for (int l = 0; l < c->nlev[r]; l++) {
      int o = c->zoff[r] + l * k;
      for (int a = 0; a < k; a++) {
        for (int e = 0; e < k; e++) {
          phi[(size_t)(o + a) * kw + e] += cblas_ddot(
              h, &m->P[node_row(b, o + a)], q, &KS[node_row(b, o + e)], q);
        }
      }
    }
  }
cleanup:
  free(Ss);
  free(KS);
  return status;
}

hlm_status hlm_mme_cluster_phi(hlm_mme *m, int64_t j, const double *theta,
                               const double *Sg, int kw, double *v, double *phi)
{
  hlm_status status = HLM_OK;
  const hlm_xblock *b = &m->blk[j];
  const hlm_dcluster *c = &m->d->cl[j];
  int q = b->q, p = m->p, ng = b->ng, h = ng + p;
  double ld = 0.0, *tmp = NULL;
  if (q == 0) {
    return HLM_OK;
  }
  hlm_tree_term_factors(m->d, theta, m->Lf, m->Lfoff);
  HLM_TRY(absorb_cached(m, j, theta, &ld));
  /* L' v = w - W (v_global, beta - b0);  K = L^-T W */
  subtract_global(m, b, m->g);
  memcpy(m->P, m->B, (size_t)q * h * sizeof *m->P);
  if (b->tree != NULL) {
    HLM_ALLOC(tmp, (size_t)(b->tree->mmax > 0 ? b->tree->mmax : 1) * h);
    hlm_tree_solve_lt(b->tree, m->tW, m->w, 1, tmp);
    if (Sg != NULL) {
      hlm_tree_solve_lt(b->tree, m->tW, m->P, h, tmp);
    }
    HLM_TRY(tree_phi(m, c, b->tree, kw, phi));
  } else {
    hlm_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, q, m->C, q,
              m->w, 1);
    if (Sg != NULL) {
      hlm_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit,
                q, h, 1.0, m->C, q, m->P, q);
    }
    HLM_TRY(dense_phi(m, c, kw, phi));
  }
  for (int i = 0; i < q; i++) {
    v[i] = m->w[node_row(b, i)];
  }
  if (Sg != NULL) {
    HLM_TRY(phi_correction(m, b, c, Sg, kw, phi));
  }
cleanup:
  free(tmp);
  return status;
}

double hlm_mme_global_bytes(const hlm_mme *m)
{
  if (m->distributed) {
    return hlm_mme_dist_bytes(m);
  }
  /* S, H'H, the reduction's G x G double-double pairs, and S^-1 for the
   * gradient or S_vv^-1 */
  double G2 = (double)m->G * m->G;
  return 8.0 * (5.0 * G2);
}

void hlm_mme_report(const hlm_mme *m)
{
  double mib = hlm_mme_global_bytes(m) / 1048576.0;
  if (m->distributed) {
    const hlm_grid *g = m->dist->grid;
    hlm_log_event(m->comm, HLM_LOG_NORMAL,
                  "global system S: %d unknowns, distributed (ScaLAPACK, "
                  "%d x %d grid, %d x %d blocks): %.1f MiB on rank 0",
                  m->G, g->nprow, g->npcol, g->nb, g->nb, mib);
    hlm_log_global_system(m->G, g->nprow, g->npcol, hlm_mme_global_bytes(m));
  } else {
    hlm_log_event(m->comm, HLM_LOG_VERBOSE,
                  "global system S: %d unknowns, replicated (LAPACK): %.1f "
                  "MiB per rank",
                  m->G, mib);
    hlm_log_global_system(m->G, 0, 0, hlm_mme_global_bytes(m));
  }
}
