/* MPI test of the F tests of the fixed terms against lmerTest's anova()
 * (data/<set>/lmertest_anova.json, made by data/anova_reference.R with
 * lmerTest 3.1-3 on lme4 1.1-31; type III, Satterthwaite):
 *   - the hypothesis matrix of every term equal to lmerTest's (1e-9);
 *   - at lmerTest's theta (the file's "theta"; our fit started there and
 *     stopped after one evaluation): F and Sum Sq within 1e-6 relative,
 *     DenDF within 1e-4 relative, NumDF equal, p within 1e-4 relative;
 *   - at our own optimum, F and Sum Sq within 1e-5 relative (the REML
 *     criterion is flat to 1e-10 over theta differences of 1e-6, oats and
 *     sleepstudy: lme4's BOBYQA stops 7e-11 above our optimum), the rest
 *     as above;
 *   - the same F and DenDF bits on every rank.
 * usage: test_anova_reference DATA.h5 lmertest_anova.json FORMULA CLUSTER */
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "fit_util.h"
#include "hlm/infer.h"

static int rank = 0, nbad = 0, nchecked = 0;
static double ftol = 1e-6, worst_f = 0, worst_df = 0;

static void close_to(const char *what, const char *term, double got,
                     double want, double rel)
{
  double r = fit_util_reldiff(got, want);
  nchecked++;
  if (!(r <= rel)) {
    nbad++;
    fprintf(stderr, "rank %d: %s %s: got %.12g, want %.12g (rel %.3g)\n", rank,
            what, term, got, want, r);
  }
}

