/* mme_dist.c: the distributed global system (mme_dist.h).
 *
 * S = T_G' H'H T_G + diag(I_qg, 0) - sum_j W_j'W_j
 *   = diag(I_qg, 0) + sum_j (T_G' H_j'H_j T_G - W_j'W_j),
 * summed per theta over the clusters straight into S's block-cyclic
 * layout; S = R R' (pdpotrf), c = R^-1 s, g = R^-T c (pdtrsm), pwrss =
 * r - c'c, log det from R's diagonal (gathered), the inverse of a leading
 * block by pdpotri and only its entries that the clusters need. */
#include "mme_dist.h"

#include <cblas.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddsum.h"
#include "hlm/comm.h"

/* Global index of column a of a cluster's H_j. */
static int64_t dcol(const hlm_mme *m, const hlm_xblock *b, int a)
{
  return a < b->ng ? b->gidx[a] : m->qg + (a - b->ng);
}

hlm_status hlm_mme_dist_create(hlm_mme *m)
{
  hlm_status status = HLM_OK;
  hlm_mme_dist *t = NULL;
  size_t nh = 0;
  HLM_ALLOC(t, 1);
  t->G = m->G;
  t->sel_n = -1;
  HLM_ALLOC(t->hoff, m->ncl + 1);
  for (int64_t j = 0; j < m->ncl; j++) {
    size_t h = (size_t)m->blk[j].ng + (size_t)m->p;
    t->hoff[j] = nh;
    nh += h * h;
  }
  t->hoff[m->ncl] = nh;
  HLM_ALLOC(t->Cj, nh);
  for (int r = 0; r < m->d->nterms; r++) {
    int k = m->d->term[r].k;
    t->kw = m->d->term[r].global && k > t->kw ? k : t->kw;
  }
  status = hlm_grid_create(m->comm, &t->grid);
  if (status != HLM_OK) {
    goto cleanup;
  }
  const hlm_grid *g = t->grid;
  t->locr = hlm_grid_numroc(g, t->G, g->myrow, g->nprow);
  t->locc = hlm_grid_numroc(g, t->G, g->mycol, g->npcol);
  /* panels of about an eighth of the largest local part, whole blocks */
  int cmax = hlm_grid_numroc(g, t->G, 0, g->npcol);
  int nblk = (cmax + g->nb - 1) / g->nb;
  t->panel = g->nb * ((nblk + 7) / 8 > 0 ? (nblk + 7) / 8 : 1);
  t->maxloc = (size_t)hlm_grid_numroc(g, t->G, 0, g->nprow) *
              (size_t)(t->panel < cmax ? t->panel : cmax);
  HLM_TRY(hlm_grid_desc(g, t->G, t->G, t->locr, t->desc));
  HLM_TRY(hlm_grid_desc(g, t->G, 1, t->locr, t->vdesc));
  HLM_ALLOC(t->S, (size_t)t->locr * t->locc);
  HLM_ALLOC(t->v, t->locr);
  HLM_ALLOC(t->buf, 2 * t->maxloc);
  HLM_ALLOC(t->vec, (size_t)t->G + (size_t)m->p * m->p);
  m->dist = t;
  t = NULL;
cleanup:
  hlm_mme_dist_destroy(&t);
  return status;
}

void hlm_mme_dist_destroy(hlm_mme_dist **dp)
{
  if (dp == NULL || *dp == NULL) {
    return;
  }
  hlm_mme_dist *t = *dp;
  hlm_grid_destroy(&t->grid);
  free(t->S);
  free(t->Si);
  free(t->v);
  free(t->hoff);
  free(t->Cj);
  free(t->buf);
  free(t->vec);
  free(t->sel);
  free(t->seld);
  free(t);
  *dp = NULL;
}

void hlm_mme_dist_cluster(hlm_mme *m, int64_t j, const double *theta,
                          const double *WtW)
{
  hlm_mme_dist *t = m->dist;
  const hlm_xblock *b = &m->blk[j];
  int h = b->ng + m->p;
  size_t hh = (size_t)h * h;
  double *C = t->Cj + t->hoff[j];
  memcpy(C, b->HH, hh * sizeof *C);
  if (b->ng > 0) {
    /* C := T_G' (H_j'H_j T_G): columns, transpose, columns again */
    hlm_mme_right_tg(m->d, theta, b->gidx, b->ng, C, h, h, m->Q);
    for (int c = 0; c < h; c++) {
      for (int a = c + 1; a < h; a++) {
        double x = C[a + (size_t)h * c];
        C[a + (size_t)h * c] = C[c + (size_t)h * a];
        C[c + (size_t)h * a] = x;
      }
    }
    hlm_mme_right_tg(m->d, theta, b->gidx, b->ng, C, h, h, m->Q);
  }
  for (size_t i = 0; WtW != NULL && i < hh; i++) {
    C[i] -= WtW[i];
  }
}

