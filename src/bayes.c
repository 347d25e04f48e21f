/* bayes.c: the Bayesian fit (docs/bayes.md): settings and priors from
 * [bayes] and [bayes.prior], the chains, the kept draws and their
 * summaries.  Every rank runs every chain (the sampler is distributed
 * over the clusters, not over the chains) and holds the same draws. */
#include "bayes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "fit_internal.h"
#include "hlm/comm.h"
#include "hlm/runlog.h"
#include "mme_tree.h"
#include "rng.h"

#define STREAM_START (UINT64_MAX - 1)

static hlm_status read_settings(const hlm_config *cfg, const hlm_design *d,
                                hlm_bayes *b)
{
  hlm_status status = HLM_OK;
  HLM_TRY(hlm_to_int(cfg->bayes_chains, "bayes.chains", &b->chains));
  b->iterations = cfg->bayes_iterations;
  b->warmup = cfg->bayes_warmup;
  b->thin = cfg->bayes_thin;
  b->seed = (uint64_t)cfg->bayes_seed;
  b->fixed = cfg->bayes_fixed_variances;
  b->known_sd = d->known_sd;
  HLM_CHECK(b->iterations > b->warmup, HLM_ERR_CONFIG,
            "%s: [bayes] iterations (%lld) must be larger than warmup (%lld): "
            "iterations count the warm-up draws too",
            cfg->path, (long long)b->iterations, (long long)b->warmup);
  b->nkeep = (b->iterations - b->warmup + b->thin - 1) / b->thin;
  HLM_CHECK(b->nkeep >= 4, HLM_ERR_CONFIG,
            "%s: [bayes] keeps %lld draws per chain ((iterations - warmup) / "
            "thin); the diagnostics need at least 4",
            cfg->path, (long long)b->nkeep);
  HLM_TRY(hlm_bayes_read_prior(cfg, d, &b->prior, &b->flat));
  HLM_TRY(hlm_bayes_check_wishart(cfg, d, &b->prior));
cleanup:
  return status;
}

/* *dst := "<pre>(<a>)" ("var(tray (Intercept))"), or a when pre is NULL;
 * "<a> <c>" when c is given. */
static hlm_status set_name(char **dst, const char *pre, const char *a,
                           const char *c)
{
  char buf[512];
  if (c != NULL) {
    snprintf(buf, sizeof buf, "%s %s", a, c);
  } else if (pre != NULL) {
    snprintf(buf, sizeof buf, "%s(%s)", pre, a);
  } else {
    snprintf(buf, sizeof buf, "%s", a);
  }
  return hlm_fit_strdup(buf, dst);
}

/* "<pre>(<group> <effect a>,<effect b>)" for the pair (a, b) of term rt. */
static hlm_status pair_name(char **dst, const char *pre, const hlm_reterm *rt,
                            int a, int e)
{
  char buf[512];
  snprintf(buf, sizeof buf, "%s(%s %s,%s)", pre, rt->group, rt->mm.name[a],
           rt->mm.name[e]);
  return hlm_fit_strdup(buf, dst);
}

/* vc_name: the variance of every effect of every term, "Residual", then
 * the covariance of every pair of correlated effects. */
static hlm_status name_components(const hlm_design *d, hlm_bayes *b)
{
  hlm_status status = HLM_OK;
  int nt = d->nterms, i = 0;
  b->nvc = 0;
  b->ncor = 0;
  for (int t = 0; t < nt; t++) {
    b->nvc += d->term[t].k;
    b->ncor += d->term[t].k * (d->term[t].k - 1) / 2;
  }
  HLM_ALLOC(b->vc_name, b->nvc + 1 + b->ncor);
  for (int t = 0; t < nt; t++) {
    for (int a = 0; a < d->term[t].k; a++) {
      HLM_TRY(set_name(&b->vc_name[i++], NULL, d->term[t].group,
                       d->term[t].mm.name[a]));
    }
  }
  HLM_TRY(hlm_fit_strdup("Residual", &b->vc_name[i++]));
  for (int t = 0; t < nt; t++) {
    for (int a = 0; a < d->term[t].k; a++) {
      for (int e = a + 1; e < d->term[t].k; e++) {
        HLM_TRY(pair_name(&b->vc_name[i++], "cov", &d->term[t], a, e));
      }
    }
  }
cleanup:
  return status;
}

/* Parameter names: fixed effects, (unless held) variances and SDs of the
 * effects and the residual and the correlations of correlated effects,
 * contrasts. */
