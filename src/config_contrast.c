/* config_contrast.c: the [[contrast]] tables of config.toml
 * (docs/inference.md).  Names of fixed effects are checked later, against
 * the design (hlm_infer). */
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "hlm/toml.h"

static hlm_status contrast_bad_key(const char *file, const hlm_toml_value *t,
                                   size_t i)
{
  static const char *const words[] = {"name", "coefficients"};
  const char *key = hlm_toml_table_key(t, i, NULL);
  const char *close = hlm_closest_word(key, words, 2);
  return HLM_ERROR(
      HLM_ERR_CONFIG,
      "%s:%d:%d: unknown key `%s` in [[contrast]]%s%s%s; valid: "
      "name, coefficients",
      file, hlm_toml_table_key_line(t, i), hlm_toml_table_key_column(t, i), key,
      close ? " (did you mean `" : "", close ? close : "", close ? "`?)" : "");
}

static hlm_status read_coefficients(const char *file, const hlm_toml_value *tv,
                                    hlm_config_contrast *c)
{
  hlm_status status = HLM_OK;
  size_t n = hlm_toml_table_count(tv);
  HLM_CHECK(hlm_toml_value_type(tv) == HLM_TOML_TABLE && n > 0, HLM_ERR_CONFIG,
            "%s:%d:%d: `coefficients` must be a non-empty table of numbers by "
            "fixed-effect name, e.g. coefficients = { genotypeB = 1 }",
            file, hlm_toml_value_line(tv), hlm_toml_value_column(tv));
  HLM_ALLOC(c->coef_name, n);
  HLM_ALLOC(c->coef, n);
  HLM_ALLOC(c->coef_line, n);
  HLM_ALLOC(c->coef_column, n);
  for (size_t i = 0; i < n; i++) {
    const hlm_toml_value *x = hlm_toml_table_value(tv, i);
    c->coef_line[i] = hlm_toml_table_key_line(tv, i);
    c->coef_column[i] = hlm_toml_table_key_column(tv, i);
    c->coef_name[i] = strdup(hlm_toml_table_key(tv, i, NULL));
    HLM_CHECK(c->coef_name[i] != NULL, HLM_ERR_NOMEM, "out of memory");
    c->ncoef = (int)i + 1;
    HLM_CHECK(hlm_toml_get_number(x, &c->coef[i]) == HLM_OK, HLM_ERR_CONFIG,
              "%s:%d:%d: the multiplier of `%s` must be a number", file,
              hlm_toml_value_line(x), hlm_toml_value_column(x),
              c->coef_name[i]);
  }
cleanup:
  return status;
}

static hlm_status read_one(const char *file, const hlm_toml_value *t, int idx,
                           hlm_config_contrast *c)
{
  hlm_status status = HLM_OK;
  const char *s = NULL;
  size_t len = 0;
  c->line = hlm_toml_value_line(t);
  c->column = hlm_toml_value_column(t);
  for (size_t i = 0; i < hlm_toml_table_count(t); i++) {
    const char *key = hlm_toml_table_key(t, i, NULL);
    const hlm_toml_value *v = hlm_toml_table_value(t, i);
    if (strcmp(key, "name") == 0) {
      HLM_CHECK(hlm_toml_get_string(v, &s, &len) == HLM_OK && len > 0 &&
                    strlen(s) == len,
                HLM_ERR_CONFIG, "%s:%d:%d: `name` must be a non-empty string",
                file, hlm_toml_value_line(v), hlm_toml_value_column(v));
      free(c->name);
      c->name = strdup(s);
      HLM_CHECK(c->name != NULL, HLM_ERR_NOMEM, "out of memory");
    } else if (strcmp(key, "coefficients") == 0) {
      HLM_TRY(read_coefficients(file, v, c));
    } else {
      HLM_TRY(contrast_bad_key(file, t, i));
    }
  }
  HLM_CHECK(c->ncoef > 0, HLM_ERR_CONFIG,
            "%s:%d:%d: [[contrast]] number %d has no `coefficients`, e.g.\n"
            "  [[contrast]]\n  name = \"B minus A\"\n"
            "  coefficients = { genotypeB = 1 }",
            file, c->line, c->column, idx + 1);
  if (c->name == NULL) {
    char buf[32];
    snprintf(buf, sizeof buf, "contrast %d", idx + 1);
    c->name = strdup(buf);
    HLM_CHECK(c->name != NULL, HLM_ERR_NOMEM, "out of memory");
  }
cleanup:
  return status;
}

hlm_status hlm_config_read_contrasts(hlm_config *cfg, const char *file,
                                     const hlm_toml_value *array, int line,
                                     int col)
{
  hlm_status status = HLM_OK;
  size_t n = hlm_toml_array_count(array);
  HLM_CHECK(hlm_toml_value_type(array) == HLM_TOML_ARRAY && n > 0,
            HLM_ERR_CONFIG,
            "%s:%d:%d: `contrast` must be an array of tables, written "
            "[[contrast]]",
            file, line, col);
  hlm_config_free_contrasts(cfg);
  HLM_ALLOC(cfg->contrast, n);
  cfg->ncontrast = (int)n;
  for (size_t i = 0; i < n; i++) {
    const hlm_toml_value *t = hlm_toml_array_item(array, i);
    HLM_CHECK(hlm_toml_value_type(t) == HLM_TOML_TABLE, HLM_ERR_CONFIG,
              "%s:%d:%d: `contrast` must be an array of tables, written "
              "[[contrast]]",
              file, hlm_toml_value_line(t), hlm_toml_value_column(t));
    HLM_TRY(read_one(file, t, (int)i, &cfg->contrast[i]));
  }
cleanup:
  return status;
}

void hlm_config_free_contrasts(hlm_config *cfg)
{
  for (int i = 0; cfg->contrast && i < cfg->ncontrast; i++) {
    hlm_config_contrast *c = &cfg->contrast[i];
    for (int k = 0; c->coef_name && k < c->ncoef; k++) {
      free(c->coef_name[k]);
    }
    free(c->name);
    free(c->coef_name);
    free(c->coef);
    free(c->coef_line);
    free(c->coef_column);
  }
  free(cfg->contrast);
  cfg->contrast = NULL;
  cfg->ncontrast = 0;
}
