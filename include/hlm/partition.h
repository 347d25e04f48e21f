/*
 * hlm/partition.h: put every top-level cluster's rows on exactly one rank.
 *
 * Clusters are ordered by their first row in the file and dealt to ranks in
 * that order, in contiguous runs balanced by row count, so a file already
 * grouped by cluster moves only the rows of clusters that straddle two
 * ranks' slabs (and none at all when the slabs already line up: then the
 * shuffle is skipped).  Rows move with MPI_Alltoallv, in rounds small enough
 * for int counts.  Within a cluster rows keep their file order.
 */
#ifndef HLM_PARTITION_H
#define HLM_PARTITION_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "hlm/data.h"
#include "hlm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The clusters a rank owns after partitioning: cluster k of this rank has
 * level code `code[k]` of the cluster column and its rows are
 * start[k] .. start[k] + count[k] - 1 of the table. Local clusters appear in
 * the global cluster order (first appearance in the file). */
typedef struct hlm_clusters {
  int64_t nlocal;
  int32_t *code;
  int64_t *start;
  int64_t *count;
  int64_t nglobal; /* clusters with at least one row, over all ranks */
  int64_t first;   /* global position of this rank's first cluster */
} hlm_clusters;

/* What the partition did, the same on every rank. */
typedef struct hlm_partition_info {
  int64_t nrows;           /* rows over all ranks */
  int64_t rows_min;        /* fewest rows on a rank */
  int64_t rows_max;        /* most rows on a rank */
  int64_t largest_cluster; /* rows of the largest cluster */
  int64_t rows_moved;      /* rows that changed rank */
  int shuffled;            /* 0 when no row had to move */
} hlm_partition_info;

/* Collective on comm.  Redistribute the rows of *t so that every cluster of
 * the categorical column `cluster` lives on one rank; replaces *t by the new
 * table (the old one is destroyed) and fills *clusters (free it with
 * hlm_clusters_free) and *info (may be NULL).  Rows with a missing cluster
 * must have been dropped before (an error otherwise). */
hlm_status hlm_partition_by_cluster(MPI_Comm comm, hlm_table **t,
                                    const char *cluster, hlm_clusters *clusters,
                                    hlm_partition_info *info);

/* Local.  Release the arrays of a cluster list (NULL-safe). */
void hlm_clusters_free(hlm_clusters *clusters);

/* Local.  Print the partition summary (rank 0 calls it): rows per rank,
 * imbalance (most rows on a rank over the mean) and the largest cluster. */
void hlm_partition_report(const hlm_partition_info *info, int nranks,
                          FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* HLM_PARTITION_H */
