/* config_matrix.c: keys whose value is an array of arrays of numbers
 * ([bayes.prior] beta_covariance = [[4, 1], [1, 9]]).  Only the shape of
 * TOML is checked here; the size, symmetry and positive definiteness are
 * checked against the design (src/bayes_prior.c).  wishart_scale also
 * takes a single number s (s I). */
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "hlm/toml.h"

static hlm_status bad_shape(const char *file, const char *key,
                            const hlm_toml_value *v)
{
  return HLM_ERROR(HLM_ERR_CONFIG,
                   "%s:%d:%d: `%s` must be a non-empty array of arrays of "
                   "numbers, one row per line, e.g. %s = [[4, 1], [1, 9]]",
                   file, hlm_toml_value_line(v), hlm_toml_value_column(v), key,
                   key);
}

hlm_status hlm_config_read_matrix(const char *file, const char *key,
                                  const hlm_toml_value *tv,
                                  hlm_config_matrix *t)
{
  hlm_status status = HLM_OK;
  size_t n = hlm_toml_array_count(tv), tot = 0;
  hlm_config_free_matrix(t);
  if (hlm_toml_value_type(tv) != HLM_TOML_ARRAY || n == 0) {
    return bad_shape(file, key, tv);
  }
  for (size_t i = 0; i < n; i++) {
    const hlm_toml_value *row = hlm_toml_array_item(tv, i);
    if (hlm_toml_value_type(row) != HLM_TOML_ARRAY) {
      return bad_shape(file, key, row);
    }
    tot += hlm_toml_array_count(row);
  }
  HLM_ALLOC(t->ncol, n);
  HLM_ALLOC(t->value, tot > 0 ? tot : 1);
  HLM_ALLOC(t->row_line, n);
  HLM_ALLOC(t->row_column, n);
  t->nrow = (int)n;
  t->line = hlm_toml_value_line(tv);
  t->column = hlm_toml_value_column(tv);
  for (size_t i = 0, at = 0; i < n; i++) {
    const hlm_toml_value *row = hlm_toml_array_item(tv, i);
    t->ncol[i] = (int)hlm_toml_array_count(row);
    t->row_line[i] = hlm_toml_value_line(row);
    t->row_column[i] = hlm_toml_value_column(row);
    for (int j = 0; j < t->ncol[i]; j++, at++) {
      const hlm_toml_value *x = hlm_toml_array_item(row, (size_t)j);
      HLM_CHECK(hlm_toml_get_number(x, &t->value[at]) == HLM_OK, HLM_ERR_CONFIG,
                "%s:%d:%d: element %d of row %d of `%s` must be a number", file,
                hlm_toml_value_line(x), hlm_toml_value_column(x), j + 1,
                (int)i + 1, key);
    }
  }
cleanup:
  if (status != HLM_OK) {
    hlm_config_free_matrix(t);
  }
  return status;
}

void hlm_config_free_matrix(hlm_config_matrix *t)
{
  free(t->ncol);
  free(t->value);
  free(t->row_line);
  free(t->row_column);
  memset(t, 0, sizeof *t);
}

hlm_status hlm_config_scale_matrix_number(hlm_config_matrix *t, double s)
{
  hlm_status status = HLM_OK;
  hlm_config_free_matrix(t);
  HLM_ALLOC(t->value, 1);
  t->value[0] = s;
  t->number = 1;
cleanup:
  return status;
}

hlm_status hlm_config_read_scale_matrix(const char *file, const char *key,
                                        const hlm_toml_value *tv,
                                        hlm_config_matrix *t)
{
  int type = hlm_toml_value_type(tv);
  double s = 0.0;
  if (type == HLM_TOML_ARRAY) {
    return hlm_config_read_matrix(file, key, tv, t);
  }
  if (type != HLM_TOML_INTEGER && type != HLM_TOML_FLOAT) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s:%d:%d: `%s` must be a positive number s (meaning "
                     "s I) or an array of arrays of numbers, one row per "
                     "line, e.g. %s = [[4, 1], [1, 9]]",
                     file, hlm_toml_value_line(tv), hlm_toml_value_column(tv),
                     key, key);
  }
  if (hlm_toml_get_number(tv, &s) != HLM_OK || !(s > 0 && s < 1e300)) {
    return HLM_ERROR(HLM_ERR_CONFIG, "%s:%d:%d: `%s` must be positive, got %g",
                     file, hlm_toml_value_line(tv), hlm_toml_value_column(tv),
                     key, s);
  }
  return hlm_config_scale_matrix_number(t, s);
}