/* buf (lr x w, double-double) := this rank's clusters' contributions to
 * the lower triangle held by grid position (pr, pc) in its local columns
 * c0 .. c0 + w - 1, in cluster order. */
static void pack_position(const hlm_mme *m, int pr, int pc, int lr, int c0,
                          int w, double *buf)
{
  const hlm_mme_dist *t = m->dist;
  const hlm_grid *g = t->grid;
  for (int64_t j = 0; j < m->ncl; j++) {
    const hlm_xblock *b = &m->blk[j];
    int h = b->ng + m->p;
    const double *C = t->Cj + t->hoff[j];
    for (int c = 0; c < h; c++) {
      int64_t gc = dcol(m, b, c);
      if (hlm_grid_owner(g, gc, g->npcol) != pc) {
        continue;
      }
      int64_t lc = hlm_grid_local(g, gc, g->npcol) - c0;
      if (lc < 0 || lc >= w) {
        continue;
      }
      for (int a = 0; a < h; a++) {
        int64_t ga = dcol(m, b, a);
        if (ga < gc || hlm_grid_owner(g, ga, g->nprow) != pr) {
          continue;
        }
        int64_t la = hlm_grid_local(g, ga, g->nprow);
        hlm_dd_add(&buf[2 * (la + (int64_t)lr * lc)], C[a + (size_t)h * c]);
      }
    }
  }
}

/* Local columns c0 .. c0 + w - 1 of position (pr, pc) (this rank's) from
 * the reduced buf into t->S, with diag(I_qg, 0) added. */
static void unpack_panel(const hlm_mme *m, int lr, int c0, int w)
{
  hlm_mme_dist *t = m->dist;
  const hlm_grid *g = t->grid;
  for (int c = 0; c < w; c++) {
    int64_t gc = hlm_grid_global(g, c0 + c, g->mycol, g->npcol);
    for (int a = 0; a < lr; a++) {
      int64_t ga = hlm_grid_global(g, a, g->myrow, g->nprow);
      double x =
          ga >= gc ? hlm_dd_value(&t->buf[2 * (a + (size_t)lr * c)]) : 0.0;
      t->S[a + (size_t)lr * (c0 + c)] =
          x + (ga == gc && ga < m->qg ? 1.0 : 0.0);
    }
  }
}

/* Reduce S and keep this rank's part: position by position, in panels of
 * t->panel local columns (so the double-double buffer is a fraction of
 * the local part), each rank copying its panels out of buf right after
 * their reduction. */
static hlm_status gather_S(hlm_mme *m)
{
  hlm_status status = HLM_OK;
  hlm_mme_dist *t = m->dist;
  const hlm_grid *g = t->grid;
  int rank = g->myrow * g->npcol + g->mycol;
  for (int P = 0; P < g->size; P++) {
    int pr = P / g->npcol, pc = P % g->npcol;
    int lr = hlm_grid_numroc(g, t->G, pr, g->nprow);
    int lc = hlm_grid_numroc(g, t->G, pc, g->npcol);
    for (int c0 = 0; c0 < lc; c0 += t->panel) {
      int w = lc - c0 < t->panel ? lc - c0 : t->panel, ni = 0;
      size_t n = (size_t)lr * w;
      memset(t->buf, 0, 2 * n * sizeof *t->buf);
      pack_position(m, pr, pc, lr, c0, w, t->buf);
      HLM_TRY(hlm_to_int((int64_t)n, "local part of the global system", &ni));
      HLM_TRY(hlm_dd_reduce(m->comm, t->buf, ni, P));
      if (P == rank) {
        unpack_panel(m, lr, c0, w);
      }
    }
  }
cleanup:
  return status;
}

