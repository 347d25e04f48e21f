/* MPI test of the quasi-Newton optimizer's special paths (issue 7), against
 * lme4 (lme4.json):
 *   --singular: dyestuff2 from theta = 0.5 ends on the bound exactly
 *     (theta 0, singular) with lme4's fixed effect and sigma (1e-6, 1e-5);
 *   --from-zero: dyestuff from theta = 0 (held at the bound, derivative 0)
 *     is released by the bound test and reaches lme4's criterion (1e-7);
 *   --near-bound: sleepstudy from a correlated factor with a diagonal of
 *     5e-5 (where NLopt's BOBYQA stops at a wrong point, criterion 1753.3)
 *     reaches lme4's criterion (1e-7);
 *   --handover: the same from a zero diagonal, where the gradient is not
 *     available: BOBYQA finishes from there and reaches lme4's criterion;
 *   --maxeval: sleepstudy with 3 evaluations allowed returns without an
 *     error, not converged.
 * REML and ML each.
 * usage: test_newton DATA.h5 lme4.json FORMULA CLUSTER --MODE */
#include <jansson.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "fit_util.h"

static int rank = 0, nbad = 0;

#define EXPECT(cond, ...)                                                      \
  do {                                                                         \
    if (!(cond) && nbad++ < 30) {                                              \
      fprintf(stderr, "rank %d: check failed: ", rank);                        \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, "\n");                                                   \
    }                                                                          \
  } while (0)

static double num(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static void run_case(const hlm_design *d, json_t *ref, const char *mode,
                     int reml)
{
  const char *m = reml ? "REML" : "ML";
  double th0[3] = {0.5, 0.0, 0.0};
  hlm_fit_options o;
  hlm_fit *f = NULL;
  hlm_fit_options_default(&o);
  o.reml = reml;
  o.optimizer = HLM_FIT_NEWTON;
  o.theta0 = th0;
  if (!strcmp(mode, "--from-zero")) {
    th0[0] = 0.0;
  } else { /* sleepstudy: (1, 0.3, 5e-5), or 0 for the handover */
    th0[0] = 1.0, th0[1] = 0.3, th0[2] = strcmp(mode, "--handover") ? 5e-5 : 0;
    o.maxeval = !strcmp(mode, "--maxeval") ? 3 : o.maxeval;
  }
  hlm_status s = hlm_fit_run(MPI_COMM_WORLD, d, &o, &f);
  EXPECT(s == HLM_OK, "%s %s: fit failed: %s", m, mode, hlm_error_message());
  if (s != HLM_OK) {
    return;
  }
  json_t *r = json_object_get(ref, m);
  double crit = num(r, "deviance_or_reml_criterion");
  if (rank == 0) {
    printf("%s %s: criterion %.12g (lme4 %.12g), %d evaluations, "
           "converged %d, singular %d, theta[0] %.3g\n",
           m, mode, hlm_fit_criterion(f), crit, hlm_fit_evaluations(f),
           hlm_fit_converged(f), hlm_fit_singular(f), hlm_fit_theta(f)[0]);
  }
  if (!strcmp(mode, "--maxeval")) {
    EXPECT(!hlm_fit_converged(f) && hlm_fit_evaluations(f) <= 3,
           "%s: converged %d after %d evaluations", m, hlm_fit_converged(f),
           hlm_fit_evaluations(f));
  } else {
    EXPECT(hlm_fit_converged(f), "%s %s: not converged", m, mode);
    EXPECT(fabs(hlm_fit_criterion(f) - crit) <= 1e-7 * fabs(crit),
           "%s %s: criterion %.12g, lme4 %.12g", m, mode, hlm_fit_criterion(f),
           crit);
  }
  if (!strcmp(mode, "--singular")) {
    double b = num(json_object_get(r, "fixef"), "(Intercept)");
    EXPECT(hlm_fit_singular(f) && hlm_fit_theta(f)[0] == 0.0,
           "%s: singular %d, theta %.3g", m, hlm_fit_singular(f),
           hlm_fit_theta(f)[0]);
    EXPECT(fabs(hlm_fit_fixef(f)[0] - b) <= 1e-6 * fabs(b),
           "%s: fixed effect %.12g, lme4 %.12g", m, hlm_fit_fixef(f)[0], b);
    EXPECT(fabs(hlm_fit_sigma(f) - num(r, "sigma")) <= 1e-5 * num(r, "sigma"),
           "%s: sigma %.12g, lme4 %.12g", m, hlm_fit_sigma(f), num(r, "sigma"));
  }
  hlm_fit_destroy(&f);
}

int main(int argc, char **argv)
{
  int all = 0;
  hlm_design *d = NULL;
  json_error_t jerr;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc != 6) {
    fprintf(stderr,
            "usage: test_newton DATA.h5 lme4.json FORMULA CLUSTER "
            "--singular|--from-zero|--near-bound|--handover|--maxeval\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  json_t *ref = json_load_file(argv[2], 0, &jerr);
  if (ref == NULL ||
      fit_util_load(MPI_COMM_WORLD, argv[1], argv[3], argv[4], &d) != HLM_OK) {
    fprintf(stderr, "cannot load %s or %s\n", argv[1], argv[2]);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  run_case(d, ref, argv[5], 1);
  run_case(d, ref, argv[5], 0);
  MPI_Allreduce(&nbad, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("test_newton %s: %s\n", argv[5], all ? "FAILED" : "ok");
  }
  hlm_design_destroy(&d);
  json_decref(ref);
  MPI_Finalize();
  return all != 0;
}
