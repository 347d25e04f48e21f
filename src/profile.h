/* profile.h: profile-likelihood confidence intervals, as lme4's
 * confint(fit, method = "profile") (docs/inference.md, "Profile
 * intervals").  Not installed.
 *
 * The parameters are lme4's: for each random term (lme4's order) the SDs
 * and correlations of its effects in the order of the lower triangle by
 * columns (.sig01, .sig02, ...), then the residual SD (.sigma), then the
 * fixed effects.  As lme4's profile(), a REML fit is refitted by ML first
 * and the ML deviance is profiled: zeta(x) = sign(x - x_hat)
 * sqrt(dev(x) - dev_min), dev(x) the deviance minimised over the other
 * parameters with x fixed.  The interval is where |zeta| <= qnorm((1 +
 * level) / 2); an end that would pass a bound (an SD of 0, a correlation of
 * -1 or 1) is the bound. */
#ifndef HLM_PROFILE_H
#define HLM_PROFILE_H

#include <mpi.h>
#include <stdio.h>

#include "hlm/design.h"
#include "hlm/error.h"
#include "hlm/fit.h"

typedef struct hlm_profile hlm_profile;

/* One parameter's interval. */
typedef struct hlm_profile_par {
  char name[16];     /* ".sig01", ".sigma", or the fixed effect's name */
  char desc[256];    /* lme4's long name: "sd_(Intercept)|Subject",
                        "cor_Days.(Intercept)|Subject", "sigma", or "" */
  const char *fixed; /* a fixed effect's name (owned by the design) */
  double estimate;   /* at the ML optimum */
  double lower, upper;
  int lower_bound, upper_bound; /* 1: the end is a bound of the parameter */
  int points;                   /* constrained refits made */
  int evaluations;              /* criterion evaluations they took */
} hlm_profile_par;

/* Collective on comm.  Profile every parameter of the fit f of design d at
 * the confidence level `level`; fo: the fit's options (the ML refit of a
 * REML fit uses its optimizer settings, without checkpoints).  Errors are
 * agreed on every rank; known residual SDs are HLM_ERR_NOT_IMPLEMENTED.
 * *out is owned by the caller and the same on every rank. */
hlm_status hlm_profile_run(MPI_Comm comm, const hlm_design *d, const hlm_fit *f,
                           const hlm_fit_options *fo, double level,
                           hlm_profile **out);
void hlm_profile_destroy(hlm_profile **p);

int hlm_profile_count(const hlm_profile *p);
const hlm_profile_par *hlm_profile_get(const hlm_profile *p, int i);
double hlm_profile_level(const hlm_profile *p);
double hlm_profile_ml_deviance(const hlm_profile *p);

/* Local (rank 0).  The table (like lme4's confint output) to out, and,
 * when json_path is not NULL, the "profile" object added to that JSON
 * summary (docs/results-json.md). */
hlm_status hlm_profile_output(const hlm_profile *p, FILE *out,
                              const char *json_path);

#endif /* HLM_PROFILE_H */
