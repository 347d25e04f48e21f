/* bayes_diag.c: posterior summaries and convergence diagnostics of a
 * parameter's draws (Gelman et al., BDA3, sections 11.4 and 11.5; Stan's
 * reference manual, "Effective sample size").
 *
 * Each of the C chains of n draws is split in half: M = 2C chains of
 * N = floor(n / 2) draws (the middle draw of an odd chain is dropped).
 *   W = mean of the chains' variances,  B / N = variance of their means,
 *   var+ = (N - 1) / N W + B / N,  R-hat = sqrt(var+ / W).
 * rho_t = 1 - (W - mean_m acov_m(t)) / var+ (acov with divisor N), summed
 * in pairs P_k = rho_2k + rho_2k+1 while positive, made monotone (Geyer's
 * initial monotone sequence), tau = -1 + 2 sum P_k, ESS = M N / tau.
 * MCSE of the mean = sd / sqrt(ESS).  Quantiles: R's type 7 on the pooled
 * draws. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bayes.h"

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double quantile7(const double *sorted, int64_t n, double prob)
{
  double h = (double)(n - 1) * prob;
  int64_t lo = (int64_t)floor(h);
  int64_t hi = lo + 1 < n ? lo + 1 : n - 1;
  return sorted[lo] + (h - (double)lo) * (sorted[hi] - sorted[lo]);
}

/* acov of half chain m at lag t (divisor N), its mean mu. */
static double acov(const double *h, int64_t N, double mu, int64_t t)
{
  double s = 0.0;
  for (int64_t i = 0; i + t < N; i++) {
    s += (h[i] - mu) * (h[i + t] - mu);
  }
  return s / (double)N;
}

/* Pointer to half chain k (of 2 nchain) of x. */
static const double *half(const double *x, int64_t n, int64_t N, int k)
{
  return x + (int64_t)(k / 2) * n + (k % 2 ? n - N : 0);
}

static void rhat_ess(const double *x, int nchain, int64_t n, double *mu,
                     hlm_bayes_stat *st)
{
  int M = 2 * nchain;
  int64_t N = n / 2;
  double W = 0.0, mbar = 0.0, B = 0.0;
  for (int k = 0; k < M; k++) {
    const double *h = half(x, n, N, k);
    double s = 0.0, v = 0.0;
    for (int64_t i = 0; i < N; i++) {
      s += h[i];
    }
    mu[k] = s / (double)N;
    for (int64_t i = 0; i < N; i++) {
      v += (h[i] - mu[k]) * (h[i] - mu[k]);
    }
    W += v / (double)(N - 1);
    mbar += mu[k];
  }
  W /= M;
  mbar /= M;
  for (int k = 0; k < M; k++) {
    B += (mu[k] - mbar) * (mu[k] - mbar);
  }
  B = B * (double)N / (M - 1);
  double varp = (double)(N - 1) / (double)N * W + B / (double)N;
  if (!(W > 0.0)) { /* constant draws */
    st->rhat = NAN;
    st->ess = NAN;
    return;
  }
  st->rhat = sqrt(varp / W);
  double sum = 0.0, prev = HUGE_VAL;
  for (int64_t t = 0; t + 1 < N; t += 2) {
    double a0 = 0.0, a1 = 0.0;
    for (int k = 0; k < M; k++) {
      const double *h = half(x, n, N, k);
      a0 += acov(h, N, mu[k], t);
      a1 += acov(h, N, mu[k], t + 1);
    }
    double r0 = t == 0 ? 1.0 : 1.0 - (W - a0 / M) / varp;
    double r1 = 1.0 - (W - a1 / M) / varp;
    double P = r0 + r1;
    if (P < 0.0) {
      break;
    }
    P = P < prev ? P : prev;
    sum += P;
    prev = P;
  }
  double tau = -1.0 + 2.0 * sum;
  double big = (double)M * (double)N;
  tau = tau > 1.0 / log10(big) ? tau : 1.0 / log10(big);
  st->ess = big / tau;
}

hlm_status hlm_bayes_stats(const double *x, int nchain, int64_t n,
                           hlm_bayes_stat *st)
{
  hlm_status status = HLM_OK;
  int64_t tot = (int64_t)nchain * n;
  double *s = NULL, *mu = NULL, sum = 0.0, ss = 0.0;
  HLM_CHECK(n >= 4 && nchain >= 1, HLM_ERR_INVALID_ARG,
            "diagnostics need at least 4 draws per chain (got %lld)",
            (long long)n);
  HLM_ALLOC(s, tot);
  HLM_ALLOC(mu, 2 * nchain);
  memcpy(s, x, (size_t)tot * sizeof *s);
  for (int64_t i = 0; i < tot; i++) {
    sum += s[i];
  }
  st->mean = sum / (double)tot;
  for (int64_t i = 0; i < tot; i++) {
    ss += (s[i] - st->mean) * (s[i] - st->mean);
  }
  st->sd = sqrt(ss / (double)(tot - 1));
  qsort(s, (size_t)tot, sizeof *s, cmp_double);
  st->q025 = quantile7(s, tot, 0.025);
  st->q50 = quantile7(s, tot, 0.5);
  st->q975 = quantile7(s, tot, 0.975);
  rhat_ess(x, nchain, n, mu, st);
  st->mcse = st->sd / sqrt(st->ess);
cleanup:
  free(s);
  free(mu);
  return status;
}
