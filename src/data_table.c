/* data_table.c: the in-memory table, missing values, integer -> factor. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "hlm/comm.h"
#include "hlm/data.h"

const char *hlm_coltype_name(hlm_coltype type)
{
  switch (type) {
  case HLM_COL_NUMERIC:
    return "numeric";
  case HLM_COL_INTEGER:
    return "integer";
  case HLM_COL_CATEGORICAL:
    return "categorical";
  }
  return "unknown";
}

static void column_free(hlm_column *c)
{
  free(c->name);
  free(c->num);
  free(c->ival);
  free(c->code);
  hlm_levels_free(c->levels, c->nlevels);
  memset(c, 0, sizeof *c);
}

void hlm_levels_free(char **levels, int32_t n)
{
  if (levels == NULL) {
    return;
  }
  for (int32_t i = 0; i < n; i++) {
    free(levels[i]);
  }
  free(levels);
}

void hlm_table_destroy(hlm_table **t)
{
  if (t == NULL || *t == NULL) {
    return;
  }
  for (int j = 0; j < (*t)->ncols; j++) {
    column_free(&(*t)->cols[j]);
  }
  free((*t)->cols);
  free((*t)->row_index);
  free(*t);
  *t = NULL;
}

hlm_status hlm_table_alloc(int ncols, hlm_table **out)
{
  hlm_status status = HLM_OK;
  hlm_table *t = NULL;
  HLM_ALLOC(t, 1);
  HLM_ALLOC(t->cols, ncols);
  t->ncols = ncols;
  *out = t;
  t = NULL;
cleanup:
  hlm_table_destroy(&t);
  return status;
}

/* Allocate the value array of column c for n rows. */
hlm_status hlm_column_alloc_values(hlm_column *c, int64_t n)
{
  hlm_status status = HLM_OK;
  switch (c->type) {
  case HLM_COL_NUMERIC:
    HLM_ALLOC(c->num, n);
    break;
  case HLM_COL_INTEGER:
    HLM_ALLOC(c->ival, n);
    break;
  case HLM_COL_CATEGORICAL:
    HLM_ALLOC(c->code, n);
    break;
  }
cleanup:
  return status;
}

hlm_status hlm_levels_copy(char *const *levels, int32_t n, char ***out)
{
  hlm_status status = HLM_OK;
  char **copy = NULL;
  int32_t i = 0;
  HLM_ALLOC(copy, n);
  for (; i < n; i++) {
    copy[i] = strdup(levels[i]);
    HLM_CHECK(copy[i] != NULL, HLM_ERR_NOMEM, "out of memory copying levels");
  }
  *out = copy;
  copy = NULL;
cleanup:
  hlm_levels_free(copy, i);
  return status;
}

hlm_status hlm_table_create_like(const hlm_table *like, int64_t nrows,
                                 hlm_table **out)
{
  hlm_status status = HLM_OK;
  hlm_table *t = NULL;
  HLM_TRY(hlm_table_alloc(like->ncols, &t));
  t->nrows = nrows;
  HLM_ALLOC(t->row_index, nrows);
  for (int j = 0; j < like->ncols; j++) {
    const hlm_column *src = &like->cols[j];
    hlm_column *dst = &t->cols[j];
    dst->type = src->type;
    dst->name = strdup(src->name);
    HLM_CHECK(dst->name != NULL, HLM_ERR_NOMEM, "out of memory");
    if (src->type == HLM_COL_CATEGORICAL) {
      HLM_TRY(hlm_levels_copy(src->levels, src->nlevels, &dst->levels));
      dst->nlevels = src->nlevels;
    }
    HLM_TRY(hlm_column_alloc_values(dst, nrows));
  }
  *out = t;
  t = NULL;
cleanup:
  hlm_table_destroy(&t);
  return status;
}

int64_t hlm_table_nrows(const hlm_table *t)
{
  return t->nrows;
}

int hlm_table_ncols(const hlm_table *t)
{
  return t->ncols;
}

const hlm_column *hlm_table_column(const hlm_table *t, int j)
{
  return (j >= 0 && j < t->ncols) ? &t->cols[j] : NULL;
}

hlm_column *hlm_table_column_mut(hlm_table *t, int j)
{
  return (j >= 0 && j < t->ncols) ? &t->cols[j] : NULL;
}

