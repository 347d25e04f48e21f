/* groups.c: grouping factors in the data: levels, nesting, partition. */
#include "hlm/groups.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "hlm/comm.h"

/* A grouping factor as row keys: the mixed-radix combination of its
 * variables' level codes, and its distinct keys over all ranks. */
typedef struct factor_keys {
  int64_t *key;      /* per local row */
  int64_t *distinct; /* sorted, global */
  int64_t ndistinct;
} factor_keys;

static void factor_keys_free(factor_keys *k)
{
  free(k->key);
  free(k->distinct);
}

static hlm_status make_keys(MPI_Comm comm, const hlm_table *t,
                            const hlm_formula_term *g, factor_keys *k)
{
  hlm_status status = HLM_OK;
  int64_t n = hlm_table_nrows(t), radix = 1, *local = NULL, nlocal = 0;
  HLM_ALLOC(k->key, n);
  for (int v = 0; v < g->nvars; v++) {
    const hlm_column *c = hlm_table_find(t, g->name[v]);
    HLM_CHECK(c && c->type == HLM_COL_CATEGORICAL, HLM_ERR_INTERNAL,
              "grouping variable `%s` is not a factor", g->name[v]);
    for (int64_t i = 0; i < n; i++) {
      k->key[i] += radix * c->code[i];
    }
    HLM_CHECK(c->nlevels == 0 || radix <= INT64_MAX / 4 / c->nlevels,
              HLM_ERR_NOT_IMPLEMENTED,
              "the grouping factor with `%s` has too many combinations of "
              "levels to examine",
              g->name[v]);
    radix *= c->nlevels > 0 ? c->nlevels : 1;
  }
  HLM_TRY(hlm_distinct_i64(k->key, n, &local, &nlocal));
  HLM_TRY(hlm_gather_distinct_i64(comm, local, nlocal, &k->distinct,
                                  &k->ndistinct));
cleanup:
  free(local);
  return status;
}

/* Is every level of the factor with keys k inside one level of `outer`? */
static hlm_status nested_in(MPI_Comm comm, const hlm_table *t,
                            const factor_keys *k, const hlm_column *outer,
                            int *nested)
{
  hlm_status status = HLM_OK;
  int32_t *lo = NULL, *hi = NULL;
  int count = 0;
  HLM_TRY(hlm_to_int(k->ndistinct, "levels of a grouping factor", &count));
  HLM_ALLOC(lo, count);
  HLM_ALLOC(hi, count);
  for (int j = 0; j < count; j++) {
    lo[j] = INT32_MAX;
    hi[j] = INT32_MIN;
  }
  int64_t at = 0;
  for (int64_t i = 0; i < hlm_table_nrows(t); i++) {
    if (i == 0 || k->key[i] != k->key[i - 1]) {
      const int64_t *hit = bsearch(&k->key[i], k->distinct, (size_t)count,
                                   sizeof *k->distinct, hlm_cmp_i64);
      at = hit - k->distinct;
    }
    lo[at] = outer->code[i] < lo[at] ? outer->code[i] : lo[at];
    hi[at] = outer->code[i] > hi[at] ? outer->code[i] : hi[at];
  }
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, lo, count, MPI_INT32_T, MPI_MIN, comm));
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, hi, count, MPI_INT32_T, MPI_MAX, comm));
  *nested = 1;
  for (int j = 0; j < count; j++) {
    *nested &= lo[j] == hi[j];
  }
cleanup:
  free(lo);
  free(hi);
  return status;
}

static char *term_name(const hlm_formula_term *g)
{
  size_t len = 1;
  for (int v = 0; v < g->nvars; v++) {
    len += strlen(g->name[v]) + 1;
  }
  char *s = calloc(len, 1);
  for (int v = 0; s && v < g->nvars; v++) {
    strcat(s, v ? ":" : "");
    strcat(s, g->name[v]);
  }
  return s;
}

/* The distinct grouping factors of the random terms, by name. */
static hlm_status list_factors(const hlm_formula *f, hlm_groups *g,
                               const hlm_formula_term **terms)
{
  hlm_status status = HLM_OK;
  int n = hlm_formula_random_count(f);
  HLM_ALLOC(g->name, n);
  HLM_ALLOC(g->nlevels, n);
  HLM_ALLOC(g->nested, n);
  for (int r = 0; r < n; r++) {
    const hlm_formula_term *grp = &hlm_formula_random_term(f, r)->group;
    char *name = term_name(grp);
    HLM_CHECK(name != NULL, HLM_ERR_NOMEM, "out of memory");
    int seen = 0;
    for (int j = 0; j < g->nfactors && !seen; j++) {
      seen = strcmp(g->name[j], name) == 0;
    }
    if (seen) {
      free(name);
      continue;
    }
    terms[g->nfactors] = grp;
    g->name[g->nfactors++] = name;
  }
cleanup:
  return status;
}