/* vec[0..G) := the G x 1 vector held in t->v (exact: one owner each). */
static hlm_status gather_vector(hlm_mme *m)
{
  hlm_status status = HLM_OK;
  hlm_mme_dist *t = m->dist;
  const hlm_grid *g = t->grid;
  memset(t->vec, 0, (size_t)t->G * sizeof *t->vec);
  for (int a = 0; g->mycol == 0 && a < t->locr; a++) {
    int64_t ga = hlm_grid_global(g, a, g->myrow, g->nprow);
    t->vec[ga] = t->v[a];
  }
  HLM_MPI(
      MPI_Allreduce(MPI_IN_PLACE, t->vec, t->G, MPI_DOUBLE, MPI_SUM, m->comm));
cleanup:
  return status;
}

/* t->v := the rows of x (G, replicated) held here. */
static void scatter_vector(hlm_mme_dist *t, const double *x)
{
  const hlm_grid *g = t->grid;
  for (int a = 0; g->mycol == 0 && a < t->locr; a++) {
    int64_t ga = hlm_grid_global(g, a, g->myrow, g->nprow);
    t->v[a] = x[ga];
  }
}

/* Replicated: vec[0..G) := log R_ii, vec[G..G+p^2) := R's trailing p x p
 * block (lower), both gathered exactly. */
static hlm_status gather_diag(hlm_mme *m)
{
  hlm_status status = HLM_OK;
  hlm_mme_dist *t = m->dist;
  const hlm_grid *g = t->grid;
  int G = t->G, p = m->p;
  int64_t qg = m->qg;
  memset(t->vec, 0, ((size_t)G + (size_t)p * p) * sizeof *t->vec);
  for (int64_t i = 0; i < G; i++) {
    if (hlm_grid_owner(g, i, g->nprow) != g->myrow) {
      continue;
    }
    int64_t la = hlm_grid_local(g, i, g->nprow);
    if (hlm_grid_owner(g, i, g->npcol) == g->mycol) {
      t->vec[i] = log(
          t->S[la + (size_t)t->locr * (size_t)hlm_grid_local(g, i, g->npcol)]);
    }
    for (int c = 0; i >= qg && c <= i - qg; c++) {
      int64_t gc = qg + c;
      if (hlm_grid_owner(g, gc, g->npcol) == g->mycol) {
        t->vec[G + (i - qg) + (size_t)p * c] =
            t->S[la +
                 (size_t)t->locr * (size_t)hlm_grid_local(g, gc, g->npcol)];
      }
    }
  }
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, t->vec, G + p * p, MPI_DOUBLE, MPI_SUM,
                        m->comm));
cleanup:
  return status;
}

/* pdtrsm on the G x 1 vector t->v with S's factor (trans 'N' or 'T'). */
static void trsv(hlm_mme_dist *t, const char *trans)
{
  int one = 1, G = t->G;
  double alpha = 1.0;
  pdtrsm_("L", "L", trans, "N", &G, &one, &alpha, t->S, &one, &one, t->desc,
          t->v, &one, &one, t->vdesc);
}

hlm_status hlm_mme_dist_solve(hlm_mme *m, double r, hlm_mme_eval *ev)
{
  hlm_status status = HLM_OK;
  hlm_mme_dist *t = m->dist;
  int G = t->G, p = m->p, one = 1, info = 0;
  int64_t qg = m->qg;
  t->sel_n = -1;
  HLM_TRY(gather_S(m));
  pdpotrf_("L", &G, t->S, &one, &one, t->desc, &info);
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, &info, 1, MPI_INT, MPI_MAX, m->comm));
  HLM_CHECK(info == 0, HLM_ERR_NUMERIC,
            "pdpotrf: the distributed global system S is not positive "
            "definite (info %d)",
            info);
  /* c = R^-1 s, pwrss = r - c'c, g = R^-T c */
  scatter_vector(t, m->g);
  trsv(t, "N");
  HLM_TRY(gather_vector(m));
  ev->pwrss = r;
  for (int i = 0; i < G; i++) {
    ev->pwrss -= t->vec[i] * t->vec[i];
  }
  trsv(t, "T");
  HLM_TRY(gather_vector(m));
  memcpy(m->g, t->vec, (size_t)G * sizeof *m->g);
  HLM_TRY(gather_diag(m));
  ev->ldRX2 = 0.0;
  for (int64_t i = 0; i < G; i++) {
    *(i < qg ? &ev->ldL2 : &ev->ldRX2) += 2.0 * t->vec[i];
  }
  for (int i = 0; i < p; i++) {
    ev->beta[i] = m->b0[i] + m->g[qg + i];
    for (int k = 0; k < p; k++) {
      ev->RX[k + (size_t)p * i] = k >= i ? t->vec[G + k + (size_t)p * i] : 0.0;
    }
  }
