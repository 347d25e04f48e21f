/* test_bayes_diag.c: the sampler's random numbers (src/rng.c) and
 * posterior diagnostics (src/bayes_diag.c) against closed forms:
 * moments of the normals and gammas; split R-hat and quantiles of a
 * hand-worked example; the effective sample size of AR(1) chains, whose
 * integrated autocorrelation time is (1 + phi) / (1 - phi). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "bayes.h"
#include "rng.h"

/* Mean and variance of n draws of gamma(shape) (normal: shape 0). */
static void moments(double shape, int n, double *mean, double *var)
{
  hlm_rng r;
  double s = 0.0, ss = 0.0;
  hlm_rng_init(&r, 12345, 1, 7, 0);
  for (int i = 0; i < n; i++) {
    double x = shape > 0 ? hlm_rng_gamma(&r, shape) : hlm_rng_normal(&r);
    s += x;
    ss += x * x;
  }
  *mean = s / n;
  *var = ss / n - *mean * *mean;
}

static void test_moments(void **state)
{
  (void)state;
  const int n = 400000;
  double m = 0, v = 0;
  moments(0.0, n, &m, &v);
  /* SE of the mean 1/sqrt(n); of the variance sqrt(2/n) */
  assert_true(fabs(m) < 4.0 / sqrt(n));
  assert_true(fabs(v - 1.0) < 4.0 * sqrt(2.0 / n));
  const double shapes[] = {0.3, 1.0, 2.5, 50.0};
  for (int i = 0; i < 4; i++) {
    double a = shapes[i];
    moments(a, n, &m, &v);
    /* gamma(a): mean a, variance a, fourth central moment 3a^2 + 6a */
    assert_true(fabs(m - a) < 4.0 * sqrt(a / n));
    assert_true(fabs(v - a) < 4.0 * sqrt((3 * a * a + 6 * a - a * a) / n));
  }
}

static void test_streams_differ(void **state)
{
  (void)state;
  hlm_rng a, b, c;
  hlm_rng_init(&a, 1, 0, 5, 9);
  hlm_rng_init(&b, 1, 0, 5, 9);
  hlm_rng_init(&c, 1, 0, 6, 9);
  double xa = hlm_rng_normal(&a), xb = hlm_rng_normal(&b);
  assert_true(xa == xb); /* a stream is a pure function of its key */
  assert_true(xa != hlm_rng_normal(&c));
}

static void test_rhat_by_hand(void **state)
{
  (void)state;
  /* chains 1..4 and 5..8; halves (1,2) (3,4) (5,6) (7,8): W = 1/2,
   * B = 2 var(1.5, 3.5, 5.5, 7.5) = 40/3, var+ = W/2 + B/2 = 83/12,
   * R-hat = sqrt(var+ / W) = sqrt(83/6) */
  double x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  hlm_bayes_stat st;
  assert_int_equal(hlm_bayes_stats(x, 2, 4, &st), HLM_OK);
  assert_true(fabs(st.rhat - sqrt(83.0 / 6.0)) < 1e-12);
  assert_true(fabs(st.mean - 4.5) < 1e-15);
  assert_true(fabs(st.sd - sqrt(6.0)) < 1e-12); /* var(1..8) = 6 */
  /* R: quantile(1:8, c(.025, .5, .975)) = 1.175 4.5 7.825 */
  assert_true(fabs(st.q025 - 1.175) < 1e-12);
  assert_true(fabs(st.q50 - 4.5) < 1e-12);
  assert_true(fabs(st.q975 - 7.825) < 1e-12);
}

/* ESS of nchain AR(1) chains x_t = phi x_{t-1} + sqrt(1 - phi^2) e_t,
 * started in the stationary distribution, relative to the closed form
 * n nchain (1 - phi) / (1 + phi). */
static double ar1_ess_ratio(double phi, int nchain, int64_t n, double shift,
                            double *rhat)
{
  double *x = malloc((size_t)(nchain * n) * sizeof *x);
  hlm_bayes_stat st;
  for (int c = 0; c < nchain; c++) {
    hlm_rng r;
    hlm_rng_init(&r, 99, (uint64_t)c, 0, 0);
    double v = hlm_rng_normal(&r);
    for (int64_t t = 0; t < n; t++) {
      v = phi * v + sqrt(1 - phi * phi) * hlm_rng_normal(&r);
      x[c * n + t] = v + (c == 0 ? shift : 0.0);
    }
  }
  assert_int_equal(hlm_bayes_stats(x, nchain, n, &st), HLM_OK);
  free(x);
  *rhat = st.rhat;
  return st.ess / ((double)n * nchain * (1 - phi) / (1 + phi));
}

static void test_ar1_ess(void **state)
{
  (void)state;
  double rhat = 0;
  const double phis[] = {0.0, 0.5, 0.9, -0.3};
  for (int i = 0; i < 4; i++) {
    double ratio = ar1_ess_ratio(phis[i], 4, 20000, 0.0, &rhat);
    print_message("AR(1) phi %.1f: ESS / closed form = %.3f, R-hat %.4f\n",
                  phis[i], ratio, rhat);
    assert_true(fabs(ratio - 1.0) < (phis[i] > 0.8 ? 0.15 : 0.08));
    assert_true(fabs(rhat - 1.0) < 0.005);
  }
  /* one chain shifted by 1 SD: R-hat well above 1.1 */
  ar1_ess_ratio(0.5, 4, 2000, 1.0, &rhat);
  assert_true(rhat > 1.1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_moments),
      cmocka_unit_test(test_streams_differ),
      cmocka_unit_test(test_rhat_by_hand),
      cmocka_unit_test(test_ar1_ess),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
