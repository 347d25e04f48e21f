/* mme_tree.c: level-by-level absorption of a cluster's nested random
 * effects (mme_tree.h).
 *
 * Nodes are numbered stage by stage, finest first; a node of stage s has
 * one ancestor in each stage t > s.  Its panel is column-major with
 * R_s = kcum[nst] - kcum[s] rows: the rows of stage t start at
 * kcum[t] - kcum[s] (its own k x k block first).  For node n with
 * ancestors P and panel [D_n; A_n]:
 *   D_n = L_n L_n',  L_Pn = A_n L_n^-T,
 *   C_PP -= L_Pn L_Pn',  B_P -= L_Pn (L_n^-1 B_n),  w_P likewise,
 * and, coarsest first, the selected inverse
 *   Sig_Pn = -Sig_PP L_Pn L_n^-1,
 *   Sig_nn = L_n^-T L_n^-1 - (L_Pn L_n^-1)' Sig_Pn. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mme_tree.h"
#include "smallblas.h"

void hlm_tree_destroy(hlm_tree **tp)
{
  if (tp == NULL || *tp == NULL) {
    return;
  }
  hlm_tree *t = *tp;
  free(t->st_term);
  free(t->st_k);
  free(t->st_zoff);
  free(t->st_node);
  free(t->kcum);
  free(t->parent);
  free(t->col);
  free(t->poff);
  free(t->pos);
  free(t);
  *tp = NULL;
}

/* The cluster's local terms, most levels first (ties in term order), and
 * each one's offset in a row of zval. */
static hlm_status tree_stages(const hlm_design *d, const hlm_dcluster *c,
                              hlm_tree *t)
{
  hlm_status status = HLM_OK;
  int zoff = 0;
  HLM_ALLOC(t->st_term, d->nterms);
  HLM_ALLOC(t->st_k, d->nterms);
  HLM_ALLOC(t->st_zoff, d->nterms);
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    if (!rt->global && c->nlev[r] > 0) {
      int s = t->nst++;
      while (s > 0 && c->nlev[t->st_term[s - 1]] < c->nlev[r]) {
        t->st_term[s] = t->st_term[s - 1];
        t->st_k[s] = t->st_k[s - 1];
        t->st_zoff[s] = t->st_zoff[s - 1];
        s--;
      }
      t->st_term[s] = r;
      t->st_k[s] = rt->k;
      t->st_zoff[s] = zoff;
    }
    zoff += rt->k;
  }
cleanup:
  return status;
}

/* Parents from the rows: 0 when some level of a stage lies in two levels
 * of the next one (the terms are not nested in each other here). */
static int tree_parents(const hlm_design *d, const hlm_dcluster *c, hlm_tree *t)
{
  for (int n = 0; n < t->nnodes; n++) {
    t->parent[n] = -1;
  }
  for (int64_t i = c->start; i < c->start + c->n; i++) {
    const int32_t *zl = &d->zlev[i * d->nterms];
    for (int s = 0; s + 1 < t->nst; s++) {
      int n = t->st_node[s] + zl[t->st_term[s]];
      int pn = t->st_node[s + 1] + zl[t->st_term[s + 1]];
      if (t->parent[n] < 0) {
        t->parent[n] = pn;
      } else if (t->parent[n] != pn) {
        return 0;
      }
    }
  }
  return 1;
}

/* Columns, panel offsets and the Z_j column map of the node layout. */
static void tree_layout(const hlm_dcluster *c, hlm_tree *t)
{
  int colpos = 0;
  size_t p = 0;
  for (int s = 0; s < t->nst; s++) {
    int r = t->st_term[s], k = t->st_k[s];
    size_t rows = (size_t)(t->kcum[t->nst] - t->kcum[s]);
    for (int l = 0; l < c->nlev[r]; l++) {
      int n = t->st_node[s] + l;
      t->col[n] = colpos;
      t->poff[n] = p;
      for (int a = 0; a < k; a++) {
        t->pos[c->zoff[r] + l * k + a] = colpos + a;
      }
      colpos += k;
      p += rows * (size_t)k;
    }
    int m = t->kcum[t->nst] - t->kcum[s + 1];
    t->mmax = m > t->mmax ? m : t->mmax;
  }
  t->npanel = p;
}

