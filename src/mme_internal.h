/* mme_internal.h: the mixed-model equations of a design with local random
 * terms only: per-cluster cross-products (formed once), absorption of each
 * cluster's random effects for a given theta, the reduced p x p system of
 * the fixed effects summed over ranks, and lme4's profiled criterion.
 * Shared by mme.c and fit.c.  Not installed. */
#ifndef HLM_MME_INTERNAL_H
#define HLM_MME_INTERNAL_H

#include <mpi.h>

#include "design_internal.h"
#include "mme_tree.h"

/* One cluster's cross-products.  Column-major; q = columns of Z_j. */
typedef struct hlm_xblock {
  int q;
  hlm_tree *tree; /* nested local terms: the node layout (rows of ZtX, Zty
                     and ZtG in its column order), or NULL: dense */
  double *ZtZ;    /* tree: its panels; dense: q x q, both triangles */
  double *ZtX;    /* q x p */
  double *Zty;    /* q */
  int ng;         /* global random-effect columns the cluster touches */
  int64_t *gidx;  /* ng: their positions in v_global, ascending */
  double *ZtG;    /* q x ng: Z_j' Z_global,j on those columns (sparse
                     coupling: only the crossed levels the cluster has) */
  double *HH;     /* distributed S only: H_j'H_j, h x h (h = ng + p) */
} hlm_xblock;

/* Sums over clusters are accumulated in double-double (hi, lo) pairs and
 * reduced over ranks with a double-double MPI operation, so that they are,
 * to all practical purposes, correctly rounded whatever the partition:
 * the criterion and hence the optimizer's path do not depend on the rank
 * count.  The response is centred by the ordinary least-squares fit,
 * y~ = y - X b0, which leaves beta - b0, the random effects and the
 * criterion unchanged but removes most of the cancellation from the
 * penalized residual sum of squares. */
typedef struct hlm_mme {
  MPI_Comm comm;       /* not owned */
  const hlm_design *d; /* not owned: must outlive the mme */
  int p;
  int64_t qg;  /* global random-effect columns, v_global */
  int G;       /* qg + p: the global unknowns g = (v_global, beta) */
  double *b0;  /* p: the OLS coefficients the response is centred by */
  double *XtX; /* p x p: over all ranks, lower triangle */
  double *Xty; /* p: X'y~ over all ranks */
  double yty;  /* y~'y~ over all ranks */
  double *HtH; /* G x G: [Zg X]'[Zg X] over all ranks (Zg: global Z) */
  double *Hty; /* G: [Zg X]'y~ over all ranks */
  double *S;   /* G x G: Cholesky factor (lower) of S at the last theta */
  double *g;   /* G: (v_global, beta - b0) at the last theta */
  double *Svi; /* qg x qg: S_vv^-1 (hlm_mme_global_ranef), or NULL */
  int64_t ncl;
  hlm_xblock *blk;
  int qmax, hmax;  /* largest q_j; largest ng_j + p */
  int qdense;      /* largest q_j of the clusters absorbed densely */
  size_t npmax;    /* largest tree: panel doubles */
  int mmax;        /* largest tree: ancestor columns */
  int force_dense; /* HLM_ABSORB=dense: no trees (a testing knob) */
  double *Lf;      /* the terms' factors at the current theta */
  size_t *Lfoff;   /* nterms: their offsets in Lf */
  /* work space: C, M, Tt qdense^2; B, P q x h; tW, tSig npmax */
  double *C, *M, *B, *w, *Tt, *WtW, *P, *Q, *tW, *tSig, *twork, *tq;
  int64_t *hidx;
  int nred;        /* reduced values: W'W (G x G; not when distributed), W'w
                      (G), w'w, ld, failed */
  double *red;     /* nred (hi, lo) pairs */
  size_t roff;     /* offset of W'w in red: G x G, or 0 when distributed */
  int distributed; /* 1: G > the design's scalapack_threshold */
  struct hlm_mme_dist *dist;      /* S distributed (ScaLAPACK, issue 15; m->S
                                     and m->HtH are then NULL), or NULL */
  struct hlm_absorb_cache *cache; /* absorbed clusters at the last theta
                                     (mme_cache.c), or NULL */
} hlm_mme;

