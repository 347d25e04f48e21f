/* rng.h: counter-based random numbers for the Gibbs sampler (Random123's
 * Philox4x64-10).  A stream is keyed by (seed, chain) and counted by
 * (stream id, iteration, block): the draws of cluster j at iteration t
 * depend only on (seed, chain, j's global id, t), never on which rank owns
 * the cluster.  Normals by Box-Muller, gammas by Marsaglia and Tsang.
 * Not installed. */
#ifndef HLM_RNG_H
#define HLM_RNG_H

#include <stdint.h>

typedef struct hlm_rng {
  uint64_t key[2]; /* seed, chain */
  uint64_t ctr[3]; /* stream id, iteration, block */
  double buf[4];   /* uniforms of the current block */
  int used;        /* of buf */
  double spare;    /* second Box-Muller normal */
  int has_spare;
} hlm_rng;

/* Local.  The stream (seed, chain, id, iteration), at its first block. */
void hlm_rng_init(hlm_rng *r, uint64_t seed, uint64_t chain, uint64_t id,
                  uint64_t iteration);
/* Local.  A uniform on (0, 1). */
double hlm_rng_uniform(hlm_rng *r);
/* Local.  A standard normal. */
double hlm_rng_normal(hlm_rng *r);
/* Local.  A gamma(shape, 1) variate, shape > 0. */
double hlm_rng_gamma(hlm_rng *r, double shape);

#endif /* HLM_RNG_H */