const hlm_column *hlm_table_find(const hlm_table *t, const char *name)
{
  for (int j = 0; j < t->ncols; j++) {
    if (strcmp(t->cols[j].name, name) == 0) {
      return &t->cols[j];
    }
  }
  return NULL;
}

const int64_t *hlm_table_row_index(const hlm_table *t)
{
  return t->row_index;
}

int64_t *hlm_table_row_index_mut(hlm_table *t)
{
  return t->row_index;
}

int hlm_column_is_missing(const hlm_column *c, int64_t i)
{
  switch (c->type) {
  case HLM_COL_NUMERIC:
    return isnan(c->num[i]);
  case HLM_COL_INTEGER:
    return c->ival[i] == HLM_INT_MISSING;
  case HLM_COL_CATEGORICAL:
    return c->code[i] == HLM_CODE_MISSING;
  }
  return 1;
}

/* Move row `from` to row `to` in every column (to <= from). */
static void table_move_row(hlm_table *t, int64_t to, int64_t from)
{
  for (int j = 0; j < t->ncols; j++) {
    hlm_column *c = &t->cols[j];
    if (c->num) {
      c->num[to] = c->num[from];
    } else if (c->ival) {
      c->ival[to] = c->ival[from];
    } else {
      c->code[to] = c->code[from];
    }
  }
  t->row_index[to] = t->row_index[from];
}

/* Count missing values per column into miss[ncols]; compact the table. */
static int64_t drop_local(hlm_table *t, int64_t *miss)
{
  int64_t kept = 0;
  for (int64_t i = 0; i < t->nrows; i++) {
    int any = 0;
    for (int j = 0; j < t->ncols; j++) {
      if (hlm_column_is_missing(&t->cols[j], i)) {
        miss[j]++;
        any = 1;
      }
    }
    if (!any) {
      table_move_row(t, kept++, i);
    }
  }
  int64_t dropped = t->nrows - kept;
  t->nrows = kept;
  return dropped;
}

hlm_status hlm_table_drop_missing(MPI_Comm comm, hlm_table *t, FILE *report,
                                  int64_t *ndropped)
{
  hlm_status status = HLM_OK;
  int64_t *miss = NULL, *total = NULL;
  int64_t dropped = 0, all_dropped = 0;
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  HLM_ALLOC(miss, t->ncols + 1);
  HLM_ALLOC(total, t->ncols + 1);
  dropped = drop_local(t, miss);
  miss[t->ncols] = dropped;
  HLM_MPI(MPI_Allreduce(miss, total, t->ncols + 1, MPI_INT64_T, MPI_SUM, comm));
  all_dropped = total[t->ncols];
  for (int j = 0; report && rank == 0 && j < t->ncols; j++) {
    if (total[j] > 0) {
      fprintf(report, "missing values: column `%s`: %" PRId64 " rows dropped\n",
              t->cols[j].name, total[j]);
    }
  }
  if (report && rank == 0 && all_dropped > 0) {
    fprintf(report, "missing values: %" PRId64 " rows dropped in all\n",
            all_dropped);
  }
  if (ndropped) {
    *ndropped = all_dropped;
  }
cleanup:
  free(miss);
  free(total);
  return status;
}

int hlm_cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Sorted distinct non-missing values of v[0..n) into *out (*nout). */
hlm_status hlm_distinct_i64(const int64_t *v, int64_t n, int64_t **out,
                            int64_t *nout)
{
  hlm_status status = HLM_OK;
  int64_t *u = NULL, m = 0;
  int sorted = 1;
  HLM_ALLOC(u, n);
  /* runs of equal values (rows in cluster order) are kept once before the
   * sort, and a list already in order is not sorted again */
  for (int64_t i = 0; i < n; i++) {
    if (v[i] != HLM_INT_MISSING && (m == 0 || v[i] != u[m - 1])) {
      sorted &= m == 0 || v[i] > u[m - 1];
      u[m++] = v[i];
    }
  }
  if (!sorted) {
    qsort(u, (size_t)m, sizeof *u, hlm_cmp_i64);
  }
  int64_t k = 0;
  for (int64_t i = 0; i < m; i++) {
    if (k == 0 || u[i] != u[k - 1]) {
      u[k++] = u[i];
    }
  }
  *out = u;
  *nout = k;
  u = NULL;
cleanup:
  free(u);
  return status;
}