hlm_status hlm_tree_create(const hlm_design *d, const hlm_dcluster *c,
                           hlm_tree **out)
{
  hlm_status status = HLM_OK;
  hlm_tree *t = NULL;
  *out = NULL;
  HLM_ALLOC(t, 1);
  t->q = c->q;
  HLM_TRY(tree_stages(d, c, t));
  HLM_ALLOC(t->st_node, t->nst + 1);
  HLM_ALLOC(t->kcum, t->nst + 1);
  for (int s = 0; s < t->nst; s++) {
    t->st_node[s + 1] = t->st_node[s] + c->nlev[t->st_term[s]];
    t->kcum[s + 1] = t->kcum[s] + t->st_k[s];
  }
  t->nnodes = t->st_node[t->nst];
  HLM_ALLOC(t->parent, t->nnodes > 0 ? t->nnodes : 1);
  HLM_ALLOC(t->col, t->nnodes > 0 ? t->nnodes : 1);
  HLM_ALLOC(t->poff, t->nnodes > 0 ? t->nnodes : 1);
  HLM_ALLOC(t->pos, t->q > 0 ? t->q : 1);
  if (t->nst > 0 && tree_parents(d, c, t)) {
    tree_layout(c, t);
    *out = t;
    t = NULL;
  }
cleanup:
  hlm_tree_destroy(&t);
  return status;
}

void hlm_tree_add_row(const hlm_tree *t, const hlm_design *d, int64_t i,
                      double *panel)
{
  const int32_t *zl = &d->zlev[i * d->nterms];
  const double *zv = &d->zval[i * d->zwidth];
  int rows0 = t->kcum[t->nst];
  for (int s = 0; s < t->nst; s++) {
    int ks = t->st_k[s], rows = rows0 - t->kcum[s];
    double *P = panel + t->poff[t->st_node[s] + zl[t->st_term[s]]];
    const double *vs = zv + t->st_zoff[s];
    for (int u = s; u < t->nst; u++) {
      const double *vu = zv + t->st_zoff[u];
      int row0 = t->kcum[u] - t->kcum[s];
      for (int a = 0; a < ks; a++) {
        for (int b = 0; b < t->st_k[u]; b++) {
          P[row0 + b + (size_t)rows * a] += vu[b] * vs[a];
        }
      }
    }
  }
}

void hlm_term_factor(const hlm_reterm *rt, const double *theta, double *L)
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

void hlm_tree_term_factors(const hlm_design *d, const double *theta, double *Lf,
                           size_t *off)
{
  size_t o = 0;
  for (int r = 0; r < d->nterms; r++) {
    off[r] = o;
    hlm_term_factor(&d->term[r], theta, Lf + o);
    o += (size_t)d->term[r].k * d->term[r].k;
  }
}

/* Node n of stage s: panel := T' panel T + [I; 0], B and w rows := T' . */
static void scale_node(const hlm_tree *t, const double *Lf, const size_t *off,
                       int s, int n, double *W, double *B, int h, double *w)
{
  int k = t->st_k[s], rows = t->kcum[t->nst] - t->kcum[s];
  const double *Ls = Lf + off[t->st_term[s]];
  double *P = W + t->poff[n];
  hlm_dtrmm(CblasColMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit,
            rows, k, 1.0, Ls, k, P, rows);
  for (int u = s; u < t->nst; u++) {
    int ku = t->st_k[u];
    hlm_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit,
              ku, k, 1.0, Lf + off[t->st_term[u]], ku,
              P + t->kcum[u] - t->kcum[s], rows);
  }
  for (int a = 0; a < k; a++) {
    P[a + (size_t)rows * a] += 1.0;
  }
  hlm_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, k,
            h, 1.0, Ls, k, B + t->col[n], t->q);
  hlm_dtrmv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, k, Ls, k,
            w + t->col[n], 1);
}