static hlm_status name_parameters(const hlm_design *d, int ncon,
                                  const char *const *con_name, hlm_bayes *b)
{
  hlm_status status = HLM_OK;
  int nt = d->nterms, nres = b->known_sd ? 0 : 1, k = 0;
  b->p = d->p;
  b->nt = nt;
  HLM_TRY(name_components(d, b));
  int nvc = b->fixed ? 0 : 2 * (b->nvc + nres) + b->ncor;
  b->npar = d->p + nvc + ncon;
  HLM_ALLOC(b->name, b->npar);
  for (int j = 0; j < d->p; j++) {
    HLM_TRY(hlm_fit_strdup(hlm_design_fixed_name(d, j), &b->name[k++]));
  }
  for (int s = 0; s < 2 && !b->fixed; s++) {
    for (int t = 0; t < b->nvc + nres; t++) {
      HLM_TRY(set_name(&b->name[k++], s ? "sd" : "var", b->vc_name[t], NULL));
    }
  }
  for (int t = 0; t < nt && !b->fixed; t++) {
    for (int a = 0; a < d->term[t].k; a++) {
      for (int e = a + 1; e < d->term[t].k; e++) {
        HLM_TRY(pair_name(&b->name[k++], "cor", &d->term[t], a, e));
      }
    }
  }
  for (int c = 0; c < ncon; c++) {
    HLM_TRY(set_name(&b->name[k++], NULL, con_name[c], NULL));
  }
cleanup:
  return status;
}

/* Starting covariance of term t (k > 1): sigma2 L L' at the REML theta,
 * else its diagonal raised by 5% (away from a singular fit) and the
 * whole scaled by a factor up to e. */
static void start_covariance(const hlm_bayes *b, const hlm_fit *f, hlm_rng *r,
                             int t, double s2, hlm_gibbs *gb)
{
  const hlm_reterm *rt = &gb->d->term[t];
  int k = rt->k;
  double L[HLM_BAYES_KMAX * HLM_BAYES_KMAX], *S = &gb->sig[gb->koff[t]];
  hlm_term_factor(rt, f->theta, L);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, k, k, k, s2, L, k, L, k,
              0.0, S, k);
  if (b->fixed) {
    return;
  }
  double fac = exp(2.0 * hlm_rng_uniform(r) - 1.0);
  for (int a = 0; a < k; a++) {
    S[a + k * a] += 0.05 * S[a + k * a] + 1e-3 * s2;
  }
  for (int a = 0; a < k * k; a++) {
    S[a] *= fac;
  }
}

/* Starting variances of chain c: the REML estimates (held with
 * fixed_variances), else spread around them by a factor up to e and
 * kept away from zero. */
static void start_values(const hlm_bayes *b, const hlm_fit *f, uint64_t chain,
                         hlm_gibbs *gb)
{
  double s2 = b->known_sd ? 1.0 : f->sigma * f->sigma;
  hlm_rng r;
  hlm_rng_init(&r, b->seed, chain, STREAM_START, 0);
  gb->sigma2 = s2;
  for (int t = 0; t < gb->nt; t++) {
    if (gb->d->term[t].k > 1) {
      start_covariance(b, f, &r, t, s2, gb);
      continue;
    }
    double th = f->theta[gb->d->term[t].theta_off];
    gb->tau2[t] = th * th * s2;
    if (!b->fixed) {
      double lo = 0.05 * s2;
      gb->tau2[t] = (gb->tau2[t] > lo ? gb->tau2[t] : lo) *
                    exp(2.0 * hlm_rng_uniform(&r) - 1.0);
    }
  }
  if (!b->fixed && !b->known_sd) {
    gb->sigma2 = s2 * exp(hlm_rng_uniform(&r) - 0.5);
  }
  hlm_bayes_px_start(gb);
}

/* v (nvc + 1 + ncor) := the current components in the order of
 * b->vc_name. */
static void current_components(const hlm_bayes *b, const hlm_gibbs *gb,
                               double *v)
{
  int i = 0, c = b->nvc + 1;
  for (int t = 0; t < b->nt; t++) {
    const hlm_reterm *rt = &gb->d->term[t];
    const double *S = &gb->sig[gb->koff[t]];
    for (int a = 0; a < rt->k; a++) {
      v[i++] = rt->k > 1 ? S[a + rt->k * a] : gb->tau2[t];
      for (int e = a + 1; e < rt->k; e++) {
        v[c++] = S[a + rt->k * e];
      }
    }
  }
  v[i] = gb->sigma2;
}

