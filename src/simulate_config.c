/* simulate_config.c: the file of `hlm-mpi simulate SIM.toml OUT.h5`.  Its
 * keys are the [simulate] rows of the one schema (config_schema.c), checked
 * by the same validator as config.toml (unknown keys, did-you-mean, types);
 * here only the cross-key rules. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "hlm/simulate.h"
#include "hlm/toml.h"

/* Position of [simulate] `key` for messages (1:1 when absent). */
static void key_pos(const hlm_toml_doc *doc, const char *key, int *line,
                    int *col)
{
  const hlm_toml_value *sec =
      hlm_toml_table_get(hlm_toml_root(doc), "simulate");
  const hlm_toml_value *val = sec ? hlm_toml_table_get(sec, key) : NULL;
  *line = val ? hlm_toml_value_line(val) : 1;
  *col = val ? hlm_toml_value_column(val) : 1;
}

static hlm_status range_error(const hlm_toml_doc *doc, const char *name,
                              const char *key, const char *rule, double x)
{
  int line, col;
  key_pos(doc, key, &line, &col);
  return HLM_ERROR(HLM_ERR_CONFIG, "%s:%d:%d: `%s` must be %s, got %g", name,
                   line, col, key, rule, x);
}

static hlm_status check_ranges(const hlm_toml_doc *doc, const char *name,
                               const hlm_sim_config *c)
{
  hlm_status status = HLM_OK;
  const char *sd_keys[] = {"size_sd",       "cluster_sd", "slope_sd",
                           "subcluster_sd", "crossed_sd", "residual_sd"};
  const double sds[] = {c->size_sd,       c->cluster_sd, c->slope_sd,
                        c->subcluster_sd, c->crossed_sd, c->residual_sd};
  for (int i = 0; i < 6; i++) {
    if (!(sds[i] >= 0 && sds[i] < 1e150)) {
      return range_error(doc, name, sd_keys[i], "finite and >= 0", sds[i]);
    }
  }
  if (!(c->residual_sd > 0)) {
    return range_error(doc, name, "residual_sd", "positive", c->residual_sd);
  }
  if (!(fabs(c->correlation) <= 1)) {
    return range_error(doc, name, "correlation", "in [-1, 1]", c->correlation);
  }
  if (!isfinite(c->intercept) || !isfinite(c->slope)) {
    return range_error(doc, name, isfinite(c->slope) ? "intercept" : "slope",
                       "finite", isfinite(c->slope) ? c->intercept : c->slope);
  }
  if (c->rows < c->clusters) {
    return range_error(doc, name, "rows",
                       "at least `clusters` (every cluster "
                       "has a row)",
                       (double)c->rows);
  }
  HLM_CHECK(c->covariates <= 1000, HLM_ERR_CONFIG,
            "%s: `covariates` must be at most 1000", name);
cleanup:
  return status;
}

static hlm_status load_doc(const hlm_toml_doc *doc, const char *name,
                           hlm_sim_config **out)
{
  hlm_status status = HLM_OK;
  hlm_sim_config *cfg = NULL;
  HLM_ALLOC(cfg, 1);
  HLM_ALLOC(cfg->given, hlm_nkeys);
  cfg->path = strdup(name);
  HLM_CHECK(cfg->path != NULL, HLM_ERR_NOMEM, "out of memory");
  HLM_TRY(
      hlm_config_validate_doc(doc, name, NULL, FILE_SIMULATE, cfg, cfg->given));
  HLM_TRY(check_ranges(doc, name, cfg));
  *out = cfg;
  cfg = NULL;
cleanup:
  hlm_sim_config_destroy(&cfg);
  return status;
}

hlm_status hlm_sim_config_load_string(const char *text, const char *name,
                                      hlm_sim_config **out)
{
  hlm_status status = HLM_OK;
  hlm_toml_doc *doc = NULL;
  *out = NULL;
  HLM_TRY(hlm_toml_parse_string(text, strlen(text), name, &doc));
  HLM_TRY(load_doc(doc, name, out));
cleanup:
  hlm_toml_doc_destroy(&doc);
  return status;
}

hlm_status hlm_sim_config_load(const char *path, hlm_sim_config **out)
{
  hlm_status status = HLM_OK;
  hlm_toml_doc *doc = NULL;
  *out = NULL;
  HLM_TRY(hlm_toml_parse_file(path, &doc));
  HLM_TRY(load_doc(doc, path, out));
cleanup:
  hlm_toml_doc_destroy(&doc);
  return status;
}

void hlm_sim_config_destroy(hlm_sim_config **cfg)
{
  if (cfg == NULL || *cfg == NULL) {
    return;
  }
  free((*cfg)->path);
  free((*cfg)->given);
  free(*cfg);
  *cfg = NULL;
}

void hlm_sim_formula(const hlm_sim_config *c, char *buf, size_t len)
{
  size_t used = (size_t)snprintf(buf, len, "y ~ ");
  for (int64_t k = 1; k <= c->covariates && used < len; k++) {
    used += (size_t)snprintf(buf + used, len - used, "%sx%lld",
                             k > 1 ? " + " : "", (long long)k);
  }
  if (used < len) {
    used += (size_t)snprintf(buf + used, len - used, " + (1%s | school)",
                             c->slope_sd > 0 ? " + x1" : "");
  }
  if (c->subclusters > 0 && used < len) {
    used += (size_t)snprintf(buf + used, len - used, " + (1 | school:class)");
  }
  if (c->crossed_levels > 0 && used < len) {
    snprintf(buf + used, len - used, " + (1 | rater)");
  }
}
