/* checkpoint.h: checkpoints of a fit by record and replay.
 *
 * The optimizer (NLopt's BOBYQA) is deterministic: from the same start,
 * given the same criterion values, it asks for the same theta values.  Its
 * internal state cannot be saved, so a checkpoint records every evaluation
 * so far (theta and the criterion, exactly, as hexadecimal floating point)
 * and `--resume` runs the optimizer again from the start, answering its
 * first requests from the record instead of evaluating the criterion, then
 * going on with real evaluations.  Replaying costs only the optimizer's own
 * arithmetic, and the resumed fit takes exactly the path of an
 * uninterrupted one, so it ends at the same estimates, bit for bit.
 *
 * The file is written by rank 0 alone, to PATH.tmp, flushed to disk, then
 * renamed over PATH: a crash leaves the previous checkpoint intact.  The
 * structure lives on rank 0; the other ranks only take part in the
 * agreement on a signal (hlm_ckpt_signal_agree).  Not installed. */
#ifndef HLM_CHECKPOINT_H
#define HLM_CHECKPOINT_H

#include <mpi.h>
#include <stdint.h>

#include "hlm/error.h"

typedef struct hlm_ckpt {
  const char *path; /* not owned; NULL: no checkpoints */
  int interval;     /* evaluations between checkpoints; 0: only on stop */
  int stop_after;   /* stop with a checkpoint after this many evaluations in
                       all (replayed ones included); 0: never */
  /* what a checkpoint must match to be resumed */
  const char *formula; /* not owned */
  int reml, p, ntheta;
  int64_t nobs;
  int extra; /* doubles recorded after the criterion (the quasi-Newton
                optimizer's gradient and A_r matrices), 0 for BOBYQA */
  /* the record: n evaluations of ntheta + 1 + extra doubles (theta,
   * criterion, extra) */
  int n, cap;
  double *rec;
  int nreplay; /* evaluations to answer from the record (resume) */
  int pos;     /* evaluations answered or made so far */
  int written; /* evaluations in the last checkpoint written */
} hlm_ckpt;

/* Local (rank 0).  With resume, read c->path and check it belongs to this
 * fit (formula, method, observations, sizes): HLM_ERR_IO when it is
 * missing or unreadable, HLM_ERR_DATA when it does not match. */
hlm_status hlm_ckpt_start(hlm_ckpt *c, int resume);
void hlm_ckpt_free(hlm_ckpt *c);

/* Local (rank 0).  The optimizer asks for theta: when the record still has
 * evaluations to replay, *hit = 1, *crit is the recorded value and extra
 * (c->extra values; may be NULL) what was recorded with it (theta must be
 * the recorded one: HLM_ERR_DATA otherwise). */
hlm_status hlm_ckpt_replay(hlm_ckpt *c, const double *theta, double *crit,
                           double *extra, int *hit);

/* Local (rank 0).  Record an evaluation just made; extra holds c->extra
 * values (NULL: zeros). */
hlm_status hlm_ckpt_record(hlm_ckpt *c, const double *theta, double crit,
                           const double *extra);

/* Local (rank 0).  Write the checkpoint atomically (PATH.tmp, fsync,
 * rename). */
hlm_status hlm_ckpt_write(hlm_ckpt *c);

/* Local.  Catch SIGTERM and SIGUSR1 (what Slurm sends before a time
 * limit): they only set a flag, read by hlm_ckpt_signal_agree. */
void hlm_ckpt_catch_signals(void);

/* Collective on comm.  1 on every rank when any rank caught a signal. */
hlm_status hlm_ckpt_signal_agree(MPI_Comm comm, int *caught);

#endif /* HLM_CHECKPOINT_H */