/* Gather every rank's distinct values and merge them: the global distinct
 * values, sorted, identical on every rank. */
hlm_status hlm_gather_distinct_i64(MPI_Comm comm, const int64_t *local,
                                   int64_t nlocal, int64_t **out, int64_t *nout)
{
  hlm_status status = HLM_OK;
  int size = 1, n = 0, total = 0;
  int *counts = NULL, *displs = NULL;
  int64_t *all = NULL;
  MPI_Comm_size(comm, &size);
  HLM_ALLOC(counts, size);
  HLM_ALLOC(displs, size);
  HLM_TRY(hlm_to_int(nlocal, "distinct values on a rank", &n));
  HLM_MPI(MPI_Allgather(&n, 1, MPI_INT, counts, 1, MPI_INT, comm));
  for (int r = 0; r < size; r++) {
    HLM_CHECK(total <= INT32_MAX - counts[r], HLM_ERR_NOT_IMPLEMENTED,
              "more than 2^31 distinct values in a grouping column are not "
              "supported yet");
    displs[r] = total;
    total += counts[r];
  }
  HLM_ALLOC(all, total);
  HLM_MPI(MPI_Allgatherv(local, n, MPI_INT64_T, all, counts, displs,
                         MPI_INT64_T, comm));
  HLM_TRY(hlm_distinct_i64(all, total, out, nout));
cleanup:
  free(counts);
  free(displs);
  free(all);
  return status;
}

static hlm_status factor_from_integers(MPI_Comm comm, hlm_column *c,
                                       int64_t nrows)
{
  hlm_status status = HLM_OK;
  int64_t *local = NULL, *values = NULL, nlocal = 0, nvalues = 0;
  char buf[32];
  HLM_TRY(hlm_distinct_i64(c->ival, nrows, &local, &nlocal));
  HLM_TRY(hlm_gather_distinct_i64(comm, local, nlocal, &values, &nvalues));
  HLM_CHECK(nvalues <= INT32_MAX, HLM_ERR_DATA,
            "column `%s` has more than 2^31 distinct values", c->name);
  HLM_ALLOC(c->code, nrows);
  HLM_ALLOC(c->levels, nvalues);
  c->nlevels = (int32_t)nvalues;
  for (int64_t k = 0; k < nvalues; k++) {
    snprintf(buf, sizeof buf, "%" PRId64, values[k]);
    c->levels[k] = strdup(buf);
    HLM_CHECK(c->levels[k] != NULL, HLM_ERR_NOMEM, "out of memory");
  }
  for (int64_t i = 0; i < nrows; i++) {
    if (i > 0 && c->ival[i] == c->ival[i - 1]) {
      c->code[i] = c->code[i - 1];
      continue;
    }
    const int64_t *hit = c->ival[i] == HLM_INT_MISSING
                             ? NULL
                             : bsearch(&c->ival[i], values, (size_t)nvalues,
                                       sizeof *values, hlm_cmp_i64);
    c->code[i] = hit ? (int32_t)(hit - values) : HLM_CODE_MISSING;
  }
  free(c->ival);
  c->ival = NULL;
  c->type = HLM_COL_CATEGORICAL;
cleanup:
  free(local);
  free(values);
  return status;
}

hlm_status hlm_table_make_factor(MPI_Comm comm, hlm_table *t, const char *name)
{
  hlm_status status = HLM_OK;
  hlm_column *c = (hlm_column *)hlm_table_find(t, name);
  HLM_CHECK(c != NULL, HLM_ERR_DATA, "no column `%s` in the data", name);
  if (c->type == HLM_COL_CATEGORICAL) {
    return HLM_OK;
  }
  HLM_CHECK(c->type == HLM_COL_INTEGER, HLM_ERR_DATA,
            "column `%s` is numeric (floating point); a grouping factor must "
            "be categorical or integer",
            name);
  HLM_TRY(factor_from_integers(comm, c, t->nrows));
cleanup:
  return status;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the n pointers in v and keep the distinct non-empty ones; returns
 * how many remain (in place). */
static int64_t distinct_strings(const char **v, int64_t n)
{
  int64_t k = 0;
  qsort(v, (size_t)n, sizeof *v, cmp_str);
  for (int64_t i = 0; i < n; i++) {
    if (v[i][0] != '\0' && (k == 0 || strcmp(v[i], v[k - 1]) != 0)) {
      v[k++] = v[i];
    }
  }
  return k;
}

/* Concatenate the n strings (each with its NUL) into a new buffer. */
static hlm_status pack_strings(const char **v, int64_t n, char **buf,
                               int *bytes)
{
  hlm_status status = HLM_OK;
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    total += (int64_t)strlen(v[i]) + 1;
  }
  HLM_TRY(hlm_to_int(total, "bytes of distinct strings on a rank", bytes));
  HLM_ALLOC(*buf, total);
  char *p = *buf;
  for (int64_t i = 0; i < n; i++) {
    size_t len = strlen(v[i]) + 1;
    memcpy(p, v[i], len);
    p += len;
  }
cleanup:
  return status;
}

