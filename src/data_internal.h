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

#endif /* HLM_DATA_INTERNAL_H */