/* Eliminate node n of stage s and update its ancestors. */
static hlm_status eliminate_node(const hlm_tree *t, int s, int n, double *W,
                                 double *B, int h, double *w, double *ld)
{
  hlm_status status = HLM_OK;
  int k = t->st_k[s], rows = t->kcum[t->nst] - t->kcum[s], q = t->q;
  double *P = W + t->poff[n], *Bn = B + t->col[n], *wn = w + t->col[n];
  int info = hlm_dpotrf(LAPACK_COL_MAJOR, 'L', k, P, rows);
  HLM_LAPACK_CHECK(info, "dpotrf",
                   "a block of C_jj = T'Z'ZT + I is not positive definite "
                   "(non-finite theta?)");
  for (int a = 0; a < k; a++) {
    *ld += 2.0 * log(P[a + (size_t)rows * a]);
  }
  if (rows > k) {
    hlm_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit,
              rows - k, k, 1.0, P, rows, P + k, rows);
  }
  hlm_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, k,
            h, 1.0, P, rows, Bn, q);
  hlm_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, k, P, rows,
            wn, 1);
  int u = s + 1;
  for (int a = t->parent[n]; a >= 0; a = t->parent[a], u++) {
    int ku = t->st_k[u], ra = t->kcum[t->nst] - t->kcum[u];
    const double *Au = P + t->kcum[u] - t->kcum[s];
    /* C_{ancestors from a on, a} -= L_{.,n} L_{a,n}' */
    hlm_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, ra, ku, k, -1.0, Au,
              rows, Au, rows, 1.0, W + t->poff[a], ra);
    hlm_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, ku, h, k, -1.0, Au,
              rows, Bn, q, 1.0, B + t->col[a], q);
    hlm_dgemv(CblasColMajor, CblasNoTrans, ku, k, -1.0, Au, rows, wn, 1, 1.0,
              w + t->col[a], 1);
  }
cleanup:
  return status;
}

hlm_status hlm_tree_absorb(const hlm_tree *t, const double *Lf,
                           const size_t *off, const double *P0, double *W,
                           double *B, int h, double *w, double *ld)
{
  hlm_status status = HLM_OK;
  memcpy(W, P0, t->npanel * sizeof *W);
  for (int s = 0; s < t->nst; s++) {
    for (int n = t->st_node[s]; n < t->st_node[s + 1]; n++) {
      scale_node(t, Lf, off, s, n, W, B, h, w);
    }
  }
  for (int s = 0; s < t->nst; s++) {
    for (int n = t->st_node[s]; n < t->st_node[s + 1]; n++) {
      HLM_TRY(eliminate_node(t, s, n, W, B, h, w, ld));
    }
  }
cleanup:
  return status;
}

/* tmp (m x nrhs) := the rows of X at node n's ancestors, stacked. */
static void gather_ancestors(const hlm_tree *t, int s, int n, const double *X,
                             int nrhs, double *tmp)
{
  int m = t->kcum[t->nst] - t->kcum[s + 1], u = s + 1;
  for (int a = t->parent[n]; a >= 0; a = t->parent[a], u++) {
    int r0 = t->kcum[u] - t->kcum[s + 1];
    for (int c = 0; c < nrhs; c++) {
      memcpy(&tmp[r0 + (size_t)m * c], &X[t->col[a] + (size_t)t->q * c],
             (size_t)t->st_k[u] * sizeof *tmp);
    }
  }
}

void hlm_tree_solve_lt(const hlm_tree *t, const double *W, double *X, int nrhs,
                       double *tmp)
{
  int q = t->q;
  for (int s = t->nst - 1; s >= 0; s--) {
    int k = t->st_k[s], rows = t->kcum[t->nst] - t->kcum[s], m = rows - k;
    for (int n = t->st_node[s]; n < t->st_node[s + 1]; n++) {
      const double *P = W + t->poff[n];
      double *Xn = X + t->col[n];
      if (m > 0) {
        /* X_n -= L_Pn' X_P */
        gather_ancestors(t, s, n, X, nrhs, tmp);
        hlm_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, k, nrhs, m, -1.0,
                  P + k, rows, tmp, m, 1.0, Xn, q);
      }
      hlm_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit,
                k, nrhs, 1.0, P, rows, Xn, q);
    }
  }
}

void hlm_tree_apply_t(const hlm_tree *t, const double *Lf, const size_t *off,
                      double *X, int nrhs)
{
  for (int s = 0; s < t->nst; s++) {
    int k = t->st_k[s];
    const double *Ls = Lf + off[t->st_term[s]];
    for (int n = t->st_node[s]; n < t->st_node[s + 1]; n++) {
      hlm_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans,
                CblasNonUnit, k, nrhs, 1.0, Ls, k, X + t->col[n], t->q);
    }
  }
}

