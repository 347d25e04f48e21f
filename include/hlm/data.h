/*
 * hlm/data.h: columns of data in memory, read in parallel from the HDF5
 * layout of docs/data-format.md, and CSV import into that layout.
 *
 * A table holds this rank's rows of some columns.  Categorical columns carry
 * their level labels, identical on every rank, so a code means the same level
 * everywhere.  Every row remembers its index in the file (row_index), which
 * survives the shuffle of hlm/partition.h.
 */
#ifndef HLM_DATA_H
#define HLM_DATA_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "hlm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hlm_coltype {
  HLM_COL_NUMERIC = 0, /* double, NaN = missing */
  HLM_COL_INTEGER,     /* int64_t, HLM_INT_MISSING = missing */
  HLM_COL_CATEGORICAL  /* int32_t codes into levels, -1 = missing */
} hlm_coltype;

#define HLM_INT_MISSING INT64_MIN
#define HLM_CODE_MISSING (-1)

/* "numeric", "integer", "categorical". Local. */
const char *hlm_coltype_name(hlm_coltype type);

/* One column of a table.  Read-only for users of the table: the table owns
 * every pointer.  Exactly one of num, ival, code is non-NULL (the one of the
 * column's type); each has nrows entries of the owning table. */
typedef struct hlm_column {
  char *name;
  hlm_coltype type;
  double *num;
  int64_t *ival;
  int32_t *code;
  int32_t nlevels; /* categorical: number of levels (same on all ranks) */
  char **levels;   /* categorical: labels of codes 0..nlevels-1 */
} hlm_column;

typedef struct hlm_table hlm_table;

/* Collective on comm.  Read columns of the data set `group` of the HDF5 file
 * `path` (docs/data-format.md) with the MPI-IO driver and collective
 * transfers; each rank gets a contiguous slab of about nrows/size rows.
 * `names` lists the columns to read (ncols of them); NULL reads them all.
 * String categoricals are coded with levels sorted in byte order, gathered
 * from all ranks.  Errors (file missing or not HDF5, group or column missing
 * with the list of columns that exist, columns of different lengths, an
 * unsupported datatype) are agreed on all ranks. */
hlm_status hlm_table_read(MPI_Comm comm, const char *path, const char *group,
                          const char *const *names, int ncols, hlm_table **out);

/* Local.  Free a table (NULL-safe; sets *t to NULL). */
void hlm_table_destroy(hlm_table **t);

/* Local accessors. */
int64_t hlm_table_nrows(const hlm_table *t);
int hlm_table_ncols(const hlm_table *t);
const hlm_column *hlm_table_column(const hlm_table *t, int j);
/* The column called name, or NULL. */
const hlm_column *hlm_table_find(const hlm_table *t, const char *name);
/* Original (file) index of each local row: nrows entries. */
const int64_t *hlm_table_row_index(const hlm_table *t);

/* Local.  Whether row i has a missing value in column c. */
int hlm_column_is_missing(const hlm_column *c, int64_t i);

/* Collective on comm.  Drop the rows with a missing value in any column;
 * write to `report` (on rank 0, if not NULL) how many rows each column
 * removed, over all ranks.  *ndropped (if not NULL) gets the global count. */
hlm_status hlm_table_drop_missing(MPI_Comm comm, hlm_table *t, FILE *report,
                                  int64_t *ndropped);

/* Collective on comm.  Make the integer column `name` categorical: levels are
 * its distinct values over all ranks, sorted numerically, as decimal text.
 * A categorical column is left as it is; a numeric one is an error. */
hlm_status hlm_table_make_factor(MPI_Comm comm, hlm_table *t, const char *name);

/* ---- internal to the data layer and partition (not for users) ---- */

/* Create an empty table of nrows rows with the given columns' metadata
 * (names, types, levels copied; values allocated, uninitialised). Local. */
hlm_status hlm_table_create_like(const hlm_table *like, int64_t nrows,
                                 hlm_table **out);
hlm_column *hlm_table_column_mut(hlm_table *t, int j);
int64_t *hlm_table_row_index_mut(hlm_table *t);

/* ---- command-line tools ---- */

/* Column types forced on the command line: "COL=numeric" etc. */
typedef struct hlm_type_override {
  const char *column;
  hlm_coltype type;
} hlm_type_override;

/* Collective on comm (rank 0 does the work).  Convert the CSV file `csv` to
 * the group `group` of the HDF5 file `h5` (created if missing; an existing
 * group is an error).  Prints the chosen types to `report` on rank 0. */
hlm_status hlm_import_csv(MPI_Comm comm, const char *csv, const char *h5,
                          const char *group, const hlm_type_override *overrides,
                          int noverrides, FILE *report);

/* Collective on comm (rank 0 prints).  List the columns of `group` in `h5`:
 * name, type, rows, missing count, levels (the first few). */
hlm_status hlm_data_info(MPI_Comm comm, const char *h5, const char *group,
                         FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* HLM_DATA_H */
