/* rng.c: Philox4x64-10 streams, normals and gammas (rng.h). */
#include "rng.h"

#include <Random123/philox.h>
#include <math.h>

#define HLM_TWO_PI 6.28318530717958647693

void hlm_rng_init(hlm_rng *r, uint64_t seed, uint64_t chain, uint64_t id,
                  uint64_t iteration)
{
  r->key[0] = seed;
  r->key[1] = chain;
  r->ctr[0] = id;
  r->ctr[1] = iteration;
  r->ctr[2] = 0;
  r->used = 4;
  r->has_spare = 0;
  r->spare = 0.0;
}

static void refill(hlm_rng *r)
{
  philox4x64_ctr_t c = {{r->ctr[0], r->ctr[1], r->ctr[2], 0}};
  philox4x64_key_t k = {{r->key[0], r->key[1]}};
  philox4x64_ctr_t x = philox4x64(c, k);
  for (int i = 0; i < 4; i++) {
    /* 53 random bits, centred in their interval: never 0 or 1 */
    r->buf[i] = ((double)(x.v[i] >> 11) + 0.5) * 0x1.0p-53;
  }
  r->ctr[2]++;
  r->used = 0;
}

double hlm_rng_uniform(hlm_rng *r)
{
  if (r->used == 4) {
    refill(r);
  }
  return r->buf[r->used++];
}

double hlm_rng_normal(hlm_rng *r)
{
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double u1 = hlm_rng_uniform(r), u2 = hlm_rng_uniform(r);
  double rad = sqrt(-2.0 * log(u1));
  r->spare = rad * sin(HLM_TWO_PI * u2);
  r->has_spare = 1;
  return rad * cos(HLM_TWO_PI * u2);
}

/* Marsaglia and Tsang (2000), shape >= 1. */
static double gamma_ge1(hlm_rng *r, double a)
{
  double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x = hlm_rng_normal(r), v = 1.0 + c * x;
    if (v <= 0.0) {
      continue;
    }
    v = v * v * v;
    double u = hlm_rng_uniform(r);
    if (u < 1.0 - 0.0331 * x * x * x * x ||
        log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) {
      return d * v;
    }
  }
}

double hlm_rng_gamma(hlm_rng *r, double shape)
{
  if (shape >= 1.0) {
    return gamma_ge1(r, shape);
  }
  /* gamma(a) = gamma(a + 1) U^(1/a) */
  double g = gamma_ge1(r, shape + 1.0);
  return g * pow(hlm_rng_uniform(r), 1.0 / shape);
}
