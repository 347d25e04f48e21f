/* mme_cache.h: the clusters' absorbed blocks kept between two passes at
 * the same theta (mme_cache.c).  Local: no MPI. */
#ifndef HLM_MME_CACHE_H
#define HLM_MME_CACHE_H

#include "mme_internal.h"

typedef struct hlm_absorb_cache hlm_absorb_cache;

/* A cache for m's clusters, or *out NULL when it would be too big (or S is
 * distributed): callers then absorb every time. */
hlm_status hlm_absorb_cache_create(const hlm_mme *m, hlm_absorb_cache **out);
void hlm_absorb_cache_destroy(hlm_absorb_cache **c);

/* 1: cluster j's factor (m->tW or m->C), m->B, m->w restored as absorbed
 * at theta, and its log det C_jj added to *ld; 0: not cached. */
int hlm_absorb_cache_get(hlm_mme *m, int64_t j, const double *theta,
                         double *ld);

/* Keep cluster j's blocks just absorbed at theta (log det ld). */
void hlm_absorb_cache_put(hlm_mme *m, int64_t j, const double *theta,
                          double ld);

#endif
