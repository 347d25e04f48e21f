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
  double pgnorm;   /* quasi-Newton: last projected gradient; else NaN */
  int nhistory;    /* evaluations in the optimizer's history */
  double *history; /* rank 0 only: nhistory rows of theta, criterion */
  int optimizer;   /* 0: BOBYQA; 1: quasi-Newton; 2: quasi-Newton, then
                      BOBYQA (hlm_fit_optimizer_name) */
  double seconds;
  int nterms;
  hlm_fit_term *term;
  int nvc;
  hlm_varcorr *vc;
  int ngroups;
  char **group_name;
  int64_t *group_nlev;
  hlm_mme *m; /* the fit's cross-products, kept for inference (owned) */
};

/* Collective on comm.  Conditional modes and variances of every term at
 * the fit's theta and beta, gathered to rank 0 into f->term. */
hlm_status hlm_fit_gather_ranef(MPI_Comm comm, hlm_mme *m, hlm_fit *f);

/* Local.  The mixed-model equations the fit was made with (its per-cluster
 * cross-products of design d), or NULL when they were not kept.  Borrowed:
 * they live as long as f.  Their work space is at whatever theta was
 * evaluated last: evaluate before reading it. */
hlm_mme *hlm_fit_mme(const hlm_fit *f, const hlm_design *d);

/* One rank's share of a term's conditional modes: nlev levels of 2k
 * doubles each (the k modes, then the k conditional variances) and their
 * labels, NUL-terminated one after another (nlab bytes). */
typedef struct hlm_ranef_part {
  int64_t nlev;
  double *val;
  char *lab;
  int64_t nlab, caplab;
} hlm_ranef_part;

/* Collective on comm.  This rank's shares (d->nterms of them) of what
 * hlm_fit_gather_ranef gathers, computed again at f's theta and beta
 * without gathering (the HDF5 results file writes them where they are):
 * rank 0 holds the global terms' levels, every rank its own clusters'
 * levels in cluster order.  Free *out with hlm_fit_ranef_parts_free. */
hlm_status hlm_fit_local_ranef(MPI_Comm comm, const hlm_design *d,
                               const hlm_fit *f, hlm_ranef_part **out);
/* Local.  NULL-safe; sets *parts to NULL. */
void hlm_fit_ranef_parts_free(hlm_ranef_part **parts, int nterms);

/* Local.  The optimizer that fitted f, as the summary names it. */
const char *hlm_fit_optimizer_name(const hlm_fit *f);

/* Local.  A copy of s (NULL stays NULL). */
hlm_status hlm_fit_strdup(const char *s, char **out);

#endif /* HLM_FIT_INTERNAL_H */
