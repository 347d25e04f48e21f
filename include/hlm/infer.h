/*
 * hlm/infer.h: inference on the fixed effects of a fit, as lmerTest does
 * it: t tests of each coefficient and of linear combinations L'beta
 * (contrasts) with Satterthwaite's denominator degrees of freedom, residual
 * df or the asymptotic normal; confidence intervals (docs/inference.md).
 *
 * Satterthwaite's df needs the asymptotic covariance A of the variance
 * parameters (theta, sigma): twice the (pseudo-)inverse of the Hessian of
 * the unprofiled REML (or ML) deviance at the optimum, and the gradient of
 * Var(beta-hat) in them.  Both are taken numerically, with numDeriv's
 * Richardson extrapolation as lmerTest takes them; every evaluation is
 * collective over the design's ranks.  Results are computed on every rank
 * and broadcast from rank 0, so they are identical everywhere.
 */
#ifndef HLM_INFER_H
#define HLM_INFER_H

#include <mpi.h>
#include <stdio.h>

#include "hlm/config.h"
#include "hlm/design.h"
#include "hlm/error.h"
#include "hlm/fit.h"
#include "hlm/formula.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hlm_infer hlm_infer;

/* One linear combination L'beta (L has nfixed entries). */
typedef struct hlm_infer_contrast {
  const char *name;
  const double *L;
} hlm_infer_contrast;

typedef struct hlm_infer_options {
  hlm_df_method df; /* HLM_DF_SATTERTHWAITE (default) */
  double level;     /* confidence level: 0.95 */
  int ncontrast;
  const hlm_infer_contrast *contrast; /* ncontrast; copied */
  const hlm_formula *formula;         /* the fit's formula (not owned, used only
                                         during hlm_infer_run), for the F tests of
                                         its fixed terms; NULL: no F tests */
  const double *vcov; /* a survey's robust Var(beta-hat) (p x p) replacing
                         the model-based one, or NULL; copied */
  double design_df;   /* df of the t tests when df is HLM_DF_DESIGN */
} hlm_infer_options;

/* One row of lmerTest's anova() table: the joint F test of a fixed term's
 * coefficients, L beta = 0 (docs/inference.md).  den_df is INFINITY for
 * asymptotic (chi-square / q) tests; every value is NAN when the term's
 * hypothesis has rank 0. */
typedef struct hlm_infer_ftest {
  const char *term; /* R's term label ("nitro:Variety") */
  double sum_sq, mean_sq, num_df, den_df, F, p;
  int nrow;        /* rows of the hypothesis matrix L */
  const double *L; /* nrow x nfixed, row-major */
} hlm_infer_ftest;

/* One t (or z) test: estimate, SE, df (INFINITY for z), t, two-sided p,
 * confidence interval. */
typedef struct hlm_infer_test {
  const char *name;
  double estimate, se, df, t, p, lower, upper;
} hlm_infer_test;

/* Local.  Defaults: Satterthwaite, 0.95, no contrasts. */
void hlm_infer_options_default(hlm_infer_options *o);

/* Local.  The options of cfg's [inference] and [[contrast]] for design d:
 * each contrast's coefficients by fixed-effect name become L.  A name
 * that is not a fixed effect of d is an HLM_ERR_CONFIG naming file:line:col,
 * the closest name and the valid ones.  *con and *L (ncontrast x nfixed)
 * are owned by the caller (free); o->contrast points into *con. */
hlm_status hlm_infer_options_from_config(const hlm_config *cfg,
                                         const hlm_design *d,
                                         hlm_infer_options *o,
                                         hlm_infer_contrast **con, double **L);

/* Collective on comm (the design's).  Tests of every fixed effect and of
 * every contrast of fit f (fitted on design d).  *out is owned by the
 * caller.  Errors are agreed on all ranks. */
hlm_status hlm_infer_run(MPI_Comm comm, const hlm_design *d, const hlm_fit *f,
                         const hlm_infer_options *o, hlm_infer **out);

/* Local.  NULL-safe; sets *inf to NULL. */
void hlm_infer_destroy(hlm_infer **inf);

/* Local accessors (the same on every rank). */
int hlm_infer_nfixed(const hlm_infer *inf);
const hlm_infer_test *hlm_infer_fixed(const hlm_infer *inf, int j);
int hlm_infer_ncontrast(const hlm_infer *inf);
const hlm_infer_test *hlm_infer_contrast_test(const hlm_infer *inf, int c);
/* The F tests of the fixed terms (0 without a formula or without terms).
 * The type of the hypotheses: "III" (lmerTest's default), or "I" where
 * lmerTest's type III falls back to it (at most one term); NULL with a
 * note (hlm_infer_anova_note) when the model's coding is one we do not
 * build type III hypotheses for. */
int hlm_infer_nanova(const hlm_infer *inf);
const hlm_infer_ftest *hlm_infer_anova(const hlm_infer *inf, int i);
const char *hlm_infer_anova_type(const hlm_infer *inf);
const char *hlm_infer_anova_note(const hlm_infer *inf);

/* The variance parameters (theta, sigma) and their asymptotic covariance A
 * ((ntheta + 1)^2, column-major); NULL unless df is Satterthwaite. */
int hlm_infer_nvarpar(const hlm_infer *inf);
const double *hlm_infer_varpar_cov(const hlm_infer *inf);

/* Local.  Satterthwaite's df of L'beta: 2 (L'VL)^2 / (g'Ag), g_i = L' dV/dvp_i
 * L; *var = L'VL.  HLM_ERR_INVALID_ARG unless df is Satterthwaite. */
hlm_status hlm_infer_satterthwaite(const hlm_infer *inf, const double *L,
                                   double *var, double *df);

/* Local (rank 0).  The tests, after the lme4-style summary. */
hlm_status hlm_infer_print(const hlm_infer *inf, FILE *out);

/* Local (rank 0).  The "inference" object of the JSON summary
 * (docs/results-json.md), a new jansson object. */
struct json_t *hlm_infer_json(const hlm_infer *inf);

#ifdef __cplusplus
}
#endif
#endif /* HLM_INFER_H */
