/* design_derived.c: the derived variables of a formula, computed where the
 * rows live (docs/formula.md, "Centering and cluster means"):
 *
 *   cmean(x, g) = mean of x over the rows of the row's level of g,
 *   cwc(x, g)   = x - cmean(x, g),
 *   gmc(x)      = x - mean of x over all rows on all ranks.
 *
 * Means are unweighted, over the rows the fit uses.  Sums are kept in
 * double-double (a TwoSum accumulation) and reduced over ranks with a
 * commutative double-double MPI operation, so a mean does not depend on
 * how the rows are spread over ranks (to about 1e-30 relative before the
 * final rounding).  When g contains the partition factor, every level of g
 * lies inside one cluster and so on one rank: the means are computed
 * locally, without communication.  Otherwise (g crossed with the clusters,
 * or nested in them without containing the partition variable) the
 * per-level sums are reduced over ranks, keyed by the level's position
 * among g's levels over all ranks. */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "design_internal.h"
#include "hlm/comm.h"

/* A double-double sum (hi + lo) and a count. */
typedef struct dsum {
  double hi, lo, n;
} dsum;

/* s + e = a + b exactly (Knuth's TwoSum); symmetric in a and b. */
static void two_sum(double a, double b, double *s, double *e)
{
  *s = a + b;
  double bb = *s - a;
  *e = (a - (*s - bb)) + (b - bb);
}

static void dsum_add(dsum *a, double x)
{
  double s, e;
  two_sum(a->hi, x, &s, &e);
  e += a->lo;
  a->hi = s + e;
  a->lo = e - (a->hi - s);
  a->n += 1.0;
}

/* a += b; commutative, as MPI_Op_create(..., 1, ...) promises. */
static void dsum_merge(dsum *a, const dsum *b)
{
  double s, e;
  two_sum(a->hi, b->hi, &s, &e);
  e += a->lo + b->lo;
  a->hi = s + e;
  a->lo = e - (a->hi - s);
  a->n += b->n;
}

static void dsum_reduce(void *in, void *inout, int *len, MPI_Datatype *type)
{
  (void)type;
  const dsum *a = in;
  dsum *b = inout;
  for (int i = 0; i < *len; i++) {
    dsum_merge(&b[i], &a[i]);
  }
}

static double dsum_mean(const dsum *a)
{
  return a->n > 0 ? (a->hi + a->lo) / a->n : 0.0;
}

/* Collective.  sums[0..n) summed over the ranks of comm, in place. */
static hlm_status dsum_allreduce(MPI_Comm comm, dsum *sums, int64_t n)
{
  hlm_status status = HLM_OK;
  MPI_Datatype type = MPI_DATATYPE_NULL;
  MPI_Op op = MPI_OP_NULL;
  int count = 0;
  HLM_TRY(hlm_to_int(n, "levels of a cmean()/cwc() grouping factor", &count));
  HLM_MPI(MPI_Type_contiguous(3, MPI_DOUBLE, &type));
  HLM_MPI(MPI_Type_commit(&type));
  HLM_MPI(MPI_Op_create(dsum_reduce, 1, &op));
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, sums, count, type, op, comm));
cleanup:
  if (op != MPI_OP_NULL) {
    MPI_Op_free(&op);
  }
  if (type != MPI_DATATYPE_NULL) {
    MPI_Type_free(&type);
  }
  return status;
}

/* One derived variable being computed. */
typedef struct derived {
  const hlm_formula *f;
  const hlm_formula_var *v; /* the derived variable */
  const hlm_column *x;
  const hlm_column **g; /* v->by.nvars columns */
  int64_t n;            /* local rows */
  int64_t *key;         /* per row: the level of g (mixed radix) */
  int64_t *level;       /* sorted distinct keys (local or global) */
  int64_t nlevel;
} derived;

static double xval(const hlm_column *c, int64_t i)
{
  return c->type == HLM_COL_NUMERIC ? c->num[i] : (double)c->ival[i];
}

/* Local.  A column argument of the derived variable: present, of a usable
 * type, without missing values.  Types are the same on every rank. */
