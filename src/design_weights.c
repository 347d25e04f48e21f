/* design_weights.c: the residual variance structure Var[e_i] = sigma^2/w_i
 * (lme4's precision weights) or s_i^2 (known SDs, sigma = 1), applied to
 * the design by scaling every row by sqrt(w_i): the weighted
 * cross-products X'WX, Z'WZ, ... are then the plain cross-products of the
 * scaled rows (docs/estimation.md). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "ddsum.h"
#include "design_internal.h"

/* Local.  The weight of row i from column c (a weight, or an SD when sd). */
static hlm_status row_weight(const hlm_table *t, const hlm_column *c, int sd,
                             int64_t i, double *w)
{
  hlm_status status = HLM_OK;
  double v = c->type == HLM_COL_NUMERIC ? c->num[i] : (double)c->ival[i];
  int64_t row = hlm_table_row_index(t)[i] + 1;
  HLM_CHECK(!hlm_column_is_missing(c, i), HLM_ERR_DATA,
            "%s column '%s', row %" PRId64 ": missing value",
            sd ? "known_sd" : "weights", c->name, row);
  HLM_CHECK(isfinite(v) && v > 0, HLM_ERR_DATA,
            "%s column '%s', row %" PRId64 ": %s %g is not %s",
            sd ? "known_sd" : "weights", c->name, row, sd ? "SD" : "weight", v,
            isfinite(v) ? "positive" : "finite");
  *w = sd ? 1.0 / (v * v) : v;
cleanup:
  return status;
}

static void scale_row(hlm_design *d, int64_t i, double s)
{
  for (int a = 0; a < d->p; a++) {
    d->X[i * d->p + a] *= s;
  }
  for (int a = 0; a < d->zwidth; a++) {
    d->zval[i * d->zwidth + a] *= s;
  }
  d->y[i] *= s;
}

hlm_status hlm_design_weights(const hlm_table *t, const hlm_design_options *o,
                              hlm_design *d)
{
  hlm_status status = HLM_OK;
  const char *name = o ? (o->weights ? o->weights : o->known_sd) : NULL;
  if (name == NULL) {
    return HLM_OK;
  }
  HLM_CHECK(!(o->weights && o->known_sd), HLM_ERR_CONFIG,
            "[data] weights and known_sd cannot both be given");
  const hlm_column *c = hlm_table_find(t, name);
  int sd = o->weights == NULL;
  HLM_CHECK(c != NULL, HLM_ERR_DATA, "the data has no %s column '%s'",
            sd ? "known_sd" : "weights", name);
  HLM_CHECK(c->type != HLM_COL_CATEGORICAL, HLM_ERR_DATA,
            "the %s column '%s' is categorical, not numeric",
            sd ? "known_sd" : "weights", name);
  d->known_sd = sd;
  HLM_ALLOC(d->sqrtw, d->n);
  d->sumlogw = 0.0;
  d->sumlogw_dd[0] = d->sumlogw_dd[1] = 0.0;
  for (int64_t i = 0; i < d->n; i++) {
    double w = 0.0;
    HLM_TRY(row_weight(t, c, sd, i, &w));
    d->sqrtw[i] = sqrt(w);
    hlm_dd_add(d->sumlogw_dd, log(w));
    scale_row(d, i, d->sqrtw[i]);
  }
cleanup:
  return status;
}
