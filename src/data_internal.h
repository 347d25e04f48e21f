/* data_internal.h: the table's representation, shared by the data layer's
 * source files (data_table.c, data_read.c, partition.c).  Not installed. */
#ifndef HLM_DATA_INTERNAL_H
#define HLM_DATA_INTERNAL_H

#include "hlm/data.h"

struct hlm_table {
  int64_t nrows; /* rows on this rank */
  int ncols;
  hlm_column *cols;   /* ncols columns, each with nrows values */
  int64_t *row_index; /* file row of each local row */
};

/* An empty table with ncols zeroed columns and no rows. Local. */
hlm_status hlm_table_alloc(int ncols, hlm_table **out);
/* Allocate c's value array (of c->type) for n rows. Local. */
hlm_status hlm_column_alloc_values(hlm_column *c, int64_t n);
hlm_status hlm_levels_copy(char *const *levels, int32_t n, char ***out);
void hlm_levels_free(char **levels, int32_t n);

/* Collective on comm.  Code the strings text[0..n) as a factor in c (type
 * categorical): levels are the distinct non-empty strings over all ranks in
 * byte order; "" is missing. */
hlm_status hlm_strings_to_factor(MPI_Comm comm, char *const *text, int64_t n,
                                 hlm_column *c);

/* qsort/bsearch comparison of int64_t. */
int hlm_cmp_i64(const void *a, const void *b);

/* Local.  Sorted distinct values of v[0..n) other than HLM_INT_MISSING. */
hlm_status hlm_distinct_i64(const int64_t *v, int64_t n, int64_t **out,
                            int64_t *nout);

/* Collective on comm.  Merge every rank's sorted distinct values: the global
 * distinct values, sorted, the same on every rank. */
hlm_status hlm_gather_distinct_i64(MPI_Comm comm, const int64_t *local,
                                   int64_t nlocal, int64_t **out,
                                   int64_t *nout);

#endif /* HLM_DATA_INTERNAL_H */
