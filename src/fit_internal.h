/* fit_internal.h: the representation of hlm_fit, shared by fit.c,
 * fit_ranef.c and summary.c.  Not installed. */
#ifndef HLM_FIT_INTERNAL_H
#define HLM_FIT_INTERNAL_H

#include "hlm/fit.h"
#include "mme_internal.h"

/* One random term's conditional modes (filled on rank 0). */
typedef struct hlm_fit_term {
  char *group;   /* grouping factor ("firm:sector") */
  char *vcgroup; /* its name in VarCorr, made unique ("Subject.1") */
  int k;
  char **colname; /* k names */
  int64_t nlevels;
  char **label;    /* nlevels labels (rank 0) */
  double *values;  /* nlevels x k, level-major (rank 0) */
  double *condvar; /* nlevels x k, level-major (rank 0) */
} hlm_fit_term;

struct hlm_fit {
  char *formula;
  int reml;
  int ranks;
  int64_t nobs;
  int p;
  char **fixed_name;
  double *beta, *se, *vcov;
  int ntheta;
  double *theta;
  double crit, loglik, aic, bic, sigma, pwrss;
  int npar;
  int singular, converged, evaluations;
  int known_sd; /* residual SDs given per row: sigma fixed at 1 */
  int nlopt_result;
  double seconds;
  int nterms;
  hlm_fit_term *term;
  int nvc;
  hlm_varcorr *vc;
  int ngroups;
  char **group_name;
  int64_t *group_nlev;
};

/* Collective on comm.  Conditional modes and variances of every term at
 * the fit's theta and beta, gathered to rank 0 into f->term. */
hlm_status hlm_fit_gather_ranef(MPI_Comm comm, hlm_mme *m, hlm_fit *f);

/* Local.  A copy of s (NULL stays NULL). */
hlm_status hlm_fit_strdup(const char *s, char **out);

#endif /* HLM_FIT_INTERNAL_H */