static double num(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static void check_hypothesis(const hlm_infer_ftest *t, json_t *h, int p)
{
  json_t *rows = json_object_get(h, "rows");
  nchecked++;
  if (json_array_size(rows) != (size_t)t->nrow) {
    nbad++;
    fprintf(stderr, "rank %d: %s: %d hypothesis rows, lmerTest %zu\n", rank,
            t->term, t->nrow, json_array_size(rows));
    return;
  }
  for (int r = 0; r < t->nrow; r++) {
    json_t *row = json_array_get(rows, r);
    for (int j = 0; j < p; j++) {
      double want = json_number_value(json_array_get(row, j));
      double got = t->L[(size_t)r * p + j];
      nchecked++;
      if (!(fabs(got - want) <= 1e-9)) {
        nbad++;
        fprintf(stderr, "rank %d: %s: L[%d][%d] = %.10g, lmerTest %.10g\n",
                rank, t->term, r, j, got, want);
      }
    }
  }
}

static void check_anova(const hlm_infer *inf, json_t *ref, int p)
{
  json_t *tab = json_object_get(ref, "type_III");
  json_t *hyp = json_object_get(ref, "hypotheses_III");
  nchecked++;
  if (json_array_size(tab) != (size_t)hlm_infer_nanova(inf)) {
    nbad++;
    fprintf(stderr, "rank %d: %d F tests, lmerTest %zu\n", rank,
            hlm_infer_nanova(inf), json_array_size(tab));
    return;
  }
  for (int i = 0; i < hlm_infer_nanova(inf); i++) {
    const hlm_infer_ftest *t = hlm_infer_anova(inf, i);
    json_t *e = json_array_get(tab, i);
    const char *term = json_string_value(json_object_get(e, "term"));
    nchecked++;
    if (term == NULL || strcmp(term, t->term) != 0) {
      nbad++;
      fprintf(stderr, "rank %d: term %d is %s, lmerTest %s\n", rank, i, t->term,
              term ? term : "?");
      continue;
    }
    if (rank == 0) {
      printf("%-16s F %.10g (lmerTest %.10g)  DenDF %.10g (lmerTest %.10g)\n",
             t->term, t->F, num(e, "F"), t->den_df, num(e, "den_df"));
    }
    double rf = fit_util_reldiff(t->F, num(e, "F"));
    double rd = fit_util_reldiff(t->den_df, num(e, "den_df"));
    worst_f = rf > worst_f ? rf : worst_f;
    worst_df = rd > worst_df ? rd : worst_df;
    close_to("F", term, t->F, num(e, "F"), ftol);
    close_to("Sum Sq", term, t->sum_sq, num(e, "sum_sq"), ftol);
    close_to("NumDF", term, t->num_df, num(e, "num_df"), 0);
    close_to("DenDF", term, t->den_df, num(e, "den_df"), 1e-4);
    close_to("p", term, t->p, num(e, "p"), 1e-4);
    check_hypothesis(t, json_object_get(hyp, term), p);
    double v[2] = {t->F, t->den_df}, lo[2], hi[2];
    MPI_Allreduce(v, lo, 2, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(v, hi, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    close_to("F across ranks", term, lo[0], hi[0], 0);
    close_to("DenDF across ranks", term, lo[1], hi[1], 0);
  }
}

/* theta0: start the fit there and stop after one evaluation (NULL: fit). */
static int run(const char *h5, json_t *ref, const char *formula,
               const char *cluster, const double *theta0)
{
  hlm_fit_options fo;
  hlm_fit_options_default(&fo);
  if (theta0) {
    fo.theta0 = theta0;
    fo.maxeval = 1;
  }
  hlm_design *d = NULL;
  hlm_fit *f = NULL;
  hlm_infer *inf = NULL;
  hlm_formula *fm = NULL;
  hlm_infer_options o;
  if (fit_util_load(MPI_COMM_WORLD, h5, formula, cluster, &d) != HLM_OK ||
      hlm_formula_parse(formula, &fm) != HLM_OK ||
      hlm_fit_run(MPI_COMM_WORLD, d, &fo, &f) != HLM_OK) {
    hlm_formula_destroy(&fm);
    hlm_design_destroy(&d);
    return 1;
  }
  hlm_infer_options_default(&o);
  o.formula = fm;
  if (hlm_infer_run(MPI_COMM_WORLD, d, f, &o, &inf) != HLM_OK) {
    fprintf(stderr, "rank %d: %s\n", rank, hlm_error_message());
    nbad++;
  } else {
    check_anova(inf, ref, hlm_fit_nfixed(f));
  }
  hlm_infer_destroy(&inf);
  hlm_fit_destroy(&f);
  hlm_formula_destroy(&fm);
  hlm_design_destroy(&d);
  return 0;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  gsl_set_error_handler_off();
  if (argc != 5) {
    fprintf(stderr, "usage: %s DATA.h5 lmertest_anova.json FORMULA CLUSTER\n",
            argv[0]);
    MPI_Finalize();
    return 2;
  }
  json_error_t err;
  json_t *ref = json_load_file(argv[2], 0, &err);
  if (ref == NULL) {
    fprintf(stderr, "%s: %s\n", argv[2], err.text);
    MPI_Finalize();
    return 2;
  }
  json_t *th = json_object_get(ref, "theta");
  double theta[64];
  for (size_t i = 0; i < json_array_size(th) && i < 64; i++) {
    theta[i] = json_number_value(json_array_get(th, i));
  }
  if (rank == 0) {
    printf("at lmerTest's theta:\n");
  }
  int bad = run(argv[1], ref, argv[3], argv[4], theta);
  if (rank == 0) {
    printf("worst rel diff: F %.3g, DenDF %.3g\nat our optimum:\n", worst_f,
           worst_df);
  }
  worst_f = worst_df = 0;
  ftol = 1e-5;
  bad |= run(argv[1], ref, argv[3], argv[4], NULL);
  json_decref(ref);
  if (rank == 0) {
    printf("worst rel diff: F %.3g, DenDF %.3g\n%d checks, %d failed\n",
           worst_f, worst_df, nchecked, nbad);
  }
  MPI_Allreduce(MPI_IN_PLACE, &nbad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Finalize();
  return bad || nbad ? 1 : 0;
}
