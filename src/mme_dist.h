/* mme_dist.h: the global system S of g = (v_global, beta) distributed
 * block-cyclically over the ranks and solved with ScaLAPACK (issue 15;
 * docs/estimation.md, "The distributed global system").
 *
 * Used by mme.c when G = dim S exceeds the design's scalapack_threshold.
 * No rank ever holds the whole S: each rank keeps its clusters' H_j'H_j
 * (H_j = [Z_g X]_j on the global columns the cluster touches), forms per
 * theta their contributions T_G' H_j'H_j T_G - W_j'W_j, and these are
 * summed in double-double straight into the block-cyclic layout, one
 * MPI_Reduce per panel of each grid position's local columns (each rank
 * adds its clusters in cluster order, so the sums do not depend on the
 * rank count).  Not installed. */
#ifndef HLM_MME_DIST_H
#define HLM_MME_DIST_H

#include "mme_internal.h"
#include "scalapack.h"

typedef struct hlm_mme_dist {
  hlm_grid *grid;
  int G, locr, locc; /* S is G x G; this rank holds locr x locc of it */
  int desc[9];       /* S's descriptor */
  int vdesc[9];      /* a G x 1 vector's (on grid column 0) */
  double *S;         /* locr x locc: S's Cholesky factor (lower) */
  double *Si;        /* locr x locc: the inverse of a leading block */
  double *v;         /* locr: a G-vector's rows held here (column 0) */
  size_t *hoff;      /* ncl + 1: offsets of the clusters' h_j x h_j blocks */
  double *Cj;        /* the clusters' contributions at the current theta
                        (h_j = ng_j + p) */
  double *buf;       /* 2 * maxloc: double-double sums of one panel */
  size_t maxloc;     /* largest panel: local rows x panel columns */
  int panel;         /* local columns reduced at a time (whole blocks) */
  double *vec;       /* G + p * p: replicated gathers */
  int sel_n;         /* leading block of S inverted into sel, or -1 */
  double *sel;       /* per cluster (at hoff): its h_j x h_j block of the
                        zero-padded inverse of S's leading sel_n block */
  double *seld;      /* qg x kw: the global levels' diagonal blocks of it,
                        entry (o + a, o + e) at (o + a) * kw + e */
  int kw;            /* largest k of a global term */
} hlm_mme_dist;

/* Collective on m->comm (mme.c's setup, after the clusters' sizes are
 * known).  m->dist := a new distributed system on a grid of all ranks. */
hlm_status hlm_mme_dist_create(hlm_mme *m);
/* Local.  NULL-safe; sets *dp to NULL. */
void hlm_mme_dist_destroy(hlm_mme_dist **dp);

/* Local.  Cluster j's contribution at theta, T_G' H_j'H_j T_G - W'W
 * (H_j'H_j: m->blk[j].HH)
 * (WtW: h x h, both triangles; NULL when the cluster has no local
 * effects). */
void hlm_mme_dist_cluster(hlm_mme *m, int64_t j, const double *theta,
                          const double *WtW);

/* Collective on m->comm, after the clusters' contributions at theta and
 * with m->g holding s (replicated).  Sum S into the block-cyclic layout,
 * add diag(I_qg, 0), factor (pdpotrf), and with r = y~'y~ - sum w'w set
 * m->g := g = S^-1 s (replicated) and ev's pwrss, ldL2 (adding to the
 * clusters' sum already in it), ldRX2, beta and RX. */
hlm_status hlm_mme_dist_solve(hlm_mme *m, double r, hlm_mme_eval *ev);

/* Collective on m->comm, after hlm_mme_dist_solve.  The inverse of S's
 * leading n x n block (n = qg: S_vv^-1; n = G: S^-1), zero-padded to
 * G x G, on the entries this rank's clusters and the global levels need
 * (sel, seld).  Does nothing when it is already there. */
hlm_status hlm_mme_dist_select(hlm_mme *m, int n);

/* Local.  Bytes this rank holds for the distributed S (factor, inverse,
 * reduction buffer, the clusters' blocks). */
double hlm_mme_dist_bytes(const hlm_mme *m);

#endif /* HLM_MME_DIST_H */
