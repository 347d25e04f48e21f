/* watchdog.h: a progress deadline for every rank (docs/failures.md).
 *
 * A dead node, or a link that goes down, can leave the other ranks blocked
 * in an MPI collective for ever: TCP gives no error while it keeps trying.
 * The watchdog is a monitor thread that never calls MPI (hlm-mpi asks for
 * MPI_THREAD_FUNNELED: only the main thread calls MPI).  The rank marks
 * progress when it reaches the end of a stage (src/run.c), when an agreement on
 * a stage ends, and when it starts or finishes an evaluation of the criterion.
 * When `seconds` pass without progress, the thread writes one line to standard
 * error naming the phase and the evaluation, and ends the process with _exit
 * (HLM_WATCHDOG_EXIT): no atexit handlers, no buffered output, no MPI.  A
 * checkpoint being written at that moment is PATH.tmp; the last complete
 * checkpoint (renamed atomically) stays intact.
 *
 * One watchdog per process.  All functions are Local and may be called
 * when the watchdog is not running (they then do nothing).  Not installed.
 */
#ifndef HLM_WATCHDOG_H
#define HLM_WATCHDOG_H

#include "hlm/error.h"

/* The exit status of a rank ended by the watchdog (docs/errors.md). */
#define HLM_WATCHDOG_EXIT 11

/* The deadline when neither the config nor HLM_WATCHDOG_SECONDS sets one. */
#define HLM_WATCHDOG_DEFAULT_SECONDS 600.0

/* Start the monitor thread with `seconds` (0: armed but never fires until
 * hlm_watchdog_set gives a deadline); HLM_WATCHDOG_SECONDS in the
 * environment overrides it.  `rank` and `size` go into the message.
 * Starting a running watchdog only changes its deadline.  Fails
 * (HLM_ERR_CONFIG) on a bad HLM_WATCHDOG_SECONDS, HLM_ERR_INTERNAL when the
 * thread cannot be created. */
hlm_status hlm_watchdog_start(double seconds, int rank, int size);

/* A new deadline (0: off) unless HLM_WATCHDOG_SECONDS is set, and the
 * checkpoint path (copied; NULL: none) that the message names; counts as
 * progress. */
hlm_status hlm_watchdog_set(double seconds, const char *checkpoint);

/* Stop and join the monitor thread.  Safe to call when not running. */
void hlm_watchdog_stop(void);

/* Progress: this rank reached the end of `stage` (a string that outlives
 * the watchdog, e.g. a literal) and is about to agree on it with the
 * others (`done` 0), or the agreement ended (`done` 1). */
void hlm_watchdog_stage(const char *stage, int done);

/* Progress: the optimizer is about to start evaluation `done` + 1 of the
 * criterion (`done` evaluations made by this run, replays not counted). */
void hlm_watchdog_evaluation(int done);

/* Progress without a new label: an evaluation of the criterion finished
 * (src/mme.c), wherever it was asked for (optimizer, inference, profile). */
void hlm_watchdog_touch(void);

/* A test-only fault: with HLM_FAULT_INJECT="hang at evaluation N@R", rank
 * R stops responding (sleeps) when the optimizer is about to start
 * evaluation N, as a rank on a dead node would.  Only the watchdog (or a
 * kill) ends it.  HLM_TEST_EVALUATION_DELAY_MS=T makes every evaluation
 * wait T ms first, so that a test can act mid-fit on small data. */
void hlm_watchdog_fault_hang(int rank, int done);

#endif /* HLM_WATCHDOG_H */
