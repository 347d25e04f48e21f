/* survey.h: sampling weights at two levels by multilevel pseudo-maximum
 * likelihood and design-based (sandwich) standard errors of the fixed
 * effects and of the variance components (issue 13; docs/survey.md).
 * Not installed.
 *
 * A [survey] design changes the fit in two places: the level-1 weights
 * w_i|j (scaled within cluster j as [survey] scaling says) scale cluster
 * j's rows by sqrt(w_i|j), and the level-2 weight w_j multiplies cluster
 * j's whole contribution to the criterion (mme.c).  Maximising
 *   sum_j w_j log INT prod_i f(y_ij | u)^(w_i|j) phi(u) du
 * is the pseudo-ML of Pfeffermann et al. (1998) and Rabe-Hesketh and
 * Skrondal (2006).  Afterwards the sandwich of the fixed effects with
 * theta held at its estimate is built from per-cluster scores, summed
 * into PSUs and compared within strata on rank 0. */
#ifndef HLM_SURVEY_H
#define HLM_SURVEY_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "hlm/config.h"
#include "hlm/data.h"
#include "hlm/design.h"
#include "hlm/error.h"
#include "hlm/fit.h"

typedef struct hlm_survey hlm_survey;

/* Local.  Before rows with missing values are dropped: a [survey] column
 * of t with a missing value is an error naming the column and the row of
 * the file (sampling weights, PSUs and strata are never silently
 * dropped). */
hlm_status hlm_survey_check_missing(const hlm_config *cfg, const hlm_table *t);

/* Collective on comm.  Apply cfg's [survey] design to the design d of
 * table t (rows in d's order), whose partition factor is `partition`:
 * check the random terms (all of the partition factor: a deeper level is
 * not implemented yet, a crossed one is refused), read and check the
 * weights (finite, not negative; weight2, psu and strata constant within
 * each cluster), scale level-1 weights, scale d's rows and set d's
 * cluster weights.  Clusters of zero weight are dropped (they contribute
 * nothing) and reported to `log` (rank 0, may be NULL).  cfg and t
 * must outlive *out (it keeps cfg's column names and t's stratum labels).
 * Errors, agreed on all ranks:
 * HLM_ERR_DATA (naming the column and a row or cluster),
 * HLM_ERR_CONFIG (crossed terms), HLM_ERR_NOT_IMPLEMENTED (deeper
 * levels). */
hlm_status hlm_survey_apply(MPI_Comm comm, const hlm_config *cfg,
                            const hlm_table *t, const char *partition,
                            hlm_design *d, FILE *log, hlm_survey **out);

/* Collective on comm, after the fit f of d.  The sandwich covariance of
 * the fixed effects with theta held at its estimate (survey_sandwich.c):
 * S^-1 B S^-1 with S the weighted information (sigma^2 units) and B the
 * between-PSU within-stratum variance of the PSU score totals,
 * (1 - f_h) n_h / (n_h - 1) sum_i (U_hi - U_h.)(U_hi - U_h.)', f_h the
 * stratum's sampling fraction from [survey] fpc (0 without).  Also the
 * design df (PSUs minus strata).  A PSU is a (stratum, psu) pair: PSU
 * codes are read within strata, as Stata's svyset reads them.  Errors,
 * agreed: a stratum with one PSU, an fpc that varies within a stratum or
 * is smaller than its PSUs (HLM_ERR_DATA).  Then the joint sandwich of
 * the variance components (hlm_survey_joint). */
hlm_status hlm_survey_sandwich(MPI_Comm comm, hlm_survey *s, hlm_design *d,
                               const hlm_fit *f);

/* Collective, inside hlm_survey_sandwich.  The records (REC = 4 keys:
 * cluster, psu, stratum, fpc, then width scores) of this rank's clusters
 * gathered on rank 0, summed into PSUs and compared within strata as for
 * the fixed effects; B (width x width) broadcast to every rank. */
hlm_status hlm_survey_meat(MPI_Comm comm, hlm_survey *s, const double *rec,
                           int64_t nrec, int width, double *B);

/* Collective, inside hlm_survey_sandwich (survey_joint.c).  The joint
 * sandwich H^-1 M H^-1 in (beta, theta, sigma): H the Hessian of the
 * pseudo-log-likelihood by central differences of its analytic gradient,
 * M the design's meat of the per-cluster analytic scores; then by the
 * delta method the covariance of the variance components as SDs and
 * correlations (docs/survey.md).  On the boundary (a zero diagonal of a
 * term's factor) or with a Hessian that is not negative definite the
 * block is not available (s->vc_note says why); not an error. */
hlm_status hlm_survey_joint(MPI_Comm comm, hlm_survey *s, hlm_design *d,
                            const hlm_fit *f, const double *beta);

/* Local accessors, the same on every rank after hlm_survey_sandwich. */
/* p x p robust covariance of the fixed effects (column-major). */
const double *hlm_survey_vcov(const hlm_survey *s);
/* Design degrees of freedom: PSUs minus strata. */
double hlm_survey_df(const hlm_survey *s);
/* 1: robust SEs are reported (the default), 0: model-based. */
int hlm_survey_robust(const hlm_survey *s);

/* Local (rank 0).  The design's summary to `out`, and into the JSON
 * summary at `path` (read back, "survey" added, written again). */
void hlm_survey_print(const hlm_survey *s, FILE *out);
hlm_status hlm_survey_write_json(const hlm_survey *s, const char *path);

/* Local.  NULL-safe; sets *s to NULL. */
void hlm_survey_destroy(hlm_survey **s);

/* The representation, shared by survey.c and survey_sandwich.c. */
struct hlm_survey {
  const hlm_config *cfg; /* not owned */
  int p;
  int64_t ncl;           /* this rank's clusters */
  double *psu;           /* ncl: PSU key of each local cluster */
  double *stratum;       /* ncl: stratum key (0 without strata) */
  double *fpc;           /* ncl: the stratum's fpc value (0 without fpc) */
  int stratum_label;     /* the stratum keys are codes of a categorical */
  char **stratum_levels; /* not owned: the table's levels (the table must
                            outlive hlm_survey_sandwich), or NULL */
  int64_t nclusters, ndropped; /* over all ranks */
  int64_t npsu, nstrata;       /* PSUs and strata with weight */
  double df;                   /* npsu - nstrata */
  double *V;                   /* p x p: robust Var(beta-hat) */
  /* the joint sandwich (survey_joint.c) */
  int nj;              /* p + ntheta + 1 */
  double *Vj;          /* nj x nj: in (beta, theta, sigma), or NULL */
  int nvc;             /* variance components: SDs, correlations, sigma */
  double *vc, *vcse;   /* nvc: their estimates and robust SEs */
  char **vcname;       /* nvc names */
  const char *vc_note; /* why Vj is NULL, or NULL */
};

#endif /* HLM_SURVEY_H */