cleanup:
  return status;
}

/* ---- entries of the inverse of a leading block ------------------------- */

/* The global levels' diagonal entries (o + e, o + a) for global column
 * o + a (o: its level's first column): calls fn for each, in a fixed
 * order; the clusters' h_j x h_j blocks likewise.  A visit list shared by
 * counting, requesting and filling. */
typedef void (*visit_fn)(void *ctx, int64_t row, int64_t col, double *dst);

static void visit_needed(hlm_mme *m, visit_fn fn, void *ctx)
{
  hlm_mme_dist *t = m->dist;
  const hlm_design *d = m->d;
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    for (int64_t l = 0; rt->global && l < rt->nlevels; l++) {
      int64_t o = rt->gfirst + l * rt->k;
      for (int a = 0; a < rt->k; a++) {
        for (int e = 0; e < rt->k; e++) {
          fn(ctx, o + a, o + e, &t->seld[(size_t)(o + a) * t->kw + e]);
        }
      }
    }
  }
  for (int64_t j = 0; j < m->ncl; j++) {
    const hlm_xblock *b = &m->blk[j];
    int h = b->ng + m->p;
    double *B = t->sel + t->hoff[j];
    for (int c = 0; c < h; c++) {
      for (int a = 0; a < h; a++) {
        fn(ctx, dcol(m, b, a), dcol(m, b, c), &B[a + (size_t)h * c]);
      }
    }
  }
}

typedef struct sel_ctx {
  const hlm_mme_dist *t;
  int n;        /* the inverted leading block */
  int pass;     /* 0: count, 1: fill requests, 2: fill values */
  int *count;   /* per rank */
  int *pos;     /* per rank: next slot */
  int *displ;   /* per rank */
  int64_t *req; /* 2 per request (row, col), lower triangle */
  double *val;  /* the answers, in request order */
} sel_ctx;

static void sel_visit(void *vctx, int64_t row, int64_t col, double *dst)
{
  sel_ctx *x = vctx;
  const hlm_grid *g = x->t->grid;
  if (row >= x->n || col >= x->n) {
    if (x->pass == 2) {
      *dst = 0.0; /* zero-padded outside the leading block */
    }
    return;
  }
  int64_t a = row > col ? row : col, c = row > col ? col : row;
  int P = hlm_grid_owner(g, a, g->nprow) * g->npcol +
          hlm_grid_owner(g, c, g->npcol);
  if (x->pass == 0) {
    x->count[P]++;
    return;
  }
  int s = x->displ[P] + x->pos[P]++;
  if (x->pass == 1) {
    x->req[2 * (size_t)s] = a;
    x->req[2 * (size_t)s + 1] = c;
  } else {
    *dst = x->val[s];
  }
}

/* Answer the requests rq (2 per entry) from t->Si into ans. */
static void answer(const hlm_mme_dist *t, const int64_t *rq, int n, double *ans)
{
  const hlm_grid *g = t->grid;
  for (int i = 0; i < n; i++) {
    int64_t la = hlm_grid_local(g, rq[2 * i], g->nprow);
    int64_t lc = hlm_grid_local(g, rq[2 * i + 1], g->npcol);
    ans[i] = t->Si[la + (size_t)t->locr * lc];
  }
}

/* Collective: fail on every rank when any rank's n entries exceed what
 * one MPI message (of index pairs) takes. */
static hlm_status too_many(hlm_mme *m, int64_t n)
{
  hlm_status status = HLM_OK;
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, &n, 1, MPI_INT64_T, MPI_MAX, m->comm));
  HLM_CHECK(
      n <= (1 << 29), HLM_ERR_NOMEM,
      "too many entries of the inverse requested (%" PRId64 " on one rank)", n);
cleanup:
  return status;
}

