/* infer_internal.h: what inference needs from the estimation engine, and
 * the numerical derivatives of lmerTest (numDeriv's Richardson
 * extrapolation).  Shared by infer.c and infer_varpar.c.  Not installed.
 *
 * The variance parameters are varpar = (theta, sigma): lme4's theta
 * followed by the residual standard deviation, as lmerTest orders them. */
#ifndef HLM_INFER_INTERNAL_H
#define HLM_INFER_INTERNAL_H

#include <mpi.h>

#include "hlm/design.h"
#include "hlm/infer.h"
#include "mme_internal.h"

typedef struct hlm_varpar {
  hlm_mme *m;   /* owned unless borrowed */
  int borrowed; /* m belongs to a fit (hlm_varpar_create_from) */
  int reml;
  int known_sd; /* sigma = 1, not a parameter: vp holds theta only */
  int ntheta, p;
  double *beta, *RX; /* work: p, p x p */
} hlm_varpar;

/* Collective on comm.  Form the cross-products of design d (not owned: it
 * must outlive the object).  *out is owned by the caller. */
hlm_status hlm_varpar_create(MPI_Comm comm, const hlm_design *d, int reml,
                             hlm_varpar **out);
void hlm_varpar_destroy(hlm_varpar **v);

/* Local.  As hlm_varpar_create on the equations m (of design d) that a fit
 * already formed (hlm_fit_mme): no second pass over the rows.  m is
 * borrowed and must outlive the object. */
hlm_status hlm_varpar_create_from(hlm_mme *m, const hlm_design *d, int reml,
                                  hlm_varpar **out);

/* Collective.  lmerTest's devfun_vp: the unprofiled deviance at
 * vp = (theta, sigma), s2 = sigma^2,
 *   ML:   ldL2 + pwrss / s2 + n log(2 pi s2)
 *   REML: the ML value + log det S - p log(2 pi s2),
 * with pwrss, ldL2 and S at beta-hat(theta).  Same value on every rank. */
hlm_status hlm_varpar_deviance(hlm_varpar *v, const double *vp, double *dev);

/* Collective.  lmerTest's get_covbeta: Var(beta-hat) = sigma^2 S(theta)^-1
 * (p x p, column-major) at vp = (theta, sigma). */
hlm_status hlm_varpar_vcov(hlm_varpar *v, const double *vp, double *vcov);

/* As hlm_varpar_vcov, and *pwrss := the penalized residual sum of squares
 * at vp's theta.  The MME stay evaluated at that theta (for
 * hlm_mme_gradient_s2). */
hlm_status hlm_varpar_vcov_pwrss(hlm_varpar *v, const double *vp, double *vcov,
                                 double *pwrss);

/* Collective.  Satterthwaite's derivatives at vp from the analytic
 * gradient (infer_deriv.c): H (n x n) the Hessian of the deviance and J
 * (p*p x n) the Jacobian of Var(beta-hat), laid out as numDeriv's.  *ok is
 * 0 (H and J unset) where the gradient is not available; then use
 * hlm_numderiv_hessian and hlm_numderiv_jacobian. */
hlm_status hlm_varpar_derivs(hlm_varpar *v, const double *vp, double *H,
                             double *J, int *ok);

/* A function of n variables with m values; collective when the function
 * is.  numDeriv's Richardson derivatives call it with the same x on every
 * rank, in the same order. */
typedef hlm_status (*hlm_numderiv_fn)(void *ctx, const double *x, double *f);

/* numDeriv::hessian (genD, d = 0.1, eps = 1e-4, r = 4, v = 2) of a scalar
 * function at x: H (n x n, column-major, symmetric). */
hlm_status hlm_numderiv_hessian(hlm_numderiv_fn fn, void *ctx, int n,
                                const double *x, double *H);

/* numDeriv::jacobian (d = 1e-4, eps = 1e-4, r = 4, v = 2) of an m-valued
 * function at x: J (m x n, column-major: column i is df/dx_i). */
hlm_status hlm_numderiv_jacobian(hlm_numderiv_fn fn, void *ctx, int n, int m,
                                 const double *x, double *J);

/* The results of hlm_infer_run (infer.c), printed by infer_output.c. */
struct hlm_infer {
  hlm_df_method df;
  double design_df; /* HLM_DF_DESIGN: the survey's PSUs minus strata */
  int robust;       /* V is a survey's sandwich (survey.h) */
  double level;
  int p, nvp;
  int64_t nobs;
  double *beta; /* p */
  double *V;    /* p x p: Var(beta-hat) at the optimum */
  double *A;    /* nvp x nvp (Satterthwaite) */
  double *J;    /* p*p x nvp: dV/dvp_i in column i (Satterthwaite) */
  int neg_eig, zero_eig;
  hlm_infer_test *fixed; /* p */
  int ncon;
  hlm_infer_test *con;
  char **con_name;
  double *conL; /* ncon x p */
  double sigma; /* the fit's residual SD (Sum Sq of the F tests) */
  int nanova;
  hlm_infer_ftest *anova; /* nanova */
  char **anova_term;      /* nanova labels */
  double **anova_L;       /* nanova hypothesis matrices */
  const char *anova_type; /* "III", "I" or NULL */
  char *anova_note;       /* why there is no table, or NULL */
};

/* Collective on comm (infer_anova.c).  The F tests of the fixed terms of
 * o->formula into inf (whose V, A and J are set); a model whose coding we
 * do not build hypotheses for gets a note, not an error. */
hlm_status hlm_infer_anova_run(MPI_Comm comm, const hlm_design *d,
                               const hlm_infer_options *o, hlm_infer *inf);
void hlm_infer_anova_free(hlm_infer *inf);

#endif /* HLM_INFER_INTERNAL_H */