static hlm_status check_arg(const derived *d, const hlm_table *t,
                            const char *name, int group, const hlm_column **out)
{
  hlm_status status = HLM_OK;
  const hlm_column *c = hlm_table_find(t, name);
  size_t at = d->v->offset;
  const char *term = d->v->name;
  if (c == NULL) {
    HLM_TRY(hlm_formula_error_at(d->f, at, HLM_ERR_DATA,
                                 "`%s`: the data has no column '%s'", term,
                                 name));
  }
  if (!group && c->type == HLM_COL_CATEGORICAL) {
    HLM_TRY(hlm_formula_error_at(d->f, at, HLM_ERR_DATA,
                                 "`%s`: '%s' is categorical; cmean(), cwc() "
                                 "and gmc() need a numeric variable",
                                 term, name));
  }
  if (group && c->type == HLM_COL_NUMERIC) {
    HLM_TRY(hlm_formula_error_at(
        d->f, at, HLM_ERR_DATA,
        "`%s`: the grouping variable '%s' is numeric: a grouping factor must "
        "be a categorical or integer column",
        term, name));
  }
  for (int64_t i = 0; i < hlm_table_nrows(t); i++) {
    if (hlm_column_is_missing(c, i)) {
      HLM_TRY(
          hlm_formula_error_at(d->f, at, HLM_ERR_DATA,
                               "`%s`: '%s' has a missing value (row %" PRId64
                               " of the data); drop incomplete rows first",
                               term, name, hlm_table_row_index(t)[i] + 1));
    }
  }
  *out = c;
cleanup:
  return status;
}

static hlm_status check_args(derived *d, const hlm_table *t)
{
  hlm_status status = HLM_OK;
  const hlm_formula_var *x = hlm_formula_variable(d->f, d->v->source);
  HLM_TRY(check_arg(d, t, x->name, 0, &d->x));
  HLM_ALLOC(d->g, d->v->by.nvars);
  for (int k = 0; k < d->v->by.nvars; k++) {
    HLM_TRY(check_arg(d, t, d->v->by.name[k], 1, &d->g[k]));
  }
cleanup:
  return status;
}

/* Collective.  Dense codes 0..*ncodes-1 of column c per row: a factor's
 * codes, or an integer column's position among its distinct values over
 * all ranks. */
static hlm_status var_codes(MPI_Comm comm, const hlm_column *c, int64_t n,
                            int64_t *code, int64_t *ncodes)
{
  hlm_status status = HLM_OK;
  int64_t *local = NULL, nlocal = 0, *all = NULL, nall = 0;
  if (c->type == HLM_COL_CATEGORICAL) {
    for (int64_t i = 0; i < n; i++) {
      code[i] = c->code[i];
    }
    *ncodes = c->nlevels;
    goto cleanup;
  }
  HLM_TRY(hlm_distinct_i64(c->ival, n, &local, &nlocal));
  HLM_TRY(hlm_gather_distinct_i64(comm, local, nlocal, &all, &nall));
  for (int64_t i = 0; i < n; i++) {
    const int64_t *hit =
        bsearch(&c->ival[i], all, (size_t)nall, sizeof *all, hlm_cmp_i64);
    code[i] = hit - all;
  }
  *ncodes = nall;
cleanup:
  free(local);
  free(all);
  return status;
}

/* Collective.  d->key: the level of g of every row (0 for gmc). */
static hlm_status make_keys(MPI_Comm comm, derived *d)
{
  hlm_status status = HLM_OK;
  int64_t *code = NULL, radix = 1;
  HLM_ALLOC(d->key, d->n);
  HLM_ALLOC(code, d->n);
  for (int k = 0; k < d->v->by.nvars; k++) {
    int64_t ncodes = 0;
    HLM_TRY(var_codes(comm, d->g[k], d->n, code, &ncodes));
    for (int64_t i = 0; i < d->n; i++) {
      d->key[i] += radix * code[i];
    }
    HLM_CHECK(ncodes == 0 || radix <= INT64_MAX / 4 / ncodes,
              HLM_ERR_NOT_IMPLEMENTED,
              "`%s`: the grouping factor has too many combinations of levels",
              d->v->name);
    radix *= ncodes > 0 ? ncodes : 1;
  }
cleanup:
  free(code);
  return status;
}

/* Collective.  1 on every rank when a variable of g is the partition
 * factor: its codes are the cluster codes on every row of every rank (a
 * column coded like the clusters on every row has one level per cluster,
 * so it is nested in them whatever its name). */
static hlm_status contains_partition(MPI_Comm comm, const derived *d,
                                     const hlm_clusters *cl, int *local)
{
  hlm_status status = HLM_OK;
  int found = 0;
  for (int k = 0; k < d->v->by.nvars; k++) {
    const hlm_column *c = d->g[k];
    int same = c->type == HLM_COL_CATEGORICAL;
    for (int64_t j = 0; same && j < cl->nlocal; j++) {
      for (int64_t i = cl->start[j]; same && i < cl->start[j] + cl->count[j];
           i++) {
        same = c->code[i] == cl->code[j];
      }
    }
    found |= same;
  }
  HLM_MPI(MPI_Allreduce(&found, local, 1, MPI_INT, MPI_MIN, comm));
cleanup:
  return status;
}