/* Make each grouping variable a factor; a numeric one is an error. */
static hlm_status factorize(MPI_Comm comm, hlm_table *t, const hlm_groups *g,
                            const hlm_formula_term *const *terms)
{
  hlm_status status = HLM_OK;
  for (int j = 0; j < g->nfactors; j++) {
    for (int v = 0; v < terms[j]->nvars; v++) {
      HLM_TRY(hlm_table_make_factor(comm, t, terms[j]->name[v]));
    }
  }
cleanup:
  return status;
}

/* Count how many factors nest in candidate column c; also fill nested[]. */
static hlm_status nest_all(MPI_Comm comm, const hlm_table *t,
                           const factor_keys *keys, int nf, const hlm_column *c,
                           int *nested, int *count)
{
  hlm_status status = HLM_OK;
  *count = 0;
  for (int j = 0; j < nf; j++) {
    HLM_TRY(nested_in(comm, t, &keys[j], c, &nested[j]));
    *count += nested[j];
  }
cleanup:
  return status;
}

/* Choose the partition factor among the grouping variables. */
static hlm_status choose_partition(MPI_Comm comm, const hlm_table *t,
                                   const factor_keys *keys, hlm_groups *g,
                                   const hlm_formula_term *const *terms)
{
  hlm_status status = HLM_OK;
  const char *best = NULL;
  int best_all = 0, *nested = NULL;
  int64_t best_levels = -1;
  HLM_ALLOC(nested, g->nfactors);
  for (int j = 0; j < g->nfactors; j++) {
    for (int v = 0; v < terms[j]->nvars; v++) {
      const hlm_column *c = hlm_table_find(t, terms[j]->name[v]);
      int count = 0, all = 0;
      HLM_TRY(nest_all(comm, t, keys, g->nfactors, c, nested, &count));
      all = count == g->nfactors;
      int64_t levels = c->nlevels;
      if ((all && !best_all) || (all == best_all && levels > best_levels)) {
        best = c->name;
        best_all = all;
        best_levels = levels;
      }
    }
  }
  g->partition = strdup(best);
  HLM_CHECK(g->partition != NULL, HLM_ERR_NOMEM, "out of memory");
cleanup:
  free(nested);
  return status;
}

hlm_status hlm_groups_examine(MPI_Comm comm, hlm_table *t, const hlm_formula *f,
                              const char *cluster, hlm_groups *g)
{
  hlm_status status = HLM_OK;
  const hlm_formula_term **terms = NULL;
  factor_keys *keys = NULL;
  int count = 0;
  memset(g, 0, sizeof *g);
  HLM_CHECK(hlm_formula_random_count(f) > 0, HLM_ERR_CONFIG,
            "the formula has no random term such as (1 | group): hlm-mpi "
            "fits mixed models only");
  HLM_ALLOC(terms, hlm_formula_random_count(f));
  HLM_TRY(list_factors(f, g, terms));
  HLM_TRY(factorize(comm, t, g, terms));
  if (cluster) {
    HLM_TRY(hlm_table_make_factor(comm, t, cluster));
  }
  HLM_ALLOC(keys, g->nfactors);
  for (int j = 0; j < g->nfactors; j++) {
    HLM_TRY(make_keys(comm, t, terms[j], &keys[j]));
    g->nlevels[j] = keys[j].ndistinct;
  }
  if (cluster) {
    g->partition = strdup(cluster);
    HLM_CHECK(g->partition != NULL, HLM_ERR_NOMEM, "out of memory");
  } else {
    g->automatic = 1;
    HLM_TRY(choose_partition(comm, t, keys, g, terms));
  }
  HLM_TRY(nest_all(comm, t, keys, g->nfactors, hlm_table_find(t, g->partition),
                   g->nested, &count));
cleanup:
  for (int j = 0; keys && j < g->nfactors; j++) {
    factor_keys_free(&keys[j]);
  }
  free(keys);
  free(terms);
  return status;
}

void hlm_groups_free(hlm_groups *g)
{
  if (g == NULL) {
    return;
  }
  for (int j = 0; j < g->nfactors; j++) {
    free(g->name[j]);
  }
  free(g->name);
  free(g->nlevels);
  free(g->nested);
  free(g->partition);
  memset(g, 0, sizeof *g);
}

void hlm_groups_print(const hlm_groups *g, FILE *out)
{
  fprintf(out, "partition factor: %s (%s)\n", g->partition,
          g->automatic ? "chosen from the data" : "[data] cluster");
  fprintf(out, "grouping factors:\n");
  for (int j = 0; j < g->nfactors; j++) {
    fprintf(out, "  %-20s %8" PRId64 " levels  %s\n", g->name[j], g->nlevels[j],
            g->nested[j] ? "nested in the partition factor: local"
                         : "not nested in the partition factor: global "
                           "(crossed)");
  }
}
