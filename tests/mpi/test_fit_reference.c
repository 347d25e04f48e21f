/* MPI test of the REML and ML fits against lme4 (lme4.json, fitted by
 * lme4 1.1-31 with tight optimizer tolerances; fields in
 * ../shared/reference/README.md):
 *   - criterion, logLik, AIC, BIC within 1e-7 relative;
 *   - fixed effects and their SEs within 1e-6 relative;
 *   - variance-component SDs and correlations, and sigma, within 1e-5
 *     relative (1e-7 absolute where the reference is 0);
 *   - nobs, number of groups, the singular flag exactly;
 *   - conditional modes and conditional variances within 1e-5 relative
 *     (1e-7 absolute), matched by term and level label.
 * usage: test_fit_reference DATA.h5 lme4.json FORMULA CLUSTER [WEIGHTS]
 * (WEIGHTS: the column of lme4's precision weights, issue 8) */
#include <jansson.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fit_util.h"

static int rank = 0, nbad = 0, nchecked = 0;

#define EXPECT(cond, ...)                                                      \
  do {                                                                         \
    nchecked++;                                                                \
    if (!(cond)) {                                                             \
      if (nbad++ < 30) {                                                       \
        fprintf(stderr, "rank %d: check failed: ", rank);                      \
        fprintf(stderr, __VA_ARGS__);                                          \
        fprintf(stderr, "\n");                                                 \
      }                                                                        \
    }                                                                          \
  } while (0)

static const char *method;

/* Largest relative difference seen per kind of value (for the log). */
static const char *kinds[] = {"criterion", "logLik", "AIC",   "BIC",    "sigma",
                              "fixef",     "sdcor",  "ranef", "condvar"};
static double worst[9];

static void note_worst(const char *what, double got, double want)
{
  for (int k = 0; k < 9; k++) {
    if (!strncmp(what, kinds[k], strlen(kinds[k])) && want != 0) {
      double rel = fit_util_reldiff(got, want);
      worst[k] = rel > worst[k] ? rel : worst[k];
    }
  }
}

static void close_to(const char *what, double got, double want, double rel,
                     double abs)
{
  double diff = fabs(got - want);
  note_worst(what, got, want);
  EXPECT(diff <= rel * fabs(want) || diff <= abs,
         "%s %s: got %.12g, lme4 %.12g (rel %.3g)", method, what, got, want,
         fit_util_reldiff(got, want));
}

