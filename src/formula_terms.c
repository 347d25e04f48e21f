/* formula_terms.c: R's model-term algebra on lists of variable sets.
 *
 * A term is a set of variable indices; a term list is ordered and has no
 * duplicates.  The operations follow R's src/library/stats/src/model.c
 * (PlusTerms, InteractTerms, CrossTerms, NestTerms, InTerms, PowerTerms,
 * DeleteTerms), including the order in which they produce terms, so that
 * the final ordering matches terms().  Every operation charges its work
 * to a budget and stops with HLM_FALG_TOO_COMPLEX when it runs out. */
#include "formula_internal.h"

#include <stdlib.h>
#include <string.h>

void hlm_falg_free(hlm_falg *a)
{
  free(a->scratch);
  a->scratch = NULL;
  a->nscratch = 0;
}

void hlm_ftl_free(hlm_ftl *l)
{
  for (int i = 0; i < l->n; i++) {
    free(l->t[i].v);
  }
  free(l->t);
  free(l->slot);
  memset(l, 0, sizeof *l);
}

static uint32_t term_hash(const int *v, int n)
{
  uint32_t h = 2166136261u; /* FNV-1a */
  for (int i = 0; i < n; i++) {
    uint32_t x = (uint32_t)v[i];
    for (int b = 0; b < 4; b++) {
      h ^= (x >> (8 * b)) & 0xffu;
      h *= 16777619u;
    }
  }
  return h;
}

static bool term_equal(const hlm_fterm *t, const int *v, int n)
{
  return t->n == n && memcmp(t->v, v, (size_t)n * sizeof *v) == 0;
}

/* Slot of the term equal to v, or of the empty slot where it would go. */
static int find_slot(const hlm_ftl *l, const int *v, int n, uint32_t h)
{
  int mask = l->nslot - 1;
  int s = (int)(h & (uint32_t)mask);
  while (l->slot[s] >= 0 && !term_equal(&l->t[l->slot[s]], v, n)) {
    s = (s + 1) & mask;
  }
  return s;
}

static void rehash(hlm_ftl *l)
{
  for (int s = 0; s < l->nslot; s++) {
    l->slot[s] = -1;
  }
  for (int i = 0; i < l->n; i++) {
    int s = find_slot(l, l->t[i].v, l->t[i].n, l->t[i].hash);
    l->slot[s] = i;
  }
}

/* Make room for one more term. */
static hlm_falg_rc grow(hlm_ftl *l)
{
  if (l->n < l->cap && l->nslot > 0) {
    return HLM_FALG_OK;
  }
  if (l->n >= HLM_FORMULA_MAX_TERMS) {
    return HLM_FALG_TOO_MANY;
  }
  int cap = l->cap ? 2 * l->cap : 8;
  if (cap > HLM_FORMULA_MAX_TERMS) {
    cap = HLM_FORMULA_MAX_TERMS;
  }
  int nslot = 16;
  while (nslot <= 2 * cap) {
    nslot *= 2;
  }
  hlm_fterm *t = realloc(l->t, (size_t)cap * sizeof *t);
  if (t == NULL) {
    return HLM_FALG_NOMEM;
  }
  l->t = t;
  l->cap = cap;
  int *slot = malloc((size_t)nslot * sizeof *slot);
  if (slot == NULL) {
    return HLM_FALG_NOMEM;
  }
  free(l->slot);
  l->slot = slot;
  l->nslot = nslot;
  rehash(l);
  return HLM_FALG_OK;
}

static hlm_falg_rc charge(hlm_falg *a, long work)
{
  a->work_left -= work;
  return a->work_left < 0 ? HLM_FALG_TOO_COMPLEX : HLM_FALG_OK;
}

hlm_falg_rc hlm_ftl_add(hlm_ftl *l, const int *v, int n, hlm_falg *a)
{
  hlm_falg_rc rc = charge(a, n + 1);
  if (rc != HLM_FALG_OK || n == 0) {
    return rc;
  }
  uint32_t h = term_hash(v, n);
  if (l->nslot > 0 && l->slot[find_slot(l, v, n, h)] >= 0) {
    return HLM_FALG_OK;
  }
  rc = grow(l);
  if (rc != HLM_FALG_OK) {
    return rc;
  }
  int *copy = malloc((size_t)n * sizeof *copy);
  if (copy == NULL) {
    return HLM_FALG_NOMEM;
  }
  memcpy(copy, v, (size_t)n * sizeof *copy);
  l->t[l->n] = (hlm_fterm){.v = copy, .n = n, .hash = h};
  l->slot[find_slot(l, v, n, h)] = l->n;
  l->n++;
  return HLM_FALG_OK;
}

