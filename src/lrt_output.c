/* lrt_output.c: the likelihood-ratio tests as text (like lme4's
 * anova(m0, m1)) and as the "lrt" array of the JSON summary
 * (docs/results-json.md).  Rank 0 calls these. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>

#include "hlm/lrt.h"

hlm_status hlm_lrt_print(const hlm_lrt *l, FILE *out)
{
  hlm_status status = HLM_OK;
  for (int i = 0; i < hlm_lrt_count(l); i++) {
    const hlm_lrt_test *t = hlm_lrt_get(l, i);
    const hlm_lrt_model *m[2] = {&t->m0, &t->m1};
    fprintf(out, "\nLikelihood-ratio test \"%s\" (both models fitted by %s):\n",
            t->name, t->reml ? "REML" : "ML");
    fprintf(out, "  m0: %s\n  m1: %s\n", t->m0.formula, t->m1.formula);
    fprintf(out, "    %5s %10s %10s %10s %10s %9s %4s %11s\n", "npar", "AIC",
            "BIC", "logLik", t->reml ? "REMLcrit" : "deviance", "Chisq", "Df",
            "Pr(>Chisq)");
    for (int k = 0; k < 2; k++) {
      fprintf(out, "m%d  %5d %10.6g %10.6g %10.6g %10.6g", k, m[k]->npar,
              m[k]->aic, m[k]->bic, m[k]->loglik, m[k]->deviance);
      if (k == 1) {
        fprintf(out, " %9.5g %4d %11.4g", t->chisq, t->df, t->p_chisq);
      }
      fprintf(out, "\n");
    }
    fprintf(out, "reference distribution: %s; p = %.4g\n", t->reference, t->p);
  }
  HLM_CHECK(!ferror(out), HLM_ERR_IO, "cannot write the tests");
cleanup:
  return status;
}

static json_t *num(double x)
{
  return isfinite(x) ? json_real(x) : json_null();
}

static json_t *json_model(const hlm_lrt_model *m)
{
  json_t *o = json_object();
  json_object_set_new(o, "formula", json_string(m->formula));
  json_object_set_new(o, "npar", json_integer(m->npar));
  json_object_set_new(o, "AIC", num(m->aic));
  json_object_set_new(o, "BIC", num(m->bic));
  json_object_set_new(o, "logLik", num(m->loglik));
  json_object_set_new(o, "deviance", num(m->deviance));
  return o;
}

static json_t *json_test(const hlm_lrt_test *t)
{
  json_t *o = json_object();
  json_object_set_new(o, "name", json_string(t->name));
  json_object_set_new(o, "method", json_string(t->reml ? "REML" : "ML"));
  json_object_set_new(o, "model0", json_model(&t->m0));
  json_object_set_new(o, "model1", json_model(&t->m1));
  json_object_set_new(o, "chisq", num(t->chisq));
  json_object_set_new(o, "df", json_integer(t->df));
  json_object_set_new(o, "p_chisq", num(t->p_chisq));
  json_object_set_new(o, "reference", json_string(t->reference));
  json_object_set_new(o, "mixture_df",
                      t->mix >= 0 ? json_pack("[ii]", t->mix, t->mix + 1)
                                  : json_null());
  json_object_set_new(o, "p", num(t->p));
  return o;
}

hlm_status hlm_lrt_write_json(const hlm_lrt *l, const char *path)
{
  hlm_status status = HLM_OK;
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err), *a = json_array();
  HLM_CHECK(root != NULL && json_is_object(root), HLM_ERR_IO,
            "cannot read the JSON summary %s back to add the tests: %s", path,
            root ? "not an object" : err.text);
  for (int i = 0; i < hlm_lrt_count(l); i++) {
    json_array_append_new(a, json_test(hlm_lrt_get(l, i)));
  }
  json_object_set_new(root, "lrt", a);
  a = NULL;
  HLM_CHECK(
      json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) == 0,
      HLM_ERR_IO, "cannot write the JSON summary %s", path);
cleanup:
  json_decref(a);
  json_decref(root);
  return status;
}

hlm_status hlm_lrt_output(const hlm_lrt *l, FILE *out, const char *json_path)
{
  hlm_status status = hlm_lrt_print(l, out);
  if (status == HLM_OK && json_path) {
    status = hlm_lrt_write_json(l, json_path);
  }
  return status;
}
