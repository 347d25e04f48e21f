/*
 * hlm/run.h: the stages of a run, from a config file to data ready for the
 * estimation engine: config -> formula -> data -> groups -> partition.
 * Each stage ends with an agreement across ranks (hlm/comm.h), so a failure
 * anywhere stops every rank with that failure's message.
 */
#ifndef HLM_RUN_H
#define HLM_RUN_H

#include <mpi.h>
#include <stdio.h>

#include "hlm/config.h"
#include "hlm/data.h"
#include "hlm/error.h"
#include "hlm/formula.h"
#include "hlm/groups.h"
#include "hlm/partition.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Command-line flags of a fit (docs/checkpoints.md). */
typedef struct hlm_run_flags {
  int resume;         /* --resume: continue from [checkpoint] path */
  int64_t stop_after; /* --stop-after-iterations K: checkpoint and stop
                         after K evaluations in all (0: never) */
} hlm_run_flags;

/* Everything a fit starts from.  Owned by the run; free with
 * hlm_run_destroy. */
typedef struct hlm_run {
  MPI_Comm comm; /* not owned */
  hlm_config *cfg;
  hlm_formula *formula;
  hlm_table *table;
  int64_t nrows; /* rows used, over all ranks */
  hlm_groups groups;
  hlm_clusters clusters;
  hlm_partition_info partition;
  int partitioned;
  char *config_text;   /* the config file, for the results file (or NULL) */
  hlm_run_flags flags; /* of the command line */
} hlm_run;

/* Collective on comm.  Read and validate config_path, parse the formula,
 * read the columns the model uses, drop rows with missing values, examine
 * the grouping factors, and (when `partition` is non-zero) partition the
 * rows by the partition factor.  Rank 0 reports each stage to `log` (may be
 * NULL). */
hlm_status hlm_run_prepare(MPI_Comm comm, const char *config_path,
                           int partition, FILE *log, hlm_run **out);

/* Local.  NULL-safe; sets *run to NULL. */
void hlm_run_destroy(hlm_run **run);

/* Collective on comm.  `hlm-mpi check`: validate the config and the data
 * and print, on rank 0, the model understood. */
hlm_status hlm_run_check(MPI_Comm comm, const char *config_path, FILE *out);

/* Collective on comm.  `hlm-mpi fit`. */
hlm_status hlm_run_fit(MPI_Comm comm, const char *config_path, FILE *out);

/* Collective on comm.  hlm_run_fit with flags (NULL: none). */
hlm_status hlm_run_fit_flags(MPI_Comm comm, const char *config_path,
                             const hlm_run_flags *flags, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* HLM_RUN_H */
