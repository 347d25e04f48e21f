/*
 * hlm/runlog.h: the log a batch-job owner reads.  Messages (header, stages,
 * footer) go to one stream, standard error in hlm-mpi; results go to
 * standard output or files.  Rank 0 writes; the other ranks only take part
 * in the collectives.
 *
 *   quiet    results only: no header, stages or footer (errors still print)
 *   normal   header, data, settings, partition, optimizer progress (first
 *            and last evaluation, and a line at most every 10 s), footer
 *   verbose  also a timestamped line as each stage ends, a progress line
 *            per evaluation, and the time per phase in the footer
 *
 * The phase timer and the progress lines are local bookkeeping: they add
 * no communication except one reduction in the (collective) footer.
 */
#ifndef HLM_RUNLOG_H
#define HLM_RUNLOG_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "hlm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hlm_log_level {
  HLM_LOG_QUIET = 0,
  HLM_LOG_NORMAL = 1,
  HLM_LOG_VERBOSE = 2
} hlm_log_level;

/* Local.  Set the process's log stream (not owned; NULL: none) and level.
 * The default is stderr at HLM_LOG_NORMAL.  Also starts the run's clock. */
void hlm_log_configure(FILE *stream, hlm_log_level level);

/* Local.  The stream for messages of `level`, or NULL when the configured
 * level is lower or this rank is not rank 0 of comm. */
FILE *hlm_log_stream(MPI_Comm comm, hlm_log_level level);

/* Local.  Print "[YYYY-MM-DD HH:MM:SS +SS.SSs] " and the message on rank 0
 * of comm when the level allows it. */
void hlm_log_event(MPI_Comm comm, hlm_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Collective on comm.  The header: program and version, ranks, the hosts
 * they run on (MPI_Get_processor_name, with ranks per host), the Slurm job
 * when there is one, the config path, the start time. */
hlm_status hlm_log_header(MPI_Comm comm, const char *config_path);

/* Local.  Phase timing (docs/performance.md, "where the time goes").  The
 * time since the previous mark is added to `phase`, a stage name of
 * src/run.c ("reading the data", "fitting", ...; names the log does not
 * know count as "other"); NULL names the wait at the end of a phase, for
 * the slowest rank (the agreement).  While the optimizer runs
 * (hlm_log_progress), the time up to its first evaluation counts as the
 * cross-products and the time between its first and last call as the
 * iterations. */
void hlm_log_phase(const char *phase);

/* Local, called by the optimizer loop on every rank before each command it
 * broadcasts (src/fit.c): `nevals` evaluations done so far (0 at the first
 * call of a fit), `crit` the criterion of the latest one, `last` non-zero
 * on the final call (read on rank 0 only).  Rank 0 prints a line for
 * evaluation 1, the last one, and one at most every HLM_PROGRESS_SECONDS
 * (environment; default 10) seconds; with --verbose every evaluation.
 * No communication. */
void hlm_log_progress(MPI_Comm comm, int nevals, double crit, int last);

/* Local.  Record the global system S of a fit (issue 15): its dimension,
 * the process grid (nprow = 0: replicated, LAPACK) and the bytes this rank
 * holds for it; the footer prints the largest recorded, per rank. */
void hlm_log_global_system(int64_t dim, int nprow, int npcol, double bytes);

/* Collective on comm.  The footer: how the run ended (`status`, the agreed
 * status of the run; `what` e.g. "converged"), the total time, the peak
 * resident memory per rank (smallest and largest), the memory per rank
 * for the global system S (hlm_log_global_system), and the output paths
 * (`outputs`, NULL-terminated, may be NULL); with --verbose the time per
 * phase (slowest rank, mean, fastest rank). */
hlm_status hlm_log_footer(MPI_Comm comm, hlm_status status,
                          const char *const *outputs);

#ifdef __cplusplus
}
#endif
#endif /* HLM_RUNLOG_H */
