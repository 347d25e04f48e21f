/*
 * hlm/fit.h: REML and ML fits of a linear mixed model, as lme4's lmer.
 *
 * hlm_fit_run() minimizes lme4's profiled criterion (REML criterion or
 * deviance) over theta, the entries of the relative covariance factors of
 * the random terms, with NLopt's bounded BOBYQA driven by rank 0: for every
 * evaluation rank 0 broadcasts theta, every rank absorbs its own clusters,
 * and the reduced fixed-effect system is summed over ranks
 * (docs/estimation.md).  The result holds what lme4's summary() and
 * ranef(condVar = TRUE) report; docs/results-json.md describes the JSON
 * file.
 *
 * Scalars, fixed effects and variance components are the same on every
 * rank.  Conditional modes (ranef) are gathered to rank 0 only.
 */
#ifndef HLM_FIT_H
#define HLM_FIT_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "hlm/design.h"
#include "hlm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hlm_fit hlm_fit;

typedef struct hlm_fit_options {
  int reml;             /* 1: REML (default); 0: ML */
  double ftol_abs;      /* NLopt absolute tolerance on the criterion: 0 (off) */
  double ftol_rel;      /* NLopt relative tolerance on the criterion: 0 */
  double xtol_abs;      /* NLopt absolute tolerance on each theta: 1e-10 */
  int maxeval;          /* most criterion evaluations: 100000 */
  const double *theta0; /* start (ntheta values); NULL: lme4's default,
                           1 on the diagonals, 0 elsewhere */
  /* Checkpoints (docs/checkpoints.md): the evaluations so far, written
   * atomically by rank 0 every checkpoint_interval evaluations (0: only
   * when stopping), and when any rank catches SIGTERM or SIGUSR1 or after
   * stop_after evaluations in all (0: never), when the fit then stops with
   * HLM_STOPPED.  resume: replay checkpoint's evaluations first. */
  const char *checkpoint; /* the file, or NULL: none (the default) */
  int checkpoint_interval;
  int stop_after;
  int resume;
  /* The optimizer of theta (issue 7): HLM_FIT_BOBYQA (the default; the
   * environment variable HLM_OPTIMIZER=newton changes the default, a
   * testing knob) or HLM_FIT_NEWTON, projected quasi-Newton with the
   * analytic gradient (docs/estimation.md). */
  int optimizer;
} hlm_fit_options;

enum { HLM_FIT_BOBYQA = 0, HLM_FIT_NEWTON = 1 };

/* Local.  The defaults above. */
void hlm_fit_options_default(hlm_fit_options *o);

/* Collective on comm (the design's communicator).  Fit the model.  o may be
 * NULL (defaults).  On success *out is owned by the caller
 * (hlm_fit_destroy).  Errors are agreed on all ranks.  Reaching maxeval is
 * not an error: hlm_fit_converged() is then 0 and the summary warns. */
hlm_status hlm_fit_run(MPI_Comm comm, const hlm_design *d,
                       const hlm_fit_options *o, hlm_fit **out);

/* Local.  Free a fit (NULL-safe; sets *f to NULL). */
void hlm_fit_destroy(hlm_fit **f);

/* Collective on comm.  lme4's profiled criterion at theta (ntheta values):
 * the REML criterion when reml != 0, else the deviance (-2 logLik);
 * the same value on every rank. */
hlm_status hlm_fit_criterion_at(MPI_Comm comm, const hlm_design *d, int reml,
                                const double *theta, double *value);

/* ---- Local accessors; the same on every rank ---------------------------- */

int hlm_fit_reml(const hlm_fit *f);
/* REML criterion (REML fits) or deviance (ML fits) at the optimum. */
double hlm_fit_criterion(const hlm_fit *f);
double hlm_fit_loglik(const hlm_fit *f);
double hlm_fit_aic(const hlm_fit *f);
double hlm_fit_bic(const hlm_fit *f);
/* Residual standard deviation. */
double hlm_fit_sigma(const hlm_fit *f);
int64_t hlm_fit_nobs(const hlm_fit *f);
/* Parameters counted by AIC and BIC: p + ntheta + 1. */
int hlm_fit_npar(const hlm_fit *f);
int hlm_fit_singular(const hlm_fit *f);
int hlm_fit_converged(const hlm_fit *f);
int hlm_fit_evaluations(const hlm_fit *f);
/* The largest entry of the projected gradient at the quasi-Newton
 * optimizer's last iterate; NaN after BOBYQA (no gradient). */
double hlm_fit_last_gradient(const hlm_fit *f);
double hlm_fit_seconds(const hlm_fit *f);
int hlm_fit_ranks(const hlm_fit *f);

int hlm_fit_ntheta(const hlm_fit *f);
const double *hlm_fit_theta(const hlm_fit *f);

int hlm_fit_nfixed(const hlm_fit *f);
const char *hlm_fit_fixed_name(const hlm_fit *f, int j);
const double *hlm_fit_fixef(const hlm_fit *f);
const double *hlm_fit_fixef_se(const hlm_fit *f);
/* p x p covariance of the fixed effects, sigma^2 S^-1 (column-major). */
const double *hlm_fit_vcov(const hlm_fit *f);

/* One row of lme4's as.data.frame(VarCorr(fit)): a variance (var2 NULL),
 * a covariance (sdcor is then the correlation), or the residual (grp
 * "Residual", var1 and var2 NULL).  Group names repeated across terms are
 * made unique as R does ("Subject", "Subject.1"). */
typedef struct hlm_varcorr {
  const char *grp;
  const char *var1;
  const char *var2;
  double vcov;
  double sdcor;
} hlm_varcorr;
int hlm_fit_nvarcorr(const hlm_fit *f);
const hlm_varcorr *hlm_fit_varcorr(const hlm_fit *f, int i);

/* Grouping factors (lme4's ngrps): names and numbers of levels. */
int hlm_fit_ngroups(const hlm_fit *f);
const char *hlm_fit_group_name(const hlm_fit *f, int g);
int64_t hlm_fit_group_nlevels(const hlm_fit *f, int g);

/* ---- Conditional modes: rank 0 only (zero levels elsewhere) -------------- */

/* Random term r (lme4's order): its grouping factor ("firm:sector"), its
 * effect columns, and for each level (global cluster order, then order of
 * appearance) the label ("F1:S1"), the conditional modes and the
 * conditional variances Var(u | y, beta-hat), level-major:
 * values[l * ncols + k]. */
typedef struct hlm_ranef {
  const char *group;
  int ncols;
  const char *const *colname;
  int64_t nlevels;
  const char *const *label;
  const double *values;
  const double *condvar;
} hlm_ranef;
int hlm_fit_nterms(const hlm_fit *f);
hlm_status hlm_fit_ranef(const hlm_fit *f, int r, hlm_ranef *out);

/* ---- Output (rank 0) ----------------------------------------------------- */

/* Local (call on rank 0).  A summary laid out like lme4's summary(). */
hlm_status hlm_fit_print_summary(const hlm_fit *f, FILE *out);

/* Local (call on rank 0).  The machine-readable summary of
 * docs/results-json.md written to path.  HLM_ERR_IO when it cannot be
 * written. */
hlm_status hlm_fit_write_json(const hlm_fit *f, const char *path);

/* Local.  The same summary as a new jansson object (NULL when out of
 * memory), for writers that add to it before writing it once. */
struct json_t *hlm_fit_json(const hlm_fit *f);

#ifdef __cplusplus
}
#endif
#endif /* HLM_FIT_H */
