/* config_numtab.c: keys whose value is an inline table of numbers by name
 * ([bayes.prior] beta_mean = { genotypeB = 0 }).  Names are checked later,
 * against the design (src/bayes.c). */
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "hlm/toml.h"

hlm_status hlm_config_read_numtab(const char *file, const char *key,
                                  const hlm_toml_value *tv,
                                  hlm_config_numtab *t)
{
  hlm_status status = HLM_OK;
  size_t n = hlm_toml_table_count(tv);
  HLM_CHECK(hlm_toml_value_type(tv) == HLM_TOML_TABLE && n > 0, HLM_ERR_CONFIG,
            "%s:%d:%d: `%s` must be a non-empty table of numbers by "
            "fixed-effect name, e.g. %s = { genotypeB = 1 }",
            file, hlm_toml_value_line(tv), hlm_toml_value_column(tv), key, key);
  hlm_config_free_numtab(t);
  HLM_ALLOC(t->name, n);
  HLM_ALLOC(t->value, n);
  HLM_ALLOC(t->line, n);
  HLM_ALLOC(t->column, n);
  for (size_t i = 0; i < n; i++) {
    const hlm_toml_value *x = hlm_toml_table_value(tv, i);
    t->line[i] = hlm_toml_table_key_line(tv, i);
    t->column[i] = hlm_toml_table_key_column(tv, i);
    t->name[i] = strdup(hlm_toml_table_key(tv, i, NULL));
    HLM_CHECK(t->name[i] != NULL, HLM_ERR_NOMEM, "out of memory");
    t->n = (int)i + 1;
    HLM_CHECK(hlm_toml_get_number(x, &t->value[i]) == HLM_OK, HLM_ERR_CONFIG,
              "%s:%d:%d: the value of `%s` in `%s` must be a number", file,
              hlm_toml_value_line(x), hlm_toml_value_column(x), t->name[i],
              key);
  }
cleanup:
  return status;
}

void hlm_config_free_numtab(hlm_config_numtab *t)
{
  for (int i = 0; t->name && i < t->n; i++) {
    free(t->name[i]);
  }
  free(t->name);
  free(t->value);
  free(t->line);
  free(t->column);
  memset(t, 0, sizeof *t);
}