/* l += x | y (the union of two variable sets, R's OrBits). */
static hlm_falg_rc add_or(hlm_ftl *l, const hlm_fterm *x, const hlm_fterm *y,
                          hlm_falg *a)
{
  int need = x->n + y->n;
  if (need > a->nscratch) {
    int *s = realloc(a->scratch, (size_t)need * sizeof *s);
    if (s == NULL) {
      return HLM_FALG_NOMEM;
    }
    a->scratch = s;
    a->nscratch = need;
  }
  int i = 0, j = 0, k = 0;
  while (i < x->n || j < y->n) {
    if (j == y->n || (i < x->n && x->v[i] < y->v[j])) {
      a->scratch[k++] = x->v[i++];
    } else if (i == x->n || y->v[j] < x->v[i]) {
      a->scratch[k++] = y->v[j++];
    } else {
      a->scratch[k++] = x->v[i++];
      j++;
    }
  }
  return hlm_ftl_add(l, a->scratch, k, a);
}

hlm_falg_rc hlm_ftl_union(hlm_ftl *dst, const hlm_ftl *src, hlm_falg *a)
{
  for (int i = 0; i < src->n; i++) {
    hlm_falg_rc rc = hlm_ftl_add(dst, src->t[i].v, src->t[i].n, a);
    if (rc != HLM_FALG_OK) {
      return rc;
    }
  }
  return HLM_FALG_OK;
}

hlm_falg_rc hlm_ftl_interact(const hlm_ftl *x, const hlm_ftl *y, hlm_ftl *out,
                             hlm_falg *a)
{
  for (int i = 0; i < x->n; i++) {
    for (int j = 0; j < y->n; j++) {
      hlm_falg_rc rc = add_or(out, &x->t[i], &y->t[j], a);
      if (rc != HLM_FALG_OK) {
        return rc;
      }
    }
  }
  return HLM_FALG_OK;
}

/* x*y = x + y + x:y, in that order. */
hlm_falg_rc hlm_ftl_cross(const hlm_ftl *x, const hlm_ftl *y, hlm_ftl *out,
                          hlm_falg *a)
{
  hlm_falg_rc rc = hlm_ftl_union(out, x, a);
  if (rc == HLM_FALG_OK) {
    rc = hlm_ftl_union(out, y, a);
  }
  if (rc == HLM_FALG_OK) {
    rc = hlm_ftl_interact(x, y, out, a);
  }
  return rc;
}

/* The union of all variables of l, as one term in out (empty if none). */
static hlm_falg_rc all_vars(const hlm_ftl *l, hlm_fterm *out, hlm_falg *a)
{
  hlm_ftl acc = {0};
  hlm_fterm none = {0};
  hlm_falg_rc rc = HLM_FALG_OK;
  *out = none;
  for (int i = 0; i < l->n && rc == HLM_FALG_OK; i++) {
    hlm_ftl next = {0};
    rc = add_or(&next, acc.n ? &acc.t[0] : &none, &l->t[i], a);
    hlm_ftl_free(&acc);
    acc = next;
  }
  if (rc == HLM_FALG_OK && acc.n == 1) {
    *out = acc.t[0];
    acc.t[0].v = NULL;
  }
  hlm_ftl_free(&acc);
  return rc;
}

/* x/y = x + (all variables of x):y_j for each term y_j of y. */
hlm_falg_rc hlm_ftl_nest(const hlm_ftl *x, const hlm_ftl *y, hlm_ftl *out,
                         hlm_falg *a)
{
  hlm_fterm all = {0};
  hlm_falg_rc rc = all_vars(x, &all, a);
  if (rc == HLM_FALG_OK) {
    rc = hlm_ftl_union(out, x, a);
  }
  for (int j = 0; j < y->n && rc == HLM_FALG_OK; j++) {
    rc = add_or(out, &all, &y->t[j], a);
  }
  free(all.v);
  return rc;
}