/* Record draw k of chain c. */
static void record(hlm_bayes *b, const hlm_gibbs *gb, int ncon, const double *L,
                   int c, int64_t k)
{
  int64_t tot = (int64_t)b->chains * b->nkeep, at = c * b->nkeep + k;
  int p = b->p, nres = b->known_sd ? 0 : 1, i = 0;
  const double *gbeta = gb->g + gb->m->qg, *b0 = gb->m->b0;
  double *var = b->held; /* work space: the current components */
  for (int j = 0; j < p; j++) {
    b->draws[i++ * tot + at] = b0[j] + gbeta[j];
  }
  current_components(b, gb, var);
  for (int s = 0; s < 2 && !b->fixed; s++) {
    for (int t = 0; t < b->nvc + nres; t++) {
      b->draws[i++ * tot + at] = s ? sqrt(var[t]) : var[t];
    }
  }
  for (int t = 0; t < b->nt && !b->fixed; t++) {
    const hlm_reterm *rt = &gb->d->term[t];
    const double *S = &gb->sig[gb->koff[t]];
    for (int a = 0; a < rt->k; a++) {
      for (int e = a + 1; e < rt->k; e++) {
        b->draws[i++ * tot + at] =
            S[a + rt->k * e] / sqrt(S[a + rt->k * a] * S[e + rt->k * e]);
      }
    }
  }
  for (int cc = 0; cc < ncon; cc++) {
    double x = 0.0;
    for (int j = 0; j < p; j++) {
      x += L[(size_t)cc * p + j] * (b0[j] + gbeta[j]);
    }
    b->draws[i++ * tot + at] = x;
  }
}

static hlm_status run_chain(MPI_Comm comm, hlm_bayes *b, const hlm_fit *f,
                            hlm_gibbs *gb, int ncon, const double *L, int c)
{
  hlm_status status = HLM_OK;
  double t0 = MPI_Wtime(), last = t0;
  int64_t k = 0;
  start_values(b, f, (uint64_t)c, gb);
  for (int64_t it = 0; it < b->iterations; it++) {
    HLM_TRY(hlm_gibbs_step(gb, (uint64_t)c, (uint64_t)it));
    if (it >= b->warmup && (it - b->warmup) % b->thin == 0) {
      record(b, gb, ncon, L, c, k++);
      hlm_gibbs_accumulate(gb);
    }
    double now = MPI_Wtime();
    if (now - last >= 10.0 || it + 1 == b->iterations) {
      hlm_log_event(comm, HLM_LOG_NORMAL,
                    "bayes: chain %d: %lld of %lld iterations (%s), %.0f "
                    "draws/s",
                    c + 1, (long long)(it + 1), (long long)b->iterations,
                    it < b->warmup ? "warm-up" : "sampling",
                    (double)(it + 1) / (now - t0 > 0 ? now - t0 : 1e-9));
      last = now;
    }
  }
cleanup:
  return status;
}

static hlm_status sample(MPI_Comm comm, const hlm_design *d, const hlm_fit *f,
                         int ncon, const double *L, hlm_bayes *b)
{
  hlm_status status = HLM_OK;
  hlm_mme *m = NULL;
  hlm_gibbs *gb = NULL;
  int64_t tot = (int64_t)b->chains * b->nkeep;
  double t0 = MPI_Wtime();
  HLM_TRY(hlm_mme_create(comm, d, &m));
  HLM_TRY(hlm_comm_agree(comm,
                         hlm_gibbs_create(comm, m, &b->prior, b->seed, &gb),
                         "the Gibbs sampler", NULL));
  gb->fixed = b->fixed;
  b->draws = malloc((size_t)b->npar * (size_t)tot * sizeof *b->draws);
  b->stat = calloc((size_t)b->npar, sizeof *b->stat);
  b->held = calloc((size_t)(b->nvc + 1 + b->ncor), sizeof *b->held);
  HLM_TRY(hlm_comm_agree(comm,
                         b->draws && b->stat && b->held
                             ? HLM_OK
                             : HLM_ERROR(HLM_ERR_NOMEM,
                                         "out of memory for %lld draws",
                                         (long long)tot * b->npar),
                         "the Gibbs sampler", NULL));
  for (int c = 0; c < b->chains; c++) {
    HLM_TRY(run_chain(comm, b, f, gb, ncon, L, c));
  }
  current_components(b, gb, b->held);
  b->seconds = MPI_Wtime() - t0;
  for (int i = 0; i < b->npar && status == HLM_OK; i++) {
    status =
        hlm_bayes_stats(&b->draws[i * tot], b->chains, b->nkeep, &b->stat[i]);
  }
  HLM_TRY(hlm_comm_agree(comm, status, "the posterior summaries", NULL));
  HLM_TRY(hlm_bayes_gather_ranef(comm, gb, b));
cleanup:
  hlm_gibbs_destroy(&gb);
  hlm_mme_destroy(&m);
  return status;
}

hlm_status hlm_bayes_run(MPI_Comm comm, const hlm_config *cfg,
                         const hlm_design *d, const hlm_fit *f, int ncon,
                         const char *const *con_name, const double *L,
                         hlm_bayes **out)
{
  hlm_status status = HLM_OK;
  hlm_bayes *b = NULL;
  *out = NULL;
  b = calloc(1, sizeof *b);
  status =
      b ? read_settings(cfg, d, b) : HLM_ERROR(HLM_ERR_NOMEM, "out of memory");
  if (status == HLM_OK) {
    status = name_parameters(d, ncon, con_name, b);
  }
  HLM_TRY(hlm_comm_agree(comm, status, "the Bayesian fit", NULL));
  HLM_TRY(sample(comm, d, f, ncon, L, b));
  *out = b;
  b = NULL;
cleanup:
  hlm_bayes_destroy(&b);
  return status;
}

