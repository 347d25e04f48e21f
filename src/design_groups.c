/* design_groups.c: grouping factors of the random terms, cluster by
 * cluster: the levels each cluster holds, the nesting check, the level
 * counts, and lme4's order of the terms. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "design_internal.h"
#include "hlm/comm.h"

/* A level key and where it first appears. */
typedef struct key_row {
  int64_t key;
  int64_t row;
} key_row;

static int cmp_key_row(const void *a, const void *b)
{
  const key_row *x = a, *y = b;
  if (x->key != y->key) {
    return x->key < y->key ? -1 : 1;
  }
  return (x->row > y->row) - (x->row < y->row);
}

static int cmp_row(const void *a, const void *b)
{
  const key_row *x = a, *y = b;
  return (x->row > y->row) - (x->row < y->row);
}

/* Mixed-radix key of row i's level of the grouping factor (first variable
 * fastest). */
static int64_t level_key(const hlm_table *t, const int *gcol, int ng, int64_t i)
{
  int64_t key = 0, mult = 1;
  for (int g = 0; g < ng; g++) {
    const hlm_column *c = hlm_table_column(t, gcol[g]);
    key += mult * c->code[i];
    mult *= c->nlevels;
  }
  return key;
}

static int cmp_key(const void *a, const void *b)
{
  const key_row *x = a, *y = b;
  return (x->key > y->key) - (x->key < y->key);
}

/* Levels of one term in one cluster, in order of first appearance; sets
 * zlev of the cluster's rows (column r of d->zlev), c->nlev[r] and
 * c->lcodes[r], and appends the level keys to keys[*nkeys ...]. */
