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
  size_t *nfactor; /* ncl: doubles of the factor */
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
  free(c->nfactor);
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

hlm_status hlm_absorb_cache_create(const hlm_mme *m, hlm_absorb_cache **out)
{
  hlm_status status = HLM_OK;
  hlm_absorb_cache *c = NULL;
  double total = 0.0;
  *out = NULL;
  for (int64_t j = 0; j < m->ncl; j++) {
    const hlm_xblock *b = &m->blk[j];
    double nf = b->tree != NULL ? (double)b->tree->npanel : (double)b->q * b->q;
    total += nf + (double)b->q * (b->ng + m->p + 1) + 1;
  }
  if (m->distributed || m->ncl == 0 || 8.0 * total > cache_cap_bytes()) {
    return HLM_OK; /* no cache: every pass absorbs */
  }
  HLM_ALLOC(c, 1);
  c->ntheta = hlm_design_ntheta(m->d);
  HLM_ALLOC(c->theta, c->ntheta > 0 ? c->ntheta : 1);
  HLM_ALLOC(c->stamp, m->ncl);
  HLM_ALLOC(c->off, m->ncl + 1);
  HLM_ALLOC(c->nfactor, m->ncl);
  for (int64_t j = 0; j < m->ncl; j++) {
    const hlm_xblock *b = &m->blk[j];
    c->nfactor[j] =
        b->tree != NULL ? b->tree->npanel : (size_t)b->q * (size_t)b->q;
    c->off[j + 1] = c->off[j] + c->nfactor[j] +
                    (size_t)b->q * (size_t)(b->ng + m->p + 1) + 1;
  }
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

/* The factor's work array of cluster j: tree panels or dense C. */
static double *factor_of(hlm_mme *m, int64_t j)
{
  return m->blk[j].tree != NULL ? m->tW : m->C;
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
  const hlm_xblock *b = &m->blk[j];
  size_t nb = (size_t)b->q * (size_t)(b->ng + m->p);
  const double *s = c->data + c->off[j];
  memcpy(factor_of(m, j), s, c->nfactor[j] * sizeof *s);
  s += c->nfactor[j];
  memcpy(m->B, s, nb * sizeof *s);
  memcpy(m->w, s + nb, (size_t)b->q * sizeof *s);
  *ld += s[nb + (size_t)b->q];
  return 1;
}

void hlm_absorb_cache_put(hlm_mme *m, int64_t j, const double *theta, double ld)
{
  hlm_absorb_cache *c = m->cache;
  if (c == NULL) {
    return;
  }
  cache_theta(c, theta);
  const hlm_xblock *b = &m->blk[j];
  size_t nb = (size_t)b->q * (size_t)(b->ng + m->p);
  double *s = c->data + c->off[j];
  memcpy(s, factor_of(m, j), c->nfactor[j] * sizeof *s);
  s += c->nfactor[j];
  memcpy(s, m->B, nb * sizeof *s);
  memcpy(s + nb, m->w, (size_t)b->q * sizeof *s);
  s[nb + (size_t)b->q] = ld;
  c->stamp[j] = c->gen;
}