/* The reduced system and the criterion at one theta (same on all ranks). */
typedef struct hlm_mme_eval {
  double crit;  /* REML criterion or deviance, as lme4 (with weights,
                   including -sum log w_i; with known SDs, not profiled:
                   sigma = 1) */
  double ldL2;  /* log det of the random-effects block: sum_j log det C_jj
                   plus log det of S's leading v_global block */
  double ldRX2; /* log det of the fixed-effect part of S (Schur complement) */
  double pwrss; /* penalized residual sum of squares */
  double *beta; /* p: caller-allocated */
  double *RX;   /* p x p: Cholesky factor (lower) of the fixed-effect part
                   of S (its trailing block), caller-allocated */
} hlm_mme_eval;

/* Collective on comm.  Form every local cluster's cross-products.  *out is
 * owned by the caller (hlm_mme_destroy). */
hlm_status hlm_mme_create(MPI_Comm comm, const hlm_design *d, hlm_mme **out);
void hlm_mme_destroy(hlm_mme **m);

/* Collective on comm.  Absorb every cluster at theta, reduce over ranks,
 * solve for beta and evaluate the profiled criterion (REML when reml != 0,
 * else ML).  A numerical failure on any rank fails every rank
 * (HLM_ERR_NUMERIC), without further agreement. */
hlm_status hlm_mme_evaluate(hlm_mme *m, const double *theta, int reml,
                            hlm_mme_eval *ev);

/* Local.  Conditional modes u_j = T v_j and conditional variances (the
 * diagonal of sigma2 T Var(v_j | y, beta-hat) T', with the global-term
 * correction C_jj^-1 C_j,vg S_vv^-1 C_vg,j C_jj^-1 when there are global
 * terms) for cluster j at theta and beta (the fixed effects of the
 * original, uncentred response): q_j values each, into u and cv.  theta
 * must be the theta of the last hlm_mme_evaluate, and with global terms
 * hlm_mme_global_ranef must have been called first. */
hlm_status hlm_mme_cluster_ranef(hlm_mme *m, int64_t j, const double *theta,
                                 const double *beta, double sigma2, double *u,
                                 double *cv);

/* Local.  The global random effects at the theta of the last
 * hlm_mme_evaluate: u_global = T_g v_global and the diagonal of
 * sigma2 T_g S_vv^-1 T_g' (qg values each, v_global's order), where S_vv
 * is S's v_global block with beta held at its estimate; keeps S_vv^-1 for
 * hlm_mme_cluster_ranef.  u and cv may be NULL. */
hlm_status hlm_mme_global_ranef(hlm_mme *m, const double *theta, double sigma2,
                                double *u, double *cv);

/* ---- for the Gibbs sampler (bayes_draw.c, issue 11) -------------------- */

/* Collective on comm.  Absorb every cluster at theta and reduce over
 * ranks: m->S := S (G x G, both triangles, not factored) and m->g := s,
 * the right-hand side, of the global system (mme.c's header).  A failure
 * on any rank fails every rank. */
hlm_status hlm_mme_form_system(hlm_mme *m, const double *theta);

/* Local.  A draw of cluster j's local effects given the global unknowns
 * g = (v_global, beta - b0) (G values): v = C_jj^-1 (T'Z'(y~ - H T_G g))
 * + sigma L^-T z with z (q_j values) standard normals, u = T v, into u
 * (q_j values, Z_j's column order). */
hlm_status hlm_mme_cluster_draw(hlm_mme *m, int64_t j, const double *theta,
                                const double *g, double sigma, const double *z,
                                double *u);

/* Local.  M := M T_g on M's first ncols columns, which are the v_global
 * columns cols[] (whole levels, ascending; NULL: 0 .. ncols-1); M is
 * nrows x ., leading dimension ldm; tmp holds nrows x 64. */
void hlm_mme_right_tg(const hlm_design *d, const double *theta,
                      const int64_t *cols, int ncols, double *M, int nrows,
                      int ldm, double *tmp);

/* Local.  Bytes this rank holds for the global system S: G x G replicated,
 * or its block-cyclic part and the reduction's work space (issue 15). */
double hlm_mme_global_bytes(const hlm_mme *m);

/* Local (rank 0 prints).  Log how S is solved and record its memory per
 * rank for the run's footer (hlm_log_global_system). */
void hlm_mme_report(const hlm_mme *m);

#endif /* HLM_MME_INTERNAL_H */