/* Collective.  d->level: the distinct keys, of this rank only (local) or
 * of all ranks. */
static hlm_status list_levels(MPI_Comm comm, derived *d, int local)
{
  hlm_status status = HLM_OK;
  int64_t *mine = NULL, nmine = 0;
  HLM_TRY(hlm_distinct_i64(d->key, d->n, &mine, &nmine));
  if (local) {
    d->level = mine;
    d->nlevel = nmine;
    mine = NULL;
  } else {
    HLM_TRY(hlm_gather_distinct_i64(comm, mine, nmine, &d->level, &d->nlevel));
  }
cleanup:
  free(mine);
  return status;
}

/* Collective.  The derived values of d's rows into out[0..n). */
static hlm_status compute(MPI_Comm comm, derived *d, const hlm_clusters *cl,
                          double *out)
{
  hlm_status status = HLM_OK;
  dsum *sum = NULL;
  int64_t *pos = NULL;
  int local = 0;
  HLM_TRY(make_keys(comm, d));
  if (d->v->by.nvars > 0) {
    HLM_TRY(contains_partition(comm, d, cl, &local));
  }
  HLM_TRY(list_levels(comm, d, local));
  HLM_ALLOC(sum, d->nlevel);
  HLM_ALLOC(pos, d->n);
  for (int64_t i = 0; i < d->n; i++) {
    const int64_t *hit = bsearch(&d->key[i], d->level, (size_t)d->nlevel,
                                 sizeof *d->level, hlm_cmp_i64);
    pos[i] = hit - d->level;
    dsum_add(&sum[pos[i]], xval(d->x, i));
  }
  if (!local) {
    HLM_TRY(dsum_allreduce(comm, sum, d->nlevel));
  }
  for (int64_t i = 0; i < d->n; i++) {
    double mean = dsum_mean(&sum[pos[i]]);
    out[i] = d->v->derived == HLM_FORMULA_CMEAN ? mean : xval(d->x, i) - mean;
  }
cleanup:
  free(sum);
  free(pos);
  return status;
}

static void derived_free(derived *d)
{
  free(d->g);
  free(d->key);
  free(d->level);
  memset(d, 0, sizeof *d);
}

/* Local.  Check the arguments of every derived variable and allocate its
 * values. */
static hlm_status check_all(const hlm_formula *f, const hlm_table *t,
                            double **vals)
{
  hlm_status status = HLM_OK;
  derived d = {0};
  for (int v = 0; v < hlm_formula_var_count(f); v++) {
    const hlm_formula_var *fv = hlm_formula_variable(f, v);
    if (fv->derived == HLM_FORMULA_COLUMN) {
      continue;
    }
    d = (derived){.f = f, .v = fv, .n = hlm_table_nrows(t)};
    HLM_TRY(check_args(&d, t));
    derived_free(&d);
    HLM_ALLOC(vals[v], hlm_table_nrows(t));
  }
cleanup:
  derived_free(&d);
  return status;
}

hlm_status hlm_design_derived(MPI_Comm comm, const hlm_formula *f,
                              const hlm_table *t, const hlm_clusters *cl,
                              double ***out)
{
  hlm_status status = HLM_OK;
  int nv = hlm_formula_var_count(f);
  double **vals = NULL;
  derived d = {0};
  HLM_ALLOC(vals, nv);
  HLM_TRY(
      hlm_comm_agree(comm, check_all(f, t, vals), "derived variables", NULL));
  for (int v = 0; v < nv; v++) {
    const hlm_formula_var *fv = hlm_formula_variable(f, v);
    if (fv->derived == HLM_FORMULA_COLUMN) {
      continue;
    }
    d = (derived){.f = f, .v = fv, .n = hlm_table_nrows(t)};
    HLM_TRY(check_args(&d, t));
    HLM_TRY(compute(comm, &d, cl, vals[v]));
    derived_free(&d);
  }
  *out = vals;
  vals = NULL;
cleanup:
  derived_free(&d);
  hlm_design_derived_free(&vals, nv);
  return status;
}

void hlm_design_derived_free(double ***vals, int n)
{
  if (vals == NULL || *vals == NULL) {
    return;
  }
  for (int v = 0; v < n; v++) {
    free((*vals)[v]);
  }
  free(*vals);
  *vals = NULL;
}
