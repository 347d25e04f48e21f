/* mme_cache.c: the clusters' absorbed blocks at the last theta.
 *
 * A criterion evaluation and its gradient (and Satterthwaite's pairs of
 * evaluations) absorb every cluster at the same theta: factor C_jj and
 * form W_j = L^-1 T'Z'H_j and w_j.  The cache keeps each cluster's factor
 * (its tree panels or dense q x q), W_j, w_j and log det C_jj from the
 * first pass, so the second copies them back instead of recomputing.  A
 * new theta (compared bitwise) invalidates every slot.  Off when the slots
 * would need more than HLM_ABSORB_CACHE_MB (default 256) MiB per rank. */
#include <stdlib.h>
#include <string.h>

#include "mme_cache.h"

struct hlm_absorb_cache {
  int ntheta;
  double *theta;   /* the theta the valid slots belong to */
  unsigned gen;    /* current generation; a slot is valid if its stamp is */
  unsigned *stamp; /* ncl */
  size_t *off;     /* ncl + 1: slot offsets in data */
  double *data;
};

void hlm_absorb_cache_destroy(hlm_absorb_cache **cp)
{
  if (cp == NULL || *cp == NULL) {
    return;
  }
  hlm_absorb_cache *c = *cp;
  free(c->theta);
  free(c->stamp);
  free(c->off);
  free(c->data);
  free(c);
  *cp = NULL;
}

static double cache_cap_bytes(void)
{
  const char *env = getenv("HLM_ABSORB_CACHE_MB");
  double mb = env != NULL ? atof(env) : 256.0;
  return mb * 1024.0 * 1024.0;
}

/* Doubles of cluster j's factor (tree panels or dense q x q) and of its
 * whole slot: factor, W_j (q x h), w_j (q), log det C_jj. */
static size_t factor_doubles(const hlm_mme *m, int64_t j)
{
  const hlm_xblock *b = &m->blk[j];
  return b->tree != NULL ? b->tree->npanel : (size_t)b->q * (size_t)b->q;
}

static size_t slot_doubles(const hlm_mme *m, int64_t j)
{
  const hlm_xblock *b = &m->blk[j];
  return factor_doubles(m, j) + (size_t)b->q * (size_t)(b->ng + m->p + 1) + 1;
}

hlm_status hlm_absorb_cache_create(const hlm_mme *m, hlm_absorb_cache **out)
{
  hlm_status status = HLM_OK;
  hlm_absorb_cache *c = NULL;
  *out = NULL;
  if (m->distributed || m->ncl == 0) {
    return HLM_OK; /* no cache: every pass absorbs */
  }
  HLM_ALLOC(c, 1);
  HLM_ALLOC(c->off, m->ncl + 1);
  for (int64_t j = 0; j < m->ncl; j++) {
    c->off[j + 1] = c->off[j] + slot_doubles(m, j);
  }
  if (8.0 * (double)c->off[m->ncl] > cache_cap_bytes()) {
    goto cleanup; /* too big: no cache */
  }
  c->ntheta = hlm_design_ntheta(m->d);
  HLM_ALLOC(c->theta, c->ntheta > 0 ? c->ntheta : 1);
  HLM_ALLOC(c->stamp, m->ncl);
  HLM_ALLOC(c->data, c->off[m->ncl] > 0 ? c->off[m->ncl] : 1);
  c->gen = 1; /* stamps start at 0: nothing valid */
  *out = c;
  c = NULL;
cleanup:
  hlm_absorb_cache_destroy(&c);
  return status;
}

/* Start a new generation when theta changed. */
static void cache_theta(hlm_absorb_cache *c, const double *theta)
{
  size_t bytes = (size_t)c->ntheta * sizeof *theta;
  if (memcmp(c->theta, theta, bytes) != 0) {
    memcpy(c->theta, theta, bytes);
    c->gen++;
  }
}

/* Copy between cluster j's slot and the work arrays absorb_cluster fills
 * (its factor in m->tW or m->C, m->B, m->w; to_slot: work -> slot). */
static void copy_slot(hlm_mme *m, int64_t j, double *slot, int to_slot)
{
  const hlm_xblock *b = &m->blk[j];
  size_t nf = factor_doubles(m, j), nb = (size_t)b->q * (size_t)(b->ng + m->p);
  double *work[3] = {b->tree != NULL ? m->tW : m->C, m->B, m->w};
  size_t len[3] = {nf, nb, (size_t)b->q};
  for (int k = 0; k < 3; k++) {
    memcpy(to_slot ? slot : work[k], to_slot ? work[k] : slot,
           len[k] * sizeof *slot);
    slot += len[k];
  }
}

int hlm_absorb_cache_get(hlm_mme *m, int64_t j, const double *theta, double *ld)
{
  hlm_absorb_cache *c = m->cache;
  if (c == NULL) {
    return 0;
  }
  cache_theta(c, theta);
  if (c->stamp[j] != c->gen) {
    return 0;
  }
  copy_slot(m, j, c->data + c->off[j], 0);
  *ld += c->data[c->off[j + 1] - 1];
  return 1;
}

void hlm_absorb_cache_put(hlm_mme *m, int64_t j, const double *theta, double ld)
{
  hlm_absorb_cache *c = m->cache;
  if (c == NULL) {
    return;
  }
  cache_theta(c, theta);
  copy_slot(m, j, c->data + c->off[j], 1);
  c->data[c->off[j + 1] - 1] = ld;
  c->stamp[j] = c->gen;
}
