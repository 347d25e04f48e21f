/* mme_tree.h: level-by-level absorption of one cluster's nested random
 * effects.  When the cluster's local terms are nested in one another
 * (sector > firm > worker group; (1 | a/b/c); or the terms of
 * (1 + x || g), which share their levels), every level of every term is a
 * node whose only couplings in C_jj = T'Z'ZT + I are with the levels above
 * it.  Ordering the nodes finest first, C_jj = L L' has no fill outside
 * that pattern, so each node stores one panel: its k x k diagonal block
 * and the rows of its ancestors, (k + m) x k with m the ancestors'
 * columns.  Storage and work grow linearly in the number of sub-clusters
 * (times the depth squared), not with the cube of a cluster's columns.
 * Shared by mme.c only.  Not installed. */
#ifndef HLM_MME_TREE_H
#define HLM_MME_TREE_H

#include <stddef.h>

#include "design_internal.h"

typedef struct hlm_tree {
  int q;         /* columns of Z_j */
  int nst;       /* stages: the local terms, finest (most levels) first */
  int *st_term;  /* nst: the term of each stage */
  int *st_k;     /* nst: its effect columns */
  int *st_zoff;  /* nst: its first value in a row of zval */
  int *st_node;  /* nst + 1: first node of each stage */
  int *kcum;     /* nst + 1: sum of st_k over the stages before */
  int nnodes;    /* sum of the stages' levels in the cluster */
  int *parent;   /* nnodes: the node one stage up, or -1 */
  int *col;      /* nnodes: first column in the node order */
  size_t *poff;  /* nnodes: offset of the node's panel */
  size_t npanel; /* doubles of all panels */
  int *pos;      /* q: Z_j column -> column in the node order */
  int mmax;      /* largest ancestor width m */
} hlm_tree;

/* Local.  The node layout of cluster c, or *out = NULL when its local terms
 * are not nested in one another (two terms crossed within the cluster):
 * the caller then absorbs the cluster densely.  *out is owned by the
 * caller (hlm_tree_destroy). */
hlm_status hlm_tree_create(const hlm_design *d, const hlm_dcluster *c,
                           hlm_tree **out);
void hlm_tree_destroy(hlm_tree **t);

/* Local.  Add row i's Z'Z to the panels (unscaled cross-products). */
void hlm_tree_add_row(const hlm_tree *t, const hlm_design *d, int64_t i,
                      double *panel);

/* Local.  Term rt's k x k lower-triangular factor at theta (lme4's
 * column-major order of the lower triangle), into L. */
void hlm_term_factor(const hlm_reterm *rt, const double *theta, double *L);

/* Local.  The factors of the terms at theta: term r's k x k lower
 * triangle at Lf + off[r] (off: nterms values, filled here); Lf holds
 * sum_r k_r^2 doubles. */
void hlm_tree_term_factors(const hlm_design *d, const double *theta, double *Lf,
                           size_t *off);

/* Local.  Absorb the cluster: W (npanel) := the panels of the Cholesky
 * factor of C_jj = T'Z'ZT + I from the unscaled panels P0; B (q x h, ld q,
 * node order, holding Z'[H T_G] unscaled on entry) := L^-1 T' B; w (q) :=
 * L^-1 T' w; ld += log det C_jj.  HLM_ERR_NUMERIC when C_jj is not
 * positive definite. */
hlm_status hlm_tree_absorb(const hlm_tree *t, const double *Lf,
                           const size_t *off, const double *P0, double *W,
                           double *B, int h, double *w, double *ld);

/* Local.  X (q x nrhs, ld q, node order) := L^-T X, with L from
 * hlm_tree_absorb's W.  tmp holds mmax * nrhs doubles. */
void hlm_tree_solve_lt(const hlm_tree *t, const double *W, double *X, int nrhs,
                       double *tmp);

/* Local.  X (q x nrhs, ld q, node order) := T X. */
void hlm_tree_apply_t(const hlm_tree *t, const double *Lf, const size_t *off,
                      double *X, int nrhs);

/* Local.  dg (q, node order) := diag(T C_jj^-1 T'), by the selected
 * inverse of C_jj on the panel pattern (Takahashi's recurrences, coarsest
 * level first).  Sig holds npanel doubles; work mmax * (mmax + 2 kmax)
 * + kmax^2 doubles, kmax = 64. */
hlm_status hlm_tree_diag_inverse(const hlm_tree *t, const double *Lf,
                                 const size_t *off, const double *W,
                                 double *Sig, double *work, double *dg);

#endif /* HLM_MME_TREE_H */