/* Exchange the requests in x (counted and filled) for their values. */
static hlm_status exchange(hlm_mme *m, sel_ctx *x, int total)
{
  hlm_status status = HLM_OK;
  int size = x->t->grid->size, nin = 0;
  int *rcount = NULL, *rdispl = NULL, *c2 = NULL, *d2 = NULL, *rc2 = NULL,
      *rd2 = NULL;
  int64_t *rq = NULL;
  double *ans = NULL;
  HLM_ALLOC(rcount, size);
  HLM_ALLOC(rdispl, size);
  HLM_ALLOC(c2, size);
  HLM_ALLOC(d2, size);
  HLM_ALLOC(rc2, size);
  HLM_ALLOC(rd2, size);
  HLM_MPI(MPI_Alltoall(x->count, 1, MPI_INT, rcount, 1, MPI_INT, m->comm));
  int64_t big = 0;
  for (int P = 0; P < size; P++) {
    big += rcount[P];
  }
  HLM_TRY(too_many(m, big));
  for (int P = 0; P < size; P++) {
    rdispl[P] = nin;
    nin += rcount[P];
    c2[P] = 2 * x->count[P];
    d2[P] = 2 * x->displ[P];
    rc2[P] = 2 * rcount[P];
    rd2[P] = 2 * rdispl[P];
  }
  HLM_ALLOC(rq, 2 * (size_t)nin);
  HLM_ALLOC(ans, nin);
  HLM_MPI(MPI_Alltoallv(x->req, c2, d2, MPI_INT64_T, rq, rc2, rd2, MPI_INT64_T,
                        m->comm));
  answer(x->t, rq, nin, ans);
  HLM_MPI(MPI_Alltoallv(ans, rcount, rdispl, MPI_DOUBLE, x->val, x->count,
                        x->displ, MPI_DOUBLE, m->comm));
  (void)total;
cleanup:
  free(rcount);
  free(rdispl);
  free(c2);
  free(d2);
  free(rc2);
  free(rd2);
  free(rq);
  free(ans);
  return status;
}

/* t->Si := the inverse of S's leading n x n block (lower triangle). */
static hlm_status invert_leading(hlm_mme *m, int n)
{
  hlm_status status = HLM_OK;
  hlm_mme_dist *t = m->dist;
  int one = 1, info = 0;
  size_t nl = (size_t)t->locr * t->locc;
  if (t->Si == NULL) {
    HLM_ALLOC(t->Si, nl);
  }
  memcpy(t->Si, t->S, nl * sizeof *t->Si);
  if (n > 0) {
    pdpotri_("L", &n, t->Si, &one, &one, t->desc, &info);
  }
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, &info, 1, MPI_INT, MPI_MAX, m->comm));
  HLM_CHECK(info == 0, HLM_ERR_NUMERIC,
            "pdpotri: inverting the distributed global system failed "
            "(info %d)",
            info);
cleanup:
  return status;
}

hlm_status hlm_mme_dist_select(hlm_mme *m, int n)
{
  hlm_status status = HLM_OK;
  hlm_mme_dist *t = m->dist;
  int size = t->grid->size, total = 0;
  sel_ctx x = {.t = t, .n = n};
  if (t->sel_n == n) {
    return HLM_OK;
  }
  t->sel_n = -1;
  HLM_TRY(invert_leading(m, n));
  if (t->sel == NULL) {
    HLM_ALLOC(t->sel, t->hoff[m->ncl]);
    HLM_ALLOC(t->seld, (size_t)m->qg * (t->kw > 0 ? t->kw : 1));
  }
  HLM_ALLOC(x.count, size);
  HLM_ALLOC(x.pos, size);
  HLM_ALLOC(x.displ, size);
  visit_needed(m, sel_visit, &x);
  int64_t big = 0;
  for (int P = 0; P < size; P++) {
    big += x.count[P];
  }
  HLM_TRY(too_many(m, big));
  for (int P = 0; P < size; P++) {
    x.displ[P] = total;
    total += x.count[P];
  }
  HLM_ALLOC(x.req, 2 * (size_t)total);
  HLM_ALLOC(x.val, total);
  x.pass = 1;
  visit_needed(m, sel_visit, &x);
  HLM_TRY(exchange(m, &x, total));
  memset(x.pos, 0, (size_t)size * sizeof *x.pos);
  x.pass = 2;
  visit_needed(m, sel_visit, &x);
  t->sel_n = n;
cleanup:
  free(x.count);
  free(x.pos);
  free(x.displ);
  free(x.req);
  free(x.val);
  return status;
}

double hlm_mme_dist_bytes(const hlm_mme *m)
{
  const hlm_mme_dist *t = m->dist;
  if (t == NULL) {
    return 0.0;
  }
  double loc = (double)t->locr * t->locc;
  return 8.0 * (loc * (t->Si != NULL ? 2.0 : 1.0) + 2.0 * (double)t->maxloc +
                2.0 * (double)t->hoff[m->ncl] + /* HH and Cj */
                (t->sel != NULL ? (double)t->hoff[m->ncl] : 0.0));
}
