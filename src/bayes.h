/* bayes.h: the Bayesian fit, a distributed blocked Gibbs sampler on the
 * REML engine's absorbed system (docs/bayes.md, issue 11).  Not installed.
 *
 *   bayes.c          settings and priors from the config, chains, draws
 *   bayes_prior.c    the prior of the fixed effects, N(b, B)
 *   bayes_draw.c     one Gibbs iteration (global block, clusters, variances)
 *   bayes_diag.c     split R-hat, effective sample size, quantiles
 *   bayes_output.c   printed and JSON summaries
 *   bayes_ranef.c    posterior means and SDs of the random effects
 *   bayes_iw.c       the inverse-Wishart prior of correlated effects
 *   bayes_iw_scale.c its scale matrix from [bayes.prior] wishart_scale
 *   bayes_px.c       parameter expansion of half-t group SDs */
#ifndef HLM_BAYES_H
#define HLM_BAYES_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "hlm/config.h"
#include "hlm/fit.h"
#include "hlm/infer.h"
#include "mme_internal.h"
#include "rng.h"

/* Most correlated effects per term the sampler takes. */
#define HLM_BAYES_KMAX 16

/* beta ~ N(mean, B) with precision prec = B^-1 (p x p, column-major;
 * zero rows and columns for flat effects), var the diagonal of B (0:
 * flat), full: B given in full (beta_covariance); inverse-gamma (shape,
 * scale) on each variance component and on the residual variance. */
typedef struct hlm_bayes_prior {
  double *mean, *var; /* p each */
  double *prec;       /* p x p */
  int full;
  double vshape, vscale, rshape, rscale;
  /* group SDs: 0 inverse-gamma(vshape, vscale) on each variance, else
   * half-t(sd_df, sd_scale) on each SD (half-Cauchy: sd_df = 1) */
  int sd_family;
  double sd_scale, sd_df;
  /* half-t SDs drawn by parameter expansion (bayes_px.c), else by the
   * auxiliary inverse-gamma mixture */
  int px;
  /* terms of k > 1 correlated effects: Sigma ~ IW(iw_df, Psi), Psi =
   * iw_scale I, or iw_psi (iw_k x iw_k) when given as a matrix; iw_df 0:
   * k + 1 (bayes_iw.c, bayes_iw_scale.c) */
  double iw_df, iw_scale;
  double *iw_psi;
  int iw_k;
} hlm_bayes_prior;

/* Local.  The prior from cfg's [bayes.prior] against design d
 * (bayes_prior.c); *flat: no fixed effect has a proper prior. */
hlm_status hlm_bayes_read_prior(const hlm_config *cfg, const hlm_design *d,
                                hlm_bayes_prior *pr, int *flat);
void hlm_bayes_free_prior(hlm_bayes_prior *pr);

/* Local.  The degrees of freedom of the inverse-Wishart prior of a term
 * of k effects (bayes_iw.c). */
double hlm_bayes_wishart_df(const hlm_bayes_prior *pr, int k);
/* Local.  Refuse wishart_df <= k - 1, a matrix wishart_scale of the
 * wrong size, and terms of k > HLM_BAYES_KMAX correlated effects. */
hlm_status hlm_bayes_check_wishart(const hlm_config *cfg, const hlm_design *d,
                                   const hlm_bayes_prior *pr);
/* Local.  The scale of the inverse-Wishart prior from wishart_scale
 * (bayes_iw_scale.c): a number, or a symmetric positive-definite matrix
 * (refused otherwise, naming the file and line). */
hlm_status hlm_bayes_read_wishart_scale(const hlm_config *cfg,
                                        hlm_bayes_prior *pr);
/* Local.  A matrix scale must be k x k for every term of k > 1 effects. */
hlm_status hlm_bayes_check_wishart_scale(const hlm_config *cfg,
                                         const hlm_design *d,
                                         const hlm_bayes_prior *pr);
/* Local.  Psi (k x k) of the prior. */
void hlm_bayes_wishart_psi(const hlm_bayes_prior *pr, int k, double *Psi);
/* Local.  Sigma (k x k) ~ IW(nu, Psi) by Bartlett's decomposition from
 * r; Psi is overwritten by its Cholesky factor. */
hlm_status hlm_bayes_draw_iw(hlm_rng *r, int k, double nu, double *Psi,
                             double *Sigma);
