/* bayes_output.c: the printed and JSON summaries of a Bayesian fit
 * (docs/bayes.md). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "bayes.h"

static void print_prior(const hlm_bayes *b, FILE *out)
{
  const hlm_bayes_prior *pr = &b->prior;
  fprintf(out, "priors:\n");
  if (b->flat) {
    fprintf(out, "  fixed effects: flat (improper uniform)\n");
  } else {
    fprintf(out, "  fixed effects: %s\n",
            pr->full ? "multivariate normal, full covariance B "
                       "(beta_covariance; variances shown)"
                     : "independent normals");
    for (int j = 0; j < b->p; j++) {
      if (pr->var[j] > 0) {
        fprintf(out, "    %-24s N(%g, %g)\n", b->name[j], pr->mean[j],
                pr->var[j]);
      } else {
        fprintf(out, "    %-24s flat\n", b->name[j]);
      }
    }
  }
  if (b->fixed) {
    fprintf(out, "  variances: held at the REML estimates "
                 "([bayes] fixed_variances = true):\n");
    for (int t = 0; t < b->nvc + 1 + b->ncor; t++) {
      if (t != b->nvc || !b->known_sd) {
        fprintf(out, "    %-24s %.10g\n", b->vc_name[t], b->held[t]);
      }
    }
    return;
  }
  if (pr->sd_family == 0) {
    fprintf(out,
            "  each variance component: inverse-gamma(shape %g, scale %g)\n",
            pr->vshape, pr->vscale);
  } else {
    fprintf(out, "  each group SD: half-t(df %g, scale %g)%s\n", pr->sd_df,
            pr->sd_scale, pr->sd_family == 1 ? " (half-Cauchy)" : "");
    fprintf(out, "    drawn by %s ([bayes] expansion)\n",
            pr->px ? "parameter expansion (Gelman 2006)"
                   : "the auxiliary inverse-gamma mixture (Wand et al. 2011)");
  }
  if (b->ncor > 0 && pr->iw_psi != NULL) {
    char df[64] = "k + 1";
    if (pr->iw_df > 0) {
      snprintf(df, sizeof df, "%g", pr->iw_df);
    }
    fprintf(out,
            "  covariance of each term of k correlated effects: inverse-"
            "Wishart(df %s, scale Psi = the %d x %d matrix wishart_scale)\n",
            df, pr->iw_k, pr->iw_k);
  } else if (b->ncor > 0 && pr->iw_df > 0) {
    fprintf(out,
            "  covariance of each term of k correlated effects: inverse-"
            "Wishart(df %g, scale %g I)\n",
            pr->iw_df, pr->iw_scale);
  } else if (b->ncor > 0) {
    fprintf(out,
            "  covariance of each term of k correlated effects: inverse-"
            "Wishart(df k + 1, scale %g I)\n",
            pr->iw_scale);
  }
  if (b->known_sd) {
    fprintf(out, "  residual variance: known ([data] known_sd; sigma = 1)\n");
  } else {
    fprintf(out, "  residual variance: inverse-gamma(shape %g, scale %g)\n",
            pr->rshape, pr->rscale);
  }
}

void hlm_bayes_print(const hlm_bayes *b, FILE *out)
{
  fprintf(out,
          "Bayesian fit: blocked Gibbs sampler, %d chains of %lld iterations "
          "(%lld warm-up, thin %lld): %lld draws kept; seed %llu\n",
          b->chains, (long long)b->iterations, (long long)b->warmup,
          (long long)b->thin, (long long)(b->nkeep * b->chains),
          (unsigned long long)b->seed);
  print_prior(b, out);
  fprintf(out, "\nposterior:\n  %-28s %12s %11s %11s %11s %11s %7s %8s\n", "",
          "mean", "sd", "2.5%", "50%", "97.5%", "R-hat", "ESS");
  for (int i = 0; i < b->npar; i++) {
    const hlm_bayes_stat *s = &b->stat[i];
    fprintf(out, "  %-28s %12.6g %11.5g %11.5g %11.5g %11.5g %7.4f %8.0f\n",
            b->name[i], s->mean, s->sd, s->q025, s->q50, s->q975, s->rhat,
            s->ess);
  }
  fprintf(out,
          "R-hat: split R-hat (near 1 when the chains agree); ESS: bulk "
          "effective sample size\nsampling took %.2f s\n",
          b->seconds);
}

static json_t *num(double x)
{
  return isfinite(x) ? json_real(x) : json_null();
}

static json_t *json_prior(const hlm_bayes *b)
{
  const hlm_bayes_prior *pr = &b->prior;
  json_t *o = json_object(), *beta = json_object();
  for (int j = 0; j < b->p; j++) {
    json_t *e = json_object();
    json_object_set_new(e, "mean", num(pr->var[j] > 0 ? pr->mean[j] : NAN));
    json_object_set_new(e, "variance",
                        pr->var[j] > 0 ? json_real(pr->var[j])
                                       : json_string("flat"));
    json_object_set_new(beta, b->name[j], e);
  }
  json_object_set_new(o, "beta", beta);
  json_object_set_new(o, "beta_covariance", json_boolean(pr->full));
  if (pr->sd_family != 0) {
    json_object_set_new(
        o, "group_sd",
        json_string(pr->sd_family == 1 ? "half-cauchy" : "half-t"));
    json_object_set_new(o, "group_sd_scale", json_real(pr->sd_scale));
    json_object_set_new(o, "group_sd_df", json_real(pr->sd_df));
    json_object_set_new(o, "expansion",
                        json_string(pr->px ? "parameter" : "auxiliary"));
  }
  json_object_set_new(o, "variance_shape", json_real(pr->vshape));
  json_object_set_new(o, "variance_scale", json_real(pr->vscale));
  json_object_set_new(o, "residual_shape", json_real(pr->rshape));
  json_object_set_new(o, "residual_scale", json_real(pr->rscale));
  return o;
}

static json_t *json_params(const hlm_bayes *b)
{
  json_t *a = json_array();
  for (int i = 0; i < b->npar; i++) {
    const hlm_bayes_stat *s = &b->stat[i];
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(b->name[i]));
    json_object_set_new(e, "mean", num(s->mean));
    json_object_set_new(e, "sd", num(s->sd));
    json_object_set_new(e, "q2.5", num(s->q025));
    json_object_set_new(e, "q50", num(s->q50));
    json_object_set_new(e, "q97.5", num(s->q975));
    json_object_set_new(e, "rhat", num(s->rhat));
    json_object_set_new(e, "ess", num(s->ess));
    json_object_set_new(e, "mcse", num(s->mcse));
    json_array_append_new(a, e);
  }
  return a;
}

static json_t *json_ranef(const hlm_bayes *b)
{
  json_t *a = json_array();
  for (int64_t i = 0; i < b->nre; i++) {
    json_t *e = json_object();
    json_object_set_new(e, "group", json_string(b->re_group[i]));
    json_object_set_new(e, "effect", json_string(b->re_effect[i]));
    json_object_set_new(e, "level", json_string(b->re_label[i]));
    json_object_set_new(e, "mean", num(b->re_mean[i]));
    json_object_set_new(e, "sd", num(b->re_sd[i]));
    json_array_append_new(a, e);
  }
  return a;
}

static json_t *json_held(const hlm_bayes *b)
{
  json_t *o = json_object();
  for (int t = 0; t < b->nvc + 1 + b->ncor; t++) {
    if (t != b->nvc || !b->known_sd) {
      json_object_set_new(o, b->vc_name[t], json_real(b->held[t]));
    }
  }
  return o;
}

hlm_status hlm_bayes_write_json(const hlm_bayes *b, const char *path)
{
  hlm_status status = HLM_OK;
  json_t *o = json_object();
  json_object_set_new(o, "method", json_string("bayes"));
  json_object_set_new(o, "chains", json_integer(b->chains));
  json_object_set_new(o, "iterations", json_integer(b->iterations));
  json_object_set_new(o, "warmup", json_integer(b->warmup));
  json_object_set_new(o, "thin", json_integer(b->thin));
  json_object_set_new(o, "draws_per_chain", json_integer(b->nkeep));
  json_object_set_new(o, "seed", json_integer((json_int_t)b->seed));
  json_object_set_new(o, "fixed_variances", json_boolean(b->fixed));
  json_object_set_new(o, "prior", json_prior(b));
  if (b->fixed) {
    json_object_set_new(o, "held_variances", json_held(b));
  }
  json_object_set_new(o, "parameters", json_params(b));
  json_object_set_new(o, "random_effects", json_ranef(b));
  json_object_set_new(o, "seconds", json_real(b->seconds));
  HLM_CHECK(json_dump_file(o, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) ==
                0,
            HLM_ERR_IO, "cannot write the JSON summary to %s", path);
cleanup:
  json_decref(o);
  return status;
}

hlm_status hlm_bayes_write_draws(const hlm_bayes *b, const char *path)
{
  hlm_status status = HLM_OK;
  int64_t tot = (int64_t)b->chains * b->nkeep;
  FILE *f = fopen(path, "w");
  HLM_CHECK(f != NULL, HLM_ERR_IO, "cannot write the draws to %s", path);
  fprintf(f, "chain,draw");
  for (int i = 0; i < b->npar; i++) {
    fprintf(f, ",\"%s\"", b->name[i]);
  }
  fprintf(f, "\n");
  for (int64_t at = 0; at < tot; at++) {
    fprintf(f, "%lld,%lld", (long long)(at / b->nkeep + 1),
            (long long)(at % b->nkeep + 1));
    for (int i = 0; i < b->npar; i++) {
      fprintf(f, ",%.17g", b->draws[i * tot + at]);
    }
    fprintf(f, "\n");
  }
  int rc = fclose(f);
  f = NULL;
  HLM_CHECK(rc == 0, HLM_ERR_IO, "cannot write the draws to %s", path);
cleanup:
  if (f) {
    fclose(f);
  }
  return status;
}