static hlm_status cluster_levels(const hlm_table *t, const int *gcol, int ng,
                                 int r, hlm_design *d, hlm_dcluster *c,
                                 key_row *kr, key_row *kr2, int64_t *keys,
                                 int64_t *nkeys)
{
  hlm_status status = HLM_OK;
  int64_t nd = 0;
  for (int64_t i = 0; i < c->n; i++) {
    kr[i].key = level_key(t, gcol, ng, c->start + i);
    kr[i].row = i;
  }
  qsort(kr, (size_t)c->n, sizeof *kr, cmp_key_row);
  for (int64_t i = 0; i < c->n; i++) {
    if (i == 0 || kr[i].key != kr[i - 1].key) {
      kr[nd++] = kr[i];
    }
  }
  memcpy(kr2, kr, (size_t)nd * sizeof *kr);
  qsort(kr2, (size_t)nd, sizeof *kr2, cmp_row);
  HLM_CHECK(nd <= INT32_MAX / 64, HLM_ERR_NOT_IMPLEMENTED,
            "too many levels of %s in one cluster", d->term[r].group);
  c->nlev[r] = (int)nd;
  HLM_ALLOC(c->lcodes[r], nd * ng);
  for (int64_t l = 0; l < nd; l++) {
    int64_t i = c->start + kr2[l].row;
    for (int g = 0; g < ng; g++) {
      c->lcodes[r][l * ng + g] = hlm_table_column(t, gcol[g])->code[i];
    }
    keys[(*nkeys)++] = kr2[l].key;
    key_row *hit = bsearch(&kr2[l], kr, (size_t)nd, sizeof *kr, cmp_key);
    hit->row = l; /* kr now maps key -> level index */
  }
  for (int64_t i = 0; i < c->n; i++) {
    key_row probe = {level_key(t, gcol, ng, c->start + i), 0};
    key_row *hit = bsearch(&probe, kr, (size_t)nd, sizeof *kr, cmp_key);
    d->zlev[(c->start + i) * d->nterms + r] = (int32_t)hit->row;
  }
cleanup:
  return status;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Rank 0: sort the gathered keys; 1 when a key occurs twice (in two
 * clusters: keys are distinct within a cluster), and then the distinct
 * keys are moved to the front of all (*nuniq of them). */
static int find_crossed(int64_t *all, int64_t total, int64_t *nuniq)
{
  int crossed = 0;
  qsort(all, (size_t)total, sizeof *all, cmp_i64);
  *nuniq = total > 0;
  for (int64_t i = 1; i < total; i++) {
    crossed |= all[i] == all[i - 1];
    if (all[i] != all[*nuniq - 1]) {
      all[(*nuniq)++] = all[i];
    }
  }
  return crossed;
}

/* Collective.  Gather every cluster's level keys on rank 0.  A factor
 * whose levels occur in more than one cluster is not nested in the
 * clusters: the term becomes global (rt->global), with its distinct level
 * keys, ascending, in rt->gkeys on every rank. */
static hlm_status check_nested(MPI_Comm comm, const int64_t *keys,
                               int64_t nkeys, hlm_reterm *rt)
{
  hlm_status status = HLM_OK;
  int rank = 0, size = 1, n = 0, crossed = 0;
  int *counts = NULL, *displs = NULL;
  int64_t *all = NULL, nuniq = 0;
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  HLM_MPI(MPI_Comm_size(comm, &size));
  /* local checks, agreed before each collective so no rank is left in it */
  status = hlm_to_int(nkeys, "level keys on a rank", &n);
  counts = calloc((size_t)size, sizeof *counts);
  displs = calloc((size_t)size, sizeof *displs);
  if (status == HLM_OK && (counts == NULL || displs == NULL)) {
    status = HLM_ERROR(HLM_ERR_NOMEM, "out of memory checking nesting");
  }
  HLM_TRY(hlm_comm_agree(comm, status, "checking nesting", NULL));
  HLM_MPI(MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
  int64_t total = 0;
  for (int r = 0; r < size; r++) {
    displs[r] = (int)total;
    total += counts[r];
  }
  if (rank == 0 && total > INT32_MAX) {
    status = HLM_ERROR(HLM_ERR_NOT_IMPLEMENTED, "more than 2^31 levels of %s",
                       rt->group);
  } else {
    all = calloc(rank == 0 && total > 0 ? (size_t)total : 1, sizeof *all);
    if (all == NULL) {
      status = HLM_ERROR(HLM_ERR_NOMEM, "out of memory checking nesting");
    }
  }
  HLM_TRY(hlm_comm_agree(comm, status, "checking nesting", NULL));
  HLM_MPI(MPI_Gatherv(keys, n, MPI_INT64_T, all, counts, displs, MPI_INT64_T, 0,
                      comm));
  if (rank == 0) {
    crossed = find_crossed(all, total, &nuniq);
  }
  HLM_MPI(MPI_Bcast(&crossed, 1, MPI_INT, 0, comm));
  if (crossed) {
    HLM_MPI(MPI_Bcast(&nuniq, 1, MPI_INT64_T, 0, comm));
    HLM_ALLOC(rt->gkeys, nuniq);
    if (rank == 0) {
      memcpy(rt->gkeys, all, (size_t)nuniq * sizeof *all);
    }
    HLM_MPI(MPI_Bcast(rt->gkeys, (int)nuniq, MPI_INT64_T, 0, comm));
    rt->global = 1;
    rt->nlevels = nuniq;
  }
cleanup:
  free(counts);
  free(displs);
  free(all);
  return status;
}

/* A global term: zlev of every local row is its level's position in
 * rt->gkeys; the clusters hold none of its levels. */
static void global_zlev(const hlm_table *t, const int *gcol, int ng, int r,
                        hlm_design *d)
{
  const hlm_reterm *rt = &d->term[r];
  for (int64_t j = 0; j < d->ncl; j++) {
    hlm_dcluster *c = &d->cl[j];
    free(c->lcodes[r]);
    c->lcodes[r] = NULL;
    c->nlev[r] = 0;
  }
  for (int64_t i = 0; i < d->n; i++) {
    int64_t key = level_key(t, gcol, ng, i);
    const int64_t *hit =
        bsearch(&key, rt->gkeys, (size_t)rt->nlevels, sizeof key, cmp_i64);
    d->zlev[i * d->nterms + r] = (int32_t)(hit - rt->gkeys);
  }
}

static hlm_status term_gcols(const hlm_table *t, const hlm_formula_term *g,
                             int *gcol)
{
  hlm_status status = HLM_OK;
  int64_t mult = 1;
  for (int k = 0; k < g->nvars; k++) {
    gcol[k] = -1;
    for (int j = 0; j < hlm_table_ncols(t); j++) {
      if (!strcmp(hlm_table_column(t, j)->name, g->name[k])) {
        gcol[k] = j;
      }
    }
    HLM_CHECK(gcol[k] >= 0, HLM_ERR_INTERNAL, "column %s vanished", g->name[k]);
    int32_t nl = hlm_table_column(t, gcol[k])->nlevels;
    HLM_CHECK(nl <= 0 || mult <= INT64_MAX / 4 / nl, HLM_ERR_NOT_IMPLEMENTED,
              "the interaction grouping factor has too many possible levels");
    mult *= nl > 0 ? nl : 1;
  }
cleanup:
  return status;
}

/* All levels of random term r (formula order) in every local cluster. */
static hlm_status term_levels(MPI_Comm comm, const hlm_table *t,
                              const hlm_formula_term *group, int r,
                              hlm_design *d)
{
  hlm_status status = HLM_OK;
  int ng = group->nvars;
  int *gcol = NULL;
  key_row *kr = NULL, *kr2 = NULL;
  int64_t *keys = NULL, nkeys = 0, maxn = 0;
  HLM_ALLOC(gcol, ng);
  HLM_TRY(term_gcols(t, group, gcol));
  for (int64_t j = 0; j < d->ncl; j++) {
    maxn = d->cl[j].n > maxn ? d->cl[j].n : maxn;
  }
  HLM_ALLOC(kr, maxn);
  HLM_ALLOC(kr2, maxn);
  HLM_ALLOC(keys, d->n);
  for (int64_t j = 0; j < d->ncl; j++) {
    HLM_TRY(
        cluster_levels(t, gcol, ng, r, d, &d->cl[j], kr, kr2, keys, &nkeys));
  }
  HLM_TRY(check_nested(comm, keys, nkeys, &d->term[r]));
  if (d->term[r].global) {
    global_zlev(t, gcol, ng, r, d);
  } else {
    HLM_MPI(MPI_Allreduce(&nkeys, &d->term[r].nlevels, 1, MPI_INT64_T, MPI_SUM,
                          comm));
  }
cleanup:
  free(gcol);
  free(kr);
  free(kr2);
  free(keys);
  return status;
}

/* Name ("firm:sector") and level labels of the grouping factor. */
static hlm_status term_group_info(const hlm_table *t, const hlm_formula_term *g,
                                  hlm_reterm *rt)
{
  hlm_status status = HLM_OK;
  size_t len = 1;
  for (int k = 0; k < g->nvars; k++) {
    len += strlen(g->name[k]) + 1;
  }
  HLM_ALLOC(rt->group, len);
  HLM_ALLOC(rt->glevels, g->nvars);
  HLM_ALLOC(rt->gnlevels, g->nvars);
  rt->ngvars = g->nvars;
  for (int k = 0; k < g->nvars; k++) {
    const hlm_column *c = hlm_table_find(t, g->name[k]);
    if (k > 0) {
      strcat(rt->group, ":");
    }
    strcat(rt->group, g->name[k]);
    HLM_ALLOC(rt->glevels[k], c->nlevels);
    rt->gnlevels[k] = c->nlevels;
    for (int32_t l = 0; l < c->nlevels; l++) {
      size_t n = strlen(c->levels[l]) + 1;
      HLM_ALLOC(rt->glevels[k][l], n);
      memcpy(rt->glevels[k][l], c->levels[l], n);
    }
  }
cleanup:
  return status;
}

/* lme4's mkReTrms: when the level counts are not already non-increasing,
 * order the terms by rev(order(nlevels)). */
static void lme4_term_order(const hlm_design *d, int *ord)
{
  int n = d->nterms, increasing = 0;
  for (int r = 1; r < n; r++) {
    increasing |= d->term[r].nlevels > d->term[r - 1].nlevels;
  }
  for (int r = 0; r < n; r++) {
    ord[r] = r;
  }
  if (!increasing) {
    return;
  }
  /* stable insertion sort ascending, then reverse */
  for (int r = 1; r < n; r++) {
    int v = ord[r], s = r;
    while (s > 0 && d->term[ord[s - 1]].nlevels > d->term[v].nlevels) {
      ord[s] = ord[s - 1];
      s--;
    }
    ord[s] = v;
  }
  for (int r = 0; r < n / 2; r++) {
    int tmp = ord[r];
    ord[r] = ord[n - 1 - r];
    ord[n - 1 - r] = tmp;
  }
}

/* Apply the term order ord to the terms, the clusters and zlev. */
static hlm_status permute_terms(hlm_design *d, const int *ord)
{
  hlm_status status = HLM_OK;
  int n = d->nterms;
  hlm_reterm *term = NULL;
  int32_t *zl = NULL, **lc = NULL;
  int *nl = NULL;
  HLM_ALLOC(term, n);
  HLM_ALLOC(zl, n);
  HLM_ALLOC(lc, n);
  HLM_ALLOC(nl, n);
  for (int r = 0; r < n; r++) {
    term[r] = d->term[ord[r]];
  }
  memcpy(d->term, term, (size_t)n * sizeof *term);
  for (int64_t j = 0; j < d->ncl; j++) {
    hlm_dcluster *c = &d->cl[j];
    for (int r = 0; r < n; r++) {
      lc[r] = c->lcodes[ord[r]];
      nl[r] = c->nlev[ord[r]];
    }
    memcpy(c->lcodes, lc, (size_t)n * sizeof *lc);
    memcpy(c->nlev, nl, (size_t)n * sizeof *nl);
  }
  for (int64_t i = 0; i < d->n; i++) {
    for (int r = 0; r < n; r++) {
      zl[r] = d->zlev[i * n + ord[r]];
    }
    memcpy(&d->zlev[i * n], zl, (size_t)n * sizeof *zl);
  }
cleanup:
  free(term);
  free(zl);
  free(lc);
  free(nl);
  return status;
}

hlm_status hlm_design_groups(MPI_Comm comm, const hlm_formula *f,
                             const hlm_table *t, const hlm_clusters *cl,
                             hlm_design *d)
{
  hlm_status status = HLM_OK;
  int *ord = NULL;
  HLM_ALLOC(d->cl, cl->nlocal);
  d->ncl = cl->nlocal;
  for (int64_t j = 0; j < cl->nlocal; j++) {
    hlm_dcluster *c = &d->cl[j];
    c->start = cl->start[j];
    c->n = cl->count[j];
    c->gindex = cl->first + j;
    HLM_ALLOC(c->nlev, d->nterms);
    HLM_ALLOC(c->zoff, d->nterms);
    HLM_ALLOC(c->lcodes, d->nterms);
  }
  HLM_ALLOC(d->zlev, d->n * d->nterms);
  for (int r = 0; r < d->nterms; r++) {
    const hlm_formula_random *rt = hlm_formula_random_term(f, r);
    d->term[r].formula_index = r;
    d->term[r].correlated = rt->correlated;
    HLM_TRY(term_group_info(t, &rt->group, &d->term[r]));
    HLM_TRY(term_levels(comm, t, &rt->group, r, d));
  }
  HLM_ALLOC(ord, d->nterms);
  lme4_term_order(d, ord);
  HLM_TRY(permute_terms(d, ord));
cleanup:
  free(ord);
  return status;
}

size_t hlm_design_level_label(const hlm_design *d, int r, const hlm_dcluster *c,
                              int l, char *buf, size_t len)
{
  const hlm_reterm *rt = &d->term[r];
  size_t n = 0;
  for (int g = 0; g < rt->ngvars; g++) {
    const char *lab = rt->glevels[g][c->lcodes[r][l * rt->ngvars + g]];
    int w = snprintf(buf ? buf + (n < len ? n : len) : NULL,
                     n < len ? len - n : 0, "%s%s", g ? ":" : "", lab);
    n += (size_t)(w > 0 ? w : 0);
  }
  return n;
}

size_t hlm_design_global_label(const hlm_design *d, int r, int64_t l, char *buf,
                               size_t len)
{
  const hlm_reterm *rt = &d->term[r];
  int64_t key = rt->gkeys[l];
  size_t n = 0;
  for (int g = 0; g < rt->ngvars; g++) {
    int64_t code = key % rt->gnlevels[g];
    key /= rt->gnlevels[g];
    int w =
        snprintf(buf ? buf + (n < len ? n : len) : NULL, n < len ? len - n : 0,
                 "%s%s", g ? ":" : "", rt->glevels[g][code]);
    n += (size_t)(w > 0 ? w : 0);
  }
  return n;
}
