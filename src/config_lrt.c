/* config_lrt.c: the [[lrt]] tables of config.toml (docs/inference.md).
 * The formulas and terms are checked later, against the model (lrt.c). */
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "hlm/toml.h"

static hlm_status lrt_bad_key(const char *file, const hlm_toml_value *t,
                              size_t i)
{
  static const char *const words[] = {"name", "formula", "drop"};
  const char *key = hlm_toml_table_key(t, i, NULL);
  const char *close = hlm_closest_word(key, words, 3);
  return HLM_ERROR(
      HLM_ERR_CONFIG,
      "%s:%d:%d: unknown key `%s` in [[lrt]]%s%s%s; valid: name, formula, "
      "drop",
      file, hlm_toml_table_key_line(t, i), hlm_toml_table_key_column(t, i), key,
      close ? " (did you mean `" : "", close ? close : "", close ? "`?)" : "");
}

static hlm_status read_string(const char *file, const hlm_toml_value *v,
                              const char *key, char **out)
{
  hlm_status status = HLM_OK;
  const char *s = NULL;
  size_t len = 0;
  HLM_CHECK(hlm_toml_get_string(v, &s, &len) == HLM_OK && len > 0 &&
                strlen(s) == len,
            HLM_ERR_CONFIG, "%s:%d:%d: `%s` must be a non-empty string", file,
            hlm_toml_value_line(v), hlm_toml_value_column(v), key);
  free(*out);
  *out = strdup(s);
  HLM_CHECK(*out != NULL, HLM_ERR_NOMEM, "out of memory");
cleanup:
  return status;
}

static hlm_status read_one(const char *file, const hlm_toml_value *t, int idx,
                           hlm_config_lrt *c)
{
  hlm_status status = HLM_OK;
  c->line = hlm_toml_value_line(t);
  c->column = hlm_toml_value_column(t);
  for (size_t i = 0; i < hlm_toml_table_count(t); i++) {
    const char *key = hlm_toml_table_key(t, i, NULL);
    const hlm_toml_value *v = hlm_toml_table_value(t, i);
    if (strcmp(key, "name") == 0) {
      HLM_TRY(read_string(file, v, key, &c->name));
    } else if (strcmp(key, "formula") == 0) {
      HLM_TRY(read_string(file, v, key, &c->formula));
    } else if (strcmp(key, "drop") == 0) {
      HLM_TRY(read_string(file, v, key, &c->drop));
    } else {
      HLM_TRY(lrt_bad_key(file, t, i));
    }
  }
  HLM_CHECK((c->formula == NULL) != (c->drop == NULL), HLM_ERR_CONFIG,
            "%s:%d:%d: [[lrt]] number %d needs exactly one of `formula` (the "
            "other model) and `drop` (a term of the model to drop), e.g.\n"
            "  [[lrt]]\n  name = \"no Days\"\n  drop = \"Days\"",
            file, c->line, c->column, idx + 1);
  if (c->name == NULL) {
    char buf[32];
    snprintf(buf, sizeof buf, "lrt %d", idx + 1);
    c->name = strdup(buf);
    HLM_CHECK(c->name != NULL, HLM_ERR_NOMEM, "out of memory");
  }
cleanup:
  return status;
}

hlm_status hlm_config_read_lrts(hlm_config *cfg, const char *file,
                                const hlm_toml_value *array, int line, int col)
{
  hlm_status status = HLM_OK;
  size_t n = hlm_toml_array_count(array);
  HLM_CHECK(hlm_toml_value_type(array) == HLM_TOML_ARRAY && n > 0,
            HLM_ERR_CONFIG,
            "%s:%d:%d: `lrt` must be an array of tables, written [[lrt]]", file,
            line, col);
  hlm_config_free_lrts(cfg);
  HLM_ALLOC(cfg->lrt, n);
  cfg->nlrt = (int)n;
  for (size_t i = 0; i < n; i++) {
    const hlm_toml_value *t = hlm_toml_array_item(array, i);
    HLM_CHECK(hlm_toml_value_type(t) == HLM_TOML_TABLE, HLM_ERR_CONFIG,
              "%s:%d:%d: `lrt` must be an array of tables, written [[lrt]]",
              file, hlm_toml_value_line(t), hlm_toml_value_column(t));
    HLM_TRY(read_one(file, t, (int)i, &cfg->lrt[i]));
  }
cleanup:
  return status;
}

void hlm_config_free_lrts(hlm_config *cfg)
{
  for (int i = 0; cfg->lrt && i < cfg->nlrt; i++) {
    free(cfg->lrt[i].name);
    free(cfg->lrt[i].formula);
    free(cfg->lrt[i].drop);
  }
  free(cfg->lrt);
  cfg->lrt = NULL;
  cfg->nlrt = 0;
}
