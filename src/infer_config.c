/* infer_config.c: [inference] and [[contrast]] of the config, checked
 * against the model's fixed effects. */
#include <stdlib.h>
#include <string.h>

#include "hlm/infer.h"

static hlm_status unknown_coef(const hlm_config *cfg,
                               const hlm_config_contrast *c, int k,
                               const char **names, int p)
{
  char list[2048] = "";
  const char *close = hlm_closest_word(c->coef_name[k], names, p);
  for (int j = 0; j < p; j++) {
    size_t used = strlen(list);
    snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "", names[j]);
  }
  return HLM_ERROR(HLM_ERR_CONFIG,
                   "%s:%d:%d: [[contrast]] \"%s\": `%s` is not a fixed effect "
                   "of the model%s%s%s; the fixed effects are: %s",
                   cfg->path, c->coef_line[k], c->coef_column[k], c->name,
                   c->coef_name[k], close ? " (did you mean `" : "",
                   close ? close : "", close ? "`?)" : "", list);
}

static hlm_status resolve(const hlm_config *cfg, const hlm_config_contrast *c,
                          const char **names, int p, double *L)
{
  for (int k = 0; k < c->ncoef; k++) {
    int j = 0;
    while (j < p && strcmp(names[j], c->coef_name[k]) != 0) {
      j++;
    }
    if (j == p) {
      return unknown_coef(cfg, c, k, names, p);
    }
    L[j] += c->coef[k];
  }
  return HLM_OK;
}

hlm_status hlm_infer_options_from_config(const hlm_config *cfg,
                                         const hlm_design *d,
                                         hlm_infer_options *o,
                                         hlm_infer_contrast **con, double **L)
{
  hlm_status status = HLM_OK;
  int p = hlm_design_nfixed(d), n = cfg->ncontrast;
  const char **names = NULL;
  *con = NULL;
  *L = NULL;
  hlm_infer_options_default(o);
  o->df = cfg->infer_df;
  o->level = cfg->confidence_level;
  HLM_ALLOC(names, p);
  HLM_ALLOC(*con, n);
  HLM_ALLOC(*L, (size_t)n * p);
  for (int j = 0; j < p; j++) {
    names[j] = hlm_design_fixed_name(d, j);
  }
  for (int c = 0; c < n; c++) {
    (*con)[c].name = cfg->contrast[c].name;
    (*con)[c].L = &(*L)[(size_t)c * p];
    HLM_TRY(resolve(cfg, &cfg->contrast[c], names, p, &(*L)[(size_t)c * p]));
  }
  o->ncontrast = n;
  o->contrast = *con;
cleanup:
  free(names);
  return status;
}