static double num(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static void check_scalars(const hlm_fit *f, json_t *ref)
{
  printf("%s criterion %.15g, lme4 %.15g (ours - lme4 = %.3g)\n", method,
         hlm_fit_criterion(f), num(ref, "deviance_or_reml_criterion"),
         hlm_fit_criterion(f) - num(ref, "deviance_or_reml_criterion"));
  close_to("criterion", hlm_fit_criterion(f),
           num(ref, "deviance_or_reml_criterion"), 1e-7, 0);
  close_to("logLik", hlm_fit_loglik(f), num(ref, "logLik"), 1e-7, 0);
  close_to("AIC", hlm_fit_aic(f), num(ref, "AIC"), 1e-7, 0);
  close_to("BIC", hlm_fit_bic(f), num(ref, "BIC"), 1e-7, 0);
  close_to("sigma", hlm_fit_sigma(f), num(ref, "sigma"), 1e-5, 0);
  EXPECT(hlm_fit_nobs(f) == (int64_t)num(ref, "nobs"), "%s nobs", method);
  EXPECT(hlm_fit_singular(f) == json_is_true(json_object_get(ref, "singular")),
         "%s singular: got %d", method, hlm_fit_singular(f));
  EXPECT(hlm_fit_converged(f), "%s: not converged", method);
}

static void check_fixed(const hlm_fit *f, json_t *ref)
{
  json_t *fe = json_object_get(ref, "fixef"),
         *se = json_object_get(ref, "fixef_se");
  EXPECT((int)json_object_size(fe) == hlm_fit_nfixed(f),
         "%s: %d fixed effects, lme4 %d", method, hlm_fit_nfixed(f),
         (int)json_object_size(fe));
  for (int j = 0; j < hlm_fit_nfixed(f); j++) {
    const char *name = hlm_fit_fixed_name(f, j);
    char what[256];
    EXPECT(json_object_get(fe, name) != NULL, "%s: lme4 has no coefficient %s",
           method, name);
    snprintf(what, sizeof what, "fixef %s", name);
    close_to(what, hlm_fit_fixef(f)[j], num(fe, name), 1e-6, 0);
    snprintf(what, sizeof what, "fixef_se %s", name);
    close_to(what, hlm_fit_fixef_se(f)[j], num(se, name), 1e-6, 0);
  }
}

static int same(const char *a, json_t *b)
{
  if (json_is_null(b) || b == NULL) {
    return a == NULL;
  }
  return a != NULL && !strcmp(a, json_string_value(b));
}

static void check_varcorr(const hlm_fit *f, json_t *ref)
{
  json_t *vc = json_object_get(ref, "varcorr");
  EXPECT((int)json_array_size(vc) == hlm_fit_nvarcorr(f),
         "%s: %d varcorr rows, lme4 %d", method, hlm_fit_nvarcorr(f),
         (int)json_array_size(vc));
  for (size_t i = 0; i < json_array_size(vc); i++) {
    json_t *e = json_array_get(vc, i);
    const hlm_varcorr *mine = NULL;
    for (int k = 0; k < hlm_fit_nvarcorr(f); k++) {
      const hlm_varcorr *v = hlm_fit_varcorr(f, k);
      if (same(v->grp, json_object_get(e, "grp")) &&
          same(v->var1, json_object_get(e, "var1")) &&
          same(v->var2, json_object_get(e, "var2"))) {
        mine = v;
      }
    }
    const char *grp = json_string_value(json_object_get(e, "grp"));
    EXPECT(mine != NULL, "%s: no varcorr row for %s", method, grp);
    if (mine) {
      char what[256];
      snprintf(what, sizeof what, "sdcor %s %s %s", grp,
               mine->var1 ? mine->var1 : "", mine->var2 ? mine->var2 : "");
      close_to(what, mine->sdcor, num(e, "sdcor"), 1e-5, 1e-7);
    }
  }
}

static void check_ngrps(const hlm_fit *f, json_t *ref)
{
  json_t *ng = json_object_get(ref, "ngrps");
  EXPECT((int)json_object_size(ng) == hlm_fit_ngroups(f), "%s: ngrps size",
         method);
  for (int g = 0; g < hlm_fit_ngroups(f); g++) {
    const char *name = hlm_fit_group_name(f, g);
    EXPECT(num(ng, name) == (double)hlm_fit_group_nlevels(f, g),
           "%s: ngrps %s: %lld vs %g", method, name,
           (long long)hlm_fit_group_nlevels(f, g), num(ng, name));
  }
}

/* lme4's ranef entry for a grouping factor has one row per column of all
 * the terms with that factor, in term order. */
static void check_ranef_entry(const hlm_fit *f, json_t *e)
{
  const char *term = json_string_value(json_object_get(e, "term"));
  json_t *levels = json_object_get(e, "levels");
  json_t *values = json_object_get(e, "values");
  json_t *condvar = json_object_get(e, "condvar");
  int row = 0;
  for (int r = 0; r < hlm_fit_nterms(f); r++) {
    hlm_ranef re;
    hlm_fit_ranef(f, r, &re);
    if (strcmp(re.group, term)) {
      continue;
    }
    EXPECT(re.nlevels == (int64_t)json_array_size(levels),
           "%s ranef %s: %lld levels, lme4 %zu", method, term,
           (long long)re.nlevels, json_array_size(levels));
    for (int k = 0; k < re.ncols; k++, row++) {
      for (size_t i = 0; i < json_array_size(levels); i++) {
        const char *lab = json_string_value(json_array_get(levels, i));
        int64_t l = 0;
        while (l < re.nlevels && strcmp(re.label[l], lab)) {
          l++;
        }
        EXPECT(l < re.nlevels, "%s ranef %s: no level %s", method, term, lab);
        if (l == re.nlevels) {
          continue;
        }
        char what[256];
        snprintf(what, sizeof what, "ranef %s %s %s", term, re.colname[k], lab);
        close_to(
            what, re.values[l * re.ncols + k],
            json_number_value(json_array_get(json_array_get(values, row), i)),
            1e-5, 1e-7);
        if (json_is_array(condvar)) {
          snprintf(what, sizeof what, "condvar %s %s %s", term, re.colname[k],
                   lab);
          close_to(what, re.condvar[l * re.ncols + k],
                   json_number_value(
                       json_array_get(json_array_get(condvar, row), i)),
                   1e-5, 1e-7);
        }
      }
    }
  }
  EXPECT(row == (int)json_array_size(values),
         "%s ranef %s: %d columns, lme4 %zu", method, term, row,
         json_array_size(values));
}

static void check_fit(const hlm_fit *f, json_t *ref)
{
  check_scalars(f, ref);
  check_fixed(f, ref);
  check_varcorr(f, ref);
  check_ngrps(f, ref);
  json_t *ranef = json_object_get(ref, "ranef");
  for (size_t i = 0; i < json_array_size(ranef); i++) {
    check_ranef_entry(f, json_array_get(ranef, i));
  }
}

/* Whether every ':'-separated part of b is a part of a. */
static int parts_within(const char *a, const char *b)
{
  char bb[256], aa[256];
  snprintf(bb, sizeof bb, "%s", b);
  for (char *sb = NULL, *p = strtok_r(bb, ":", &sb); p;
       p = strtok_r(NULL, ":", &sb)) {
    int found = 0;
    snprintf(aa, sizeof aa, "%s", a);
    for (char *sa = NULL, *q = strtok_r(aa, ":", &sa); q;
         q = strtok_r(NULL, ":", &sa)) {
      found |= !strcmp(p, q);
    }
    if (!found) {
      return 0;
    }
  }
  return 1;
}

/* Issue 8: the JSON's intraclass correlations against the closed form
 * from lme4's variance components: for a model of random intercepts only,
 * ICC_g = var_g / (sum of the variances + sigma^2), and the cumulative ICC
 * of g adds the variances of the groups whose variables are all g's
 * (batch for cask:batch); for any other model, `icc` is null. */
static void check_icc(json_t *mine, json_t *ref)
{
  json_t *vc = json_object_get(ref, "varcorr"),
         *icc = json_object_get(mine, "icc");
  double total = 0;
  int intercepts = 1;
  for (size_t i = 0; i < json_array_size(vc); i++) {
    json_t *e = json_array_get(vc, i);
    const char *v1 = json_string_value(json_object_get(e, "var1"));
    intercepts &= v1 == NULL || !strcmp(v1, "(Intercept)");
    intercepts &= json_is_null(json_object_get(e, "var2"));
    total += num(e, "vcov");
  }
  if (!intercepts) {
    EXPECT(json_is_null(icc), "JSON icc should be null (not intercepts only)");
    return;
  }
  EXPECT((int)json_array_size(icc) + 1 == (int)json_array_size(vc),
         "JSON icc: %zu entries for %zu variance components",
         json_array_size(icc), json_array_size(vc));
  for (size_t i = 0; i < json_array_size(icc); i++) {
    json_t *e = json_array_get(icc, i);
    const char *g = json_string_value(json_object_get(e, "grp"));
    double own = NAN, cum = 0;
    for (size_t k = 0; g && k + 1 < json_array_size(vc); k++) {
      json_t *r = json_array_get(vc, k);
      const char *h = json_string_value(json_object_get(r, "grp"));
      own = !strcmp(h, g) ? num(r, "vcov") / total : own;
      cum += parts_within(g, h) ? num(r, "vcov") / total : 0;
    }
    char what[256];
    snprintf(what, sizeof what, "icc %s", g ? g : "?");
    close_to(what, num(e, "icc"), own, 1e-5, 1e-7);
    snprintf(what, sizeof what, "icc_cumulative %s", g ? g : "?");
    close_to(what, num(e, "icc_cumulative"), cum, 1e-5, 1e-7);
  }
}

/* The JSON summary reads back with the fit's values and lme4.json's field
 * names. */
static void check_json(const hlm_fit *f, json_t *ref)
{
  char path[64];
  json_error_t err;
  snprintf(path, sizeof path, "fit_json_%ld_%s.json", (long)getpid(), method);
  EXPECT(hlm_fit_write_json(f, path) == HLM_OK, "write %s: %s", path,
         hlm_error_message());
  json_t *j = json_load_file(path, 0, &err);
  EXPECT(j != NULL, "read back %s: %s", path, err.text);
  if (j == NULL) {
    return;
  }
  const char *keys[] = {"fixef",    "fixef_se", "varcorr",
                        "sigma",    "logLik",   "AIC",
                        "BIC",      "nobs",     "ngrps",
                        "singular", "ranef",    "deviance_or_reml_criterion"};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
    EXPECT(json_object_get(j, keys[k]) != NULL, "JSON lacks %s", keys[k]);
  }
  for (int i = 0; i < hlm_fit_nfixed(f); i++) {
    EXPECT(num(json_object_get(j, "fixef"), hlm_fit_fixed_name(f, i)) ==
               hlm_fit_fixef(f)[i],
           "JSON fixef %s", hlm_fit_fixed_name(f, i));
  }
  EXPECT(num(j, "deviance_or_reml_criterion") == hlm_fit_criterion(f),
         "JSON criterion");
  method = "JSON";
  check_varcorr(f, j);
  check_ngrps(f, j);
  check_icc(j, ref);
  EXPECT(json_array_size(json_object_get(j, "ranef")) ==
             (size_t)hlm_fit_nterms(f),
         "JSON ranef terms");
  json_decref(j);
  remove(path);
}