/* x %in% y = x_i:(all variables of y) for each term x_i of x. */
hlm_falg_rc hlm_ftl_in(const hlm_ftl *x, const hlm_ftl *y, hlm_ftl *out,
                       hlm_falg *a)
{
  hlm_fterm all = {0};
  hlm_falg_rc rc = all_vars(y, &all, a);
  for (int i = 0; i < x->n && rc == HLM_FALG_OK; i++) {
    rc = add_or(out, &x->t[i], &all, a);
  }
  free(all.v);
  return rc;
}

/* x^k: right = x; k-1 times right = {l | r : l in x, r in right}.  Stops
 * early at a fixed point (same terms in the same order), so a huge k costs
 * no more than the number of variables. */
hlm_falg_rc hlm_ftl_power(const hlm_ftl *x, int k, hlm_ftl *out, hlm_falg *a)
{
  hlm_falg_rc rc = hlm_ftl_union(out, x, a);
  for (int step = 1; step < k && rc == HLM_FALG_OK; step++) {
    hlm_ftl next = {0};
    rc = hlm_ftl_interact(x, out, &next, a);
    bool same = next.n == out->n;
    for (int i = 0; same && i < next.n; i++) {
      same = term_equal(&next.t[i], out->t[i].v, out->t[i].n);
    }
    hlm_ftl_free(out);
    *out = next;
    if (same) {
      break;
    }
  }
  return rc;
}

hlm_falg_rc hlm_ftl_remove(hlm_ftl *x, const hlm_ftl *y, hlm_falg *a)
{
  if (y->n == 0 || x->n == 0) {
    return HLM_FALG_OK;
  }
  hlm_falg_rc rc = charge(a, x->n);
  if (rc != HLM_FALG_OK) {
    return rc;
  }
  int kept = 0;
  for (int i = 0; i < x->n; i++) {
    const hlm_fterm *t = &x->t[i];
    bool gone = false;
    if (y->nslot > 0) {
      gone = y->slot[find_slot(y, t->v, t->n, t->hash)] >= 0;
    }
    if (gone) {
      free(t->v);
    } else {
      x->t[kept++] = *t;
    }
  }
  x->n = kept;
  rehash(x);
  return HLM_FALG_OK;
}

typedef struct order_key {
  int n, index;
} order_key;

static int order_cmp(const void *pa, const void *pb)
{
  const order_key *ka = pa, *kb = pb;
  if (ka->n != kb->n) {
    return ka->n < kb->n ? -1 : 1;
  }
  return (ka->index > kb->index) - (ka->index < kb->index);
}

hlm_falg_rc hlm_ftl_sort_by_order(hlm_ftl *l)
{
  if (l->n < 2) {
    return HLM_FALG_OK;
  }
  order_key *key = malloc((size_t)l->n * sizeof *key);
  hlm_fterm *sorted = malloc((size_t)l->n * sizeof *sorted);
  if (key == NULL || sorted == NULL) {
    free(key);
    free(sorted);
    return HLM_FALG_NOMEM;
  }
  for (int i = 0; i < l->n; i++) {
    key[i] = (order_key){.n = l->t[i].n, .index = i};
  }
  qsort(key, (size_t)l->n, sizeof *key, order_cmp);
  for (int i = 0; i < l->n; i++) {
    sorted[i] = l->t[key[i].index];
  }
  memcpy(l->t, sorted, (size_t)l->n * sizeof *sorted);
  free(key);
  free(sorted);
  rehash(l);
  return HLM_FALG_OK;
}

static int int_cmp(const void *pa, const void *pb)
{
  int a = *(const int *)pa, b = *(const int *)pb;
  return (a > b) - (a < b);
}

hlm_falg_rc hlm_ftl_relabel(hlm_ftl *l, const int *rank, const int *var_of)
{
  for (int i = 0; i < l->n; i++) {
    hlm_fterm *t = &l->t[i];
    for (int k = 0; k < t->n; k++) {
      t->v[k] = rank[t->v[k]];
    }
    qsort(t->v, (size_t)t->n, sizeof *t->v, int_cmp);
    for (int k = 0; k < t->n; k++) {
      t->v[k] = var_of[t->v[k]];
    }
    t->hash = term_hash(t->v, t->n);
  }
  if (l->nslot > 0) {
    rehash(l);
  }
  return HLM_FALG_OK;
}