static void free_strings(char **s, int64_t n)
{
  for (int64_t i = 0; s && i < n; i++) {
    free(s[i]);
  }
  free(s);
}

void hlm_bayes_destroy(hlm_bayes **bp)
{
  if (bp == NULL || *bp == NULL) {
    return;
  }
  hlm_bayes *b = *bp;
  free_strings(b->name, b->npar);
  free_strings(b->vc_name, b->nvc + 1 + b->ncor);
  free_strings(b->re_group, b->nre);
  free_strings(b->re_effect, b->nre);
  free_strings(b->re_label, b->nre);
  free(b->draws);
  free(b->stat);
  free(b->held);
  hlm_bayes_free_prior(&b->prior);
  free(b->re_mean);
  free(b->re_sd);
  free(b);
  *bp = NULL;
}

hlm_status hlm_bayes_check_config(const hlm_config *cfg)
{
  if (cfg->method != HLM_METHOD_BAYES) {
    if (cfg->draws) {
      return HLM_ERROR(HLM_ERR_CONFIG,
                       "%s: [output] draws is written by a Bayesian fit only "
                       "(method = \"bayes\")",
                       cfg->path);
    }
    return HLM_OK;
  }
  if (cfg->results && cfg->results_fitted) {
    return HLM_ERROR(HLM_ERR_NOT_IMPLEMENTED,
                     "%s: [output] fitted (fitted values and residuals per "
                     "row) with method = \"bayes\" is not implemented yet "
                     "(issue 11)",
                     cfg->path);
  }
  if (cfg->checkpoint) {
    return HLM_ERROR(HLM_ERR_NOT_IMPLEMENTED,
                     "%s: [checkpoint] with method = \"bayes\" is not "
                     "implemented yet (issue 11)",
                     cfg->path);
  }
  if (cfg->profile || cfg->nlrt > 0) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s: %s belongs to likelihood fits (method = \"reml\" or "
                     "\"ml\"), not to method = \"bayes\"",
                     cfg->path,
                     cfg->profile ? "[inference] profile" : "[[lrt]]");
  }
  return HLM_OK;
}

hlm_status hlm_bayes_check_design(const hlm_config *cfg, const hlm_design *d)
{
  hlm_bayes *b = calloc(1, sizeof *b);
  hlm_status status =
      b ? read_settings(cfg, d, b) : HLM_ERROR(HLM_ERR_NOMEM, "out of memory");
  hlm_bayes_destroy(&b);
  return status;
}

hlm_status hlm_bayes_estimate(MPI_Comm comm, const hlm_config *cfg,
                              const char *config_text, const hlm_design *d,
                              const hlm_fit *f, const hlm_infer_options *io,
                              const double *L, FILE *out)
{
  hlm_status status = HLM_OK;
  hlm_bayes *b = NULL;
  const char **names = NULL;
  int rank = 0, ncon = io->ncontrast;
  MPI_Comm_rank(comm, &rank);
  names = calloc((size_t)(ncon > 0 ? ncon : 1), sizeof *names);
  HLM_TRY(hlm_comm_agree(
      comm, names ? HLM_OK : HLM_ERROR(HLM_ERR_NOMEM, "out of memory"),
      "the Bayesian fit", NULL));
  for (int c = 0; c < ncon; c++) {
    names[c] = io->contrast[c].name;
  }
  HLM_TRY(hlm_comm_agree(
      comm,
      cfg->bayes_fixed_variances && !hlm_fit_converged(f)
          ? HLM_ERROR(HLM_ERR_NUMERIC,
                      "%s: [bayes] fixed_variances holds the variances at "
                      "the REML estimates, but the REML fit did not converge",
                      cfg->path)
          : HLM_OK,
      "the Bayesian fit", NULL));
  HLM_TRY(hlm_bayes_run(comm, cfg, d, f, ncon, names, L, &b));
  if (rank == 0) {
    hlm_bayes_print(b, out);
    if (cfg->summary_json) {
      status = hlm_bayes_write_json(b, cfg->summary_json);
    }
    if (status == HLM_OK && cfg->draws) {
      status = hlm_bayes_write_draws(b, cfg->draws);
    }
    if (status == HLM_OK && cfg->results) {
      status = hlm_bayes_write_h5(b, cfg, config_text);
    }
  }
  HLM_TRY(hlm_comm_agree(comm, status, "writing the results", NULL));
cleanup:
  free(names);
  hlm_bayes_destroy(&b);
  return status;
}