/* Local.  theta (k (k + 1) / 2, lme4's order) := chol(Sigma) / sigma. */
hlm_status hlm_bayes_iw_theta(int k, const double *Sigma, double sigma2,
                              double *theta);

/* The sampler's state and work space (bayes_draw.c). */
typedef struct hlm_gibbs {
  MPI_Comm comm;
  hlm_mme *m;
  const hlm_design *d;
  const hlm_bayes_prior *prior;
  uint64_t seed;
  int p, G, nt;
  int fixed;     /* variances held */
  int known_sd;  /* sigma2 = 1 */
  double *theta; /* ntheta: sqrt(tau2 / sigma2), or chol(Sigma) / sigma */
  double *tau2;  /* nt: variance components of scalar terms */
  double *sig;   /* k x k covariance Sigma of each term at koff[t] */
  int *koff;     /* nt: offsets into sig (sum of k^2) */
  int *soff;     /* nt: first sum of u_a u_b (a >= b) of each term in acc */
  int ns;        /* sums of u_a u_b over the terms: sum of k (k + 1) / 2 */
  double *aux;   /* nt: half-t auxiliaries a_r (bayes_draw.c) */
  /* parameter expansion (bayes_px.c): u = xi eta, tau2 = xi^2 seta2 */
  int px;         /* on: scalar terms' SDs half-t, [bayes] expansion */
  int npx;        /* its sums in acc after the fails: nt (nt + 1) / 2 + nt */
  double *xi;     /* nt */
  double *seta2;  /* nt */
  double *crow;   /* nt: (Z_t u_t)_i of the current row */
  double *pxwork; /* nt (nt + 2) */
  int *pxt, npxt; /* the scalar terms, expanded together */
  double bug;     /* test hook HLM_TEST_PLANT_BUG: added to the shape of
                     each inverse-gamma variance draw (0 unless set) */
  double sigma2;
  double *S, *g, *z, *ug; /* G x G, G, max(G, qmax), qg */
  double *ucur;           /* every local effect, cluster by cluster */
  double *acc; /* ns + 2 + npx double-double sums: sum u_a u_b by term, RSS,
                  fails, then (px) sum c_s c_t, sum c_t e */
  /* running sums of every local effect over the kept draws (bayes_ranef.c) */
  double *rsum, *rsq; /* total local q, cluster by cluster */
  int64_t *roff;      /* ncl: offset of each cluster in rsum */
  double *gsum, *gsq; /* qg: global effects */
  int64_t nsum;
} hlm_gibbs;

/* Collective.  Allocate the state on mme m (not owned). */
hlm_status hlm_gibbs_create(MPI_Comm comm, hlm_mme *m,
                            const hlm_bayes_prior *prior, uint64_t seed,
                            hlm_gibbs **out);
void hlm_gibbs_destroy(hlm_gibbs **gb);

/* Collective.  One iteration of chain `chain`: draw (v_global, beta) from
 * its full conditional, then every local cluster's effects, then (unless
 * gb->fixed) the variances.  Leaves beta - b0 in gb->g[qg..]. */
hlm_status hlm_gibbs_step(hlm_gibbs *gb, uint64_t chain, uint64_t iter);

/* Local.  theta from tau2 (sig) and sigma2. */
hlm_status hlm_gibbs_set_theta(hlm_gibbs *gb);

/* ---- parameter expansion (bayes_px.c) ------------------------------------ */

/* Local.  Work space of the expansion when gb->prior asks for it. */
hlm_status hlm_bayes_px_create(hlm_gibbs *gb);
void hlm_bayes_px_destroy(hlm_gibbs *gb);
/* Local.  xi := sqrt(tau2), seta2 := 1 at the start of a chain. */
void hlm_bayes_px_start(hlm_gibbs *gb);
/* Local.  Add row i's products (gb->crow, residual e) to the sums. */
void hlm_bayes_px_add_row(hlm_gibbs *gb, double e);
/* Replicated.  From the reduced sums and the current sigma2: the xi of
 * every scalar term jointly, then each seta2 and tau2; the effects in
 * gb->ucur and gb->ug rescaled to u = xi eta. */
hlm_status hlm_bayes_px_draw(hlm_gibbs *gb, hlm_rng *r);

/* Local.  Add the current effects to the running sums. */
void hlm_gibbs_accumulate(hlm_gibbs *gb);

