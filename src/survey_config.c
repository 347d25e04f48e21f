/* survey_config.c: the [survey] section's checks against the rest of the
 * config (docs/survey.md).  Local: every rank reads the config itself. */
#include <string.h>

#include "config_internal.h"

/* Local.  Whether schema key section.key was written in the file. */
static int given(const hlm_config *cfg, const char *section, const char *key)
{
  for (int k = 0; k < hlm_nkeys; k++) {
    if (!strcmp(hlm_keys[k].section, section) &&
        !strcmp(hlm_keys[k].key, key)) {
      return cfg->given[k];
    }
  }
  return 0;
}

int hlm_config_survey(const hlm_config *cfg)
{
  return cfg->survey_weight1 || cfg->survey_weight2 || cfg->survey_psu ||
         cfg->survey_strata || cfg->survey_fpc;
}

/* What a survey fit cannot be combined with. */
static hlm_status survey_conflicts(const char *file, const hlm_config *cfg)
{
  if (cfg->weights || cfg->known_sd) {
    return HLM_ERROR(HLM_ERR_NOT_IMPLEMENTED,
                     "%s: [data] %s together with [survey] is not implemented "
                     "yet (issue 13); sampling weights go in [survey] weight1 "
                     "and weight2",
                     file, cfg->weights ? "weights" : "known_sd");
  }
  if (cfg->method == HLM_METHOD_BAYES) {
    return HLM_ERROR(HLM_ERR_NOT_IMPLEMENTED,
                     "%s: method = \"bayes\" with [survey] is not "
                     "implemented yet: the Gibbs sampler has no sampling "
                     "weights; fit the survey design with method = \"ml\"",
                     file);
  }
  if (cfg->profile) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s: [inference] profile cannot be used with [survey]: "
                     "the profile of a pseudo-likelihood does not give "
                     "design-based intervals; the intervals of a survey fit "
                     "use the robust SEs and the design df",
                     file);
  }
  if (cfg->nlrt > 0) {
    return HLM_ERROR(HLM_ERR_NOT_IMPLEMENTED,
                     "%s: [[lrt]] with [survey] is not implemented yet (issue "
                     "13): a likelihood-ratio test of pseudo-likelihoods needs "
                     "a design correction (Rao-Scott)",
                     file);
  }
  if (given(cfg, "inference", "df") && cfg->infer_df != HLM_DF_ASYMPTOTIC) {
    return HLM_ERROR(
        HLM_ERR_CONFIG,
        "%s: [inference] df = \"%s\" does not apply to a survey "
        "fit: its t tests use the design df (PSUs minus strata); "
        "remove the key, or set df = \"asymptotic\" for z tests",
        file, cfg->infer_df == HLM_DF_RESIDUAL ? "residual" : "satterthwaite");
  }
  return HLM_OK;
}

hlm_status hlm_config_check_survey(const char *file, hlm_config *cfg)
{
  if (!hlm_config_survey(cfg)) {
    const char *k = given(cfg, "survey", "scaling") ? "scaling"
                    : given(cfg, "survey", "se")    ? "se"
                                                    : NULL;
    if (k) {
      return HLM_ERROR(HLM_ERR_CONFIG,
                       "%s: [survey] %s needs a survey design: give weight1, "
                       "weight2, psu or strata",
                       file, k);
    }
    return HLM_OK;
  }
  if (given(cfg, "survey", "scaling") && cfg->survey_weight1 == NULL) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s: [survey] scaling applies to level-1 weights: give "
                     "[survey] weight1 too",
                     file);
  }
  if (cfg->method == HLM_METHOD_REML && given(cfg, "model", "method")) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s: [model] method = \"reml\" cannot be used with "
                     "[survey]: REML integrates the fixed effects out of the "
                     "whole sample at once, so its criterion is not a sum of "
                     "cluster contributions that sampling weights can "
                     "multiply; use method = \"ml\" (pseudo-maximum "
                     "likelihood, as Stata's mixed with pweights)",
                     file);
  }
  if (cfg->method == HLM_METHOD_REML) {
    cfg->method = HLM_METHOD_ML; /* the default with [survey]: pseudo-ML */
  }
  return survey_conflicts(file, cfg);
}