/* All ranks' strings, concatenated: gathered into *all (*total bytes). */
static hlm_status gather_bytes(MPI_Comm comm, const char *mine, int bytes,
                               char **all, int64_t *total)
{
  hlm_status status = HLM_OK;
  int size = 1, sum = 0;
  int *counts = NULL, *displs = NULL;
  MPI_Comm_size(comm, &size);
  HLM_ALLOC(counts, size);
  HLM_ALLOC(displs, size);
  HLM_MPI(MPI_Allgather(&bytes, 1, MPI_INT, counts, 1, MPI_INT, comm));
  for (int r = 0; r < size; r++) {
    HLM_CHECK(sum <= INT32_MAX - counts[r], HLM_ERR_NOT_IMPLEMENTED,
              "more than 2 GiB of distinct category labels are not supported");
    displs[r] = sum;
    sum += counts[r];
  }
  HLM_ALLOC(*all, sum);
  HLM_MPI(MPI_Allgatherv(mine, bytes, MPI_CHAR, *all, counts, displs, MPI_CHAR,
                         comm));
  *total = sum;
cleanup:
  free(counts);
  free(displs);
  return status;
}

/* Split a buffer of NUL-terminated strings into distinct sorted copies. */
static hlm_status levels_from_bytes(const char *all, int64_t total,
                                    hlm_column *c)
{
  hlm_status status = HLM_OK;
  const char **v = NULL;
  int64_t n = 0, k = 0;
  for (int64_t i = 0; i < total; i++) {
    n += all[i] == '\0';
  }
  HLM_ALLOC(v, n);
  for (int64_t i = 0; i < total; i += (int64_t)strlen(all + i) + 1) {
    v[k++] = all + i;
  }
  k = distinct_strings(v, n);
  HLM_CHECK(k <= INT32_MAX, HLM_ERR_DATA,
            "column `%s` has more than 2^31 distinct values", c->name);
  HLM_ALLOC(c->levels, k);
  for (c->nlevels = 0; c->nlevels < (int32_t)k; c->nlevels++) {
    c->levels[c->nlevels] = strdup(v[c->nlevels]);
    HLM_CHECK(c->levels[c->nlevels] != NULL, HLM_ERR_NOMEM, "out of memory");
  }
cleanup:
  free(v);
  return status;
}

hlm_status hlm_strings_to_factor(MPI_Comm comm, char *const *text, int64_t n,
                                 hlm_column *c)
{
  hlm_status status = HLM_OK;
  const char **v = NULL;
  char *mine = NULL, *all = NULL;
  int bytes = 0;
  int64_t total = 0;
  HLM_ALLOC(v, n);
  memcpy(v, text, (size_t)n * sizeof *v);
  HLM_TRY(pack_strings(v, distinct_strings(v, n), &mine, &bytes));
  HLM_TRY(gather_bytes(comm, mine, bytes, &all, &total));
  HLM_TRY(levels_from_bytes(all, total, c));
  c->type = HLM_COL_CATEGORICAL;
  HLM_TRY(hlm_column_alloc_values(c, n));
  for (int64_t i = 0; i < n; i++) {
    char *const *hit = text[i][0]
                           ? bsearch(&text[i], c->levels, (size_t)c->nlevels,
                                     sizeof *c->levels, cmp_str)
                           : NULL;
    c->code[i] = hit ? (int32_t)(hit - c->levels) : HLM_CODE_MISSING;
  }
cleanup:
  free(v);
  free(mine);
  free(all);
  return status;
}