/* ---- diagnostics (bayes_diag.c) ------------------------------------------ */

/* One parameter's summary over nchain chains of n draws each. */
typedef struct hlm_bayes_stat {
  double mean, sd, q025, q50, q975, rhat, ess, mcse;
} hlm_bayes_stat;

/* Local.  x[c * n + t]: draw t of chain c.  Split R-hat and the bulk
 * effective sample size as Stan (BDA3 section 11.4-11.5, with Geyer's
 * initial monotone sequence) on the 2 nchain half chains; quantiles of
 * the pooled draws (R's type 7).  n >= 4. */
hlm_status hlm_bayes_stats(const double *x, int nchain, int64_t n,
                           hlm_bayes_stat *st);

/* ---- the whole fit (bayes.c) --------------------------------------------- */

typedef struct hlm_bayes {
  int chains;
  int64_t iterations, warmup, thin, nkeep; /* nkeep: kept draws per chain */
  uint64_t seed;
  int fixed, known_sd, flat;
  int p, nt, npar;
  int nvc, ncor;        /* effects' variances (all terms), correlations */
  char **name;          /* npar parameter names */
  double *draws;        /* npar x (chains * nkeep), parameter-major */
  hlm_bayes_stat *stat; /* npar */
  /* held (fixed_variances) under vc_name: nvc variances, the residual
   * variance, ncor covariances ("cov(Subject (Intercept),Days)") */
  double *held;   /* nvc + 1 + ncor */
  char **vc_name; /* nvc + 1 + ncor */
  hlm_bayes_prior prior;
  double seconds;
  /* random effects (rank 0): labels, posterior mean and SD */
  int64_t nre;
  char **re_group, **re_effect, **re_label;
  double *re_mean, *re_sd;
} hlm_bayes;

/* Collective.  The Bayesian fit of design d from cfg's [bayes] settings,
 * started from (and, with fixed_variances, held at) the REML fit f.  L:
 * ncon x p contrast rows named con_name. */
hlm_status hlm_bayes_run(MPI_Comm comm, const hlm_config *cfg,
                         const hlm_design *d, const hlm_fit *f, int ncon,
                         const char *const *con_name, const double *L,
                         hlm_bayes **out);
void hlm_bayes_destroy(hlm_bayes **b);

/* Local.  Settings that do not apply to, or are not built for, a Bayesian
 * fit (method = "bayes"); HLM_OK for other methods. */
hlm_status hlm_bayes_check_config(const hlm_config *cfg);

/* Local.  The model and the [bayes] settings and priors, checked against
 * design d before the REML fit the sampler starts from: scalar random
 * terms only, prior names that are fixed effects, enough draws. */
hlm_status hlm_bayes_check_design(const hlm_config *cfg, const hlm_design *d);

/* Collective.  The whole Bayesian fit after the REML fit f: sample, print
 * the summary to out (rank 0), write [output] summary, draws and results
 * (config_text: the config file's text, for the results file); errors
 * agreed on every rank. */
hlm_status hlm_bayes_estimate(MPI_Comm comm, const hlm_config *cfg,
                              const char *config_text, const hlm_design *d,
                              const hlm_fit *f, const hlm_infer_options *io,
                              const double *L, FILE *out);

/* Rank 0.  The HDF5 results file cfg->results (bayes_h5.c; docs/bayes.md),
 * written to a temporary name and renamed. */
hlm_status hlm_bayes_write_h5(const hlm_bayes *b, const hlm_config *cfg,
                              const char *config_text);

/* Rank 0.  Every kept draw as CSV (chain, draw, then the parameters). */
hlm_status hlm_bayes_write_draws(const hlm_bayes *b, const char *path);

/* Rank 0.  Printed summary (bayes_output.c). */
void hlm_bayes_print(const hlm_bayes *b, FILE *out);
/* Rank 0.  JSON summary to path (docs/bayes.md). */
hlm_status hlm_bayes_write_json(const hlm_bayes *b, const char *path);

/* Collective.  Posterior means and SDs of every random effect, gathered
 * to rank 0 into b (bayes_ranef.c). */
hlm_status hlm_bayes_gather_ranef(MPI_Comm comm, const hlm_gibbs *gb,
                                  hlm_bayes *b);

#endif /* HLM_BAYES_H */