/* Issue 7: with HLM_OPTIMIZER=newton, the quasi-Newton fit must need
 * fewer evaluations than BOBYQA (fitted again here) on the same model. */
static void compare_evaluations(const hlm_design *d, int reml, int nnewton)
{
  hlm_fit_options o;
  hlm_fit *f = NULL;
  hlm_fit_options_default(&o);
  o.reml = reml;
  o.optimizer = HLM_FIT_BOBYQA;
  hlm_status s = hlm_fit_run(MPI_COMM_WORLD, d, &o, &f);
  EXPECT(s == HLM_OK, "%s BOBYQA fit failed: %s", method, hlm_error_message());
  if (s == HLM_OK) {
    if (rank == 0) {
      printf("%s evaluations: newton %d, BOBYQA %d\n", method, nnewton,
             hlm_fit_evaluations(f));
    }
    /* HLM_TEST_ANY_EVALUATIONS: a data set built to defeat the optimizer,
     * where only the answer counts (the BOBYQA handover may cost more) */
    EXPECT(nnewton < hlm_fit_evaluations(f) ||
               getenv("HLM_TEST_ANY_EVALUATIONS") != NULL,
           "%s: newton needed %d evaluations, BOBYQA %d", method, nnewton,
           hlm_fit_evaluations(f));
  }
  hlm_fit_destroy(&f);
}

