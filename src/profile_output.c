/* profile_output.c: the profile intervals as a table (like lme4's
 * confint(fit, method = "profile")) and as the "profile" object of the
 * JSON summary (docs/results-json.md).  Rank 0 calls these. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>

#include "profile.h"

static hlm_status print_table(const hlm_profile *p, FILE *out)
{
  hlm_status status = HLM_OK;
  double lv = hlm_profile_level(p), a = 100 * (1 - lv) / 2;
  fprintf(out,
          "\nProfile-likelihood confidence intervals (%g%%; the ML deviance "
          "profiled, as lme4's confint(method = \"profile\")):\n",
          100 * lv);
  char lo[32], hi[32];
  snprintf(lo, sizeof lo, "%.4g %%", a);
  snprintf(hi, sizeof hi, "%.4g %%", 100 - a);
  fprintf(out, "%-16s %-32s %13s %13s\n", "", "parameter", lo, hi);
  for (int i = 0; i < hlm_profile_count(p); i++) {
    const hlm_profile_par *q = hlm_profile_get(p, i);
    fprintf(out, "%-16s %-32s %13.6g %13.6g%s\n", q->name,
            q->fixed ? q->fixed : q->desc, q->lower, q->upper,
            q->lower_bound || q->upper_bound ? "  (bound)" : "");
  }
  HLM_CHECK(!ferror(out), HLM_ERR_IO, "cannot write the profile intervals");
cleanup:
  return status;
}

static json_t *num(double x)
{
  return isfinite(x) ? json_real(x) : json_null();
}

static json_t *json_par(const hlm_profile_par *q)
{
  json_t *o = json_object();
  json_object_set_new(o, "name", json_string(q->name));
  json_object_set_new(o, "parameter",
                      json_string(q->fixed ? q->fixed : q->desc));
  json_object_set_new(o, "estimate", num(q->estimate));
  json_object_set_new(o, "lower", num(q->lower));
  json_object_set_new(o, "upper", num(q->upper));
  json_object_set_new(o, "lower_at_bound", json_boolean(q->lower_bound));
  json_object_set_new(o, "upper_at_bound", json_boolean(q->upper_bound));
  json_object_set_new(o, "refits", json_integer(q->points));
  json_object_set_new(o, "evaluations", json_integer(q->evaluations));
  return o;
}

static hlm_status write_json(const hlm_profile *p, const char *path)
{
  hlm_status status = HLM_OK;
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err), *o = json_object();
  json_t *a = json_array();
  HLM_CHECK(root != NULL && json_is_object(root), HLM_ERR_IO,
            "cannot read the JSON summary %s back to add the profile "
            "intervals: %s",
            path, root ? "not an object" : err.text);
  for (int i = 0; i < hlm_profile_count(p); i++) {
    json_array_append_new(a, json_par(hlm_profile_get(p, i)));
  }
  json_object_set_new(o, "confidence_level", num(hlm_profile_level(p)));
  json_object_set_new(o, "profiled", json_string("ML deviance"));
  json_object_set_new(o, "ml_deviance", num(hlm_profile_ml_deviance(p)));
  json_object_set_new(o, "parameters", a);
  a = NULL;
  json_object_set_new(root, "profile", o);
  o = NULL;
  HLM_CHECK(
      json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) == 0,
      HLM_ERR_IO, "cannot write the JSON summary %s", path);
cleanup:
  json_decref(a);
  json_decref(o);
  json_decref(root);
  return status;
}

hlm_status hlm_profile_output(const hlm_profile *p, FILE *out,
                              const char *json_path)
{
  hlm_status status = print_table(p, out);
  if (status == HLM_OK && json_path) {
    status = write_json(p, json_path);
  }
  return status;
}