/* SPP (m x m) := Sig on node n's ancestors, from their panels. */
static void gather_sig_pp(const hlm_tree *t, int s, int n, const double *Sig,
                          double *SPP)
{
  int m = t->kcum[t->nst] - t->kcum[s + 1], base = t->kcum[s + 1], v = s + 1;
  for (int a = t->parent[n]; a >= 0; a = t->parent[a], v++) {
    int kv = t->st_k[v], ra = t->kcum[t->nst] - t->kcum[v];
    const double *Sa = Sig + t->poff[a];
    int c0 = t->kcum[v] - base;
    for (int c = 0; c < kv; c++) {
      for (int r = 0; r < ra; r++) {
        double x = Sa[r + (size_t)ra * c];
        SPP[(c0 + r) + (size_t)m * (c0 + c)] = x;
        SPP[(c0 + c) + (size_t)m * (c0 + r)] = x;
      }
    }
  }
}

/* dg[col .. col + k) := diag(L_s Sig_nn L_s') */
static void node_diag(int k, const double *Ls, const double *Snn, int lds,
                      double *dg)
{
  for (int i = 0; i < k; i++) {
    double sum = 0.0;
    for (int a = 0; a <= i; a++) {
      for (int b = 0; b <= i; b++) {
        sum += Ls[i + k * a] * Snn[a + (size_t)lds * b] * Ls[i + k * b];
      }
    }
    dg[i] = sum;
  }
}

/* Sig_nn and Sig_Pn of node n, whose ancestors are done. */
static hlm_status inverse_node(const hlm_tree *t, int s, int n, const double *W,
                               double *Sig, double *work)
{
  hlm_status status = HLM_OK;
  int k = t->st_k[s], rows = t->kcum[t->nst] - t->kcum[s], m = rows - k;
  const double *P = W + t->poff[n];
  double *Sn = Sig + t->poff[n];
  for (int c = 0; c < k; c++) {
    for (int r = 0; r < k; r++) {
      Sn[r + (size_t)rows * c] = r >= c ? P[r + (size_t)rows * c] : 0.0;
    }
  }
  int info = hlm_dpotri(LAPACK_COL_MAJOR, 'L', k, Sn, rows);
  HLM_LAPACK_CHECK(info, "dpotri", "inverting a block of C_jj");
  for (int c = 0; c < k; c++) {
    for (int r = c + 1; r < k; r++) {
      Sn[c + (size_t)rows * r] = Sn[r + (size_t)rows * c];
    }
  }
  if (m > 0) {
    double *SPP = work, *Z = work + (size_t)m * m;
    gather_sig_pp(t, s, n, Sig, SPP);
    for (int c = 0; c < k; c++) {
      memcpy(&Z[(size_t)m * c], &P[k + (size_t)rows * c],
             (size_t)m * sizeof *Z);
    }
    /* Z = L_Pn L_n^-1;  Sig_Pn = -Sig_PP Z;  Sig_nn -= Z' Sig_Pn */
    hlm_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit,
              m, k, 1.0, P, rows, Z, m);
    hlm_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, k, m, -1.0, SPP, m,
              Z, m, 0.0, Sn + k, rows);
    hlm_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, k, k, m, -1.0, Z, m,
              Sn + k, rows, 1.0, Sn, rows);
  }
cleanup:
  return status;
}

hlm_status hlm_tree_diag_inverse(const hlm_tree *t, const double *Lf,
                                 const size_t *off, const double *W,
                                 double *Sig, double *work, double *dg)
{
  hlm_status status = HLM_OK;
  for (int s = t->nst - 1; s >= 0; s--) {
    int k = t->st_k[s], rows = t->kcum[t->nst] - t->kcum[s];
    const double *Ls = Lf + off[t->st_term[s]];
    for (int n = t->st_node[s]; n < t->st_node[s + 1]; n++) {
      HLM_TRY(inverse_node(t, s, n, W, Sig, work));
      node_diag(k, Ls, Sig + t->poff[n], rows, dg + t->col[n]);
    }
  }
cleanup:
  return status;
}