static void fit_and_check(const hlm_design *d, json_t *root, int reml)
{
  hlm_fit_options o;
  hlm_fit *f = NULL;
  hlm_fit_options_default(&o);
  o.reml = reml;
  method = reml ? "REML" : "ML";
  hlm_status s = hlm_fit_run(MPI_COMM_WORLD, d, &o, &f);
  EXPECT(s == HLM_OK, "%s fit failed: %s", method, hlm_error_message());
  if (s == HLM_OK && o.optimizer == HLM_FIT_NEWTON) {
    compare_evaluations(d, reml, hlm_fit_evaluations(f));
  }
  if (s == HLM_OK && rank == 0) {
    check_fit(f, json_object_get(root, method));
    check_json(f, json_object_get(root, method));
    hlm_fit_print_summary(f, stdout);
    printf("\n");
  }
  hlm_fit_destroy(&f);
}

int main(int argc, char **argv)
{
  int size = 1, total = 0;
  hlm_design *d = NULL;
  json_t *root = NULL;
  json_error_t jerr;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  hlm_error_install_handlers();
  if (argc < 5) {
    fprintf(stderr, "usage: test_fit_reference DATA.h5 lme4.json FORMULA "
                    "CLUSTER\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  root = json_load_file(argv[2], 0, &jerr);
  if (root == NULL) {
    fprintf(stderr, "%s: %s\n", argv[2], jerr.text);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  hlm_design_options dopt = {argc > 5 ? argv[5] : NULL, NULL};
  hlm_status s =
      fit_util_load_opt(MPI_COMM_WORLD, argv[1], argv[3], argv[4], &dopt, &d);
  EXPECT(s == HLM_OK, "design: %s", hlm_error_message());
  if (s == HLM_OK) {
    fit_and_check(d, root, 1);
    fit_and_check(d, root, 0);
  }
  hlm_design_destroy(&d);
  json_decref(root);
  MPI_Allreduce(&nbad, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("largest relative differences from lme4:");
    for (int k = 0; k < 9; k++) {
      printf(" %s %.2g", kinds[k], worst[k]);
    }
    printf("\n");
    printf("test_fit_reference %s: %d ranks, %d checks, %d failed\n", argv[1],
           size, nchecked, total);
  }
  MPI_Finalize();
  return total != 0;
}
