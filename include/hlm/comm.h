/*
 * hlm/comm.h: failing together across MPI ranks, and checked MPI helpers.
 *
 * The rule (../docs/errors.md): every phase of a run ends with
 * hlm_comm_agree().  If any rank failed, every rank leaves the phase with a
 * non-OK status, the failing ranks keep their own message, the others get a
 * message naming the first failing rank and its message, and nobody waits
 * in a collective that a failed rank will never enter.
 */
#ifndef HLM_COMM_H
#define HLM_COMM_H

#include <mpi.h>
#include <stdint.h>

#include "hlm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the ranks agreed on at the end of a phase. */
typedef struct hlm_agreement {
  hlm_status status; /* worst status over all ranks (HLM_OK if none failed) */
  int nfailed;       /* how many ranks failed */
  int first_rank;    /* lowest failing rank, -1 if none */
  int self_failed;   /* 1 if this rank is one of the failing ones */
  int same_message;  /* 1 if this rank failed with the first rank's message */
  int all_same;      /* 1 if every rank failed, all with the same message */
} hlm_agreement;

/* Collective on comm.  Agree on the outcome of a phase named `phase`.
 * `local` is this rank's status.  Returns HLM_OK when every rank succeeded.
 * Otherwise returns, on a failing rank, its own status (its error record is
 * untouched); on the others, HLM_ERR_OTHER_RANK, with an error record reading
 * "rank R failed during <phase>: <R's message>".  `out` may be NULL.
 * A rank whose status is already HLM_ERR_OTHER_RANK (it learned of another
 * rank's failure in an earlier agreement) does not count as failing.
 * If the agreement itself cannot communicate, returns HLM_ERR_MPI; callers
 * should then MPI_Abort, since nothing better is possible. */
hlm_status hlm_comm_agree(MPI_Comm comm, hlm_status local, const char *phase,
                          hlm_agreement *out);

/* Local.  Turn an MPI return code into an hlm status with a message from
 * MPI_Error_string.  Use through HLM_MPI(call). Requires the communicator's
 * error handler to be MPI_ERRORS_RETURN (hlm-mpi sets it at start-up). */
hlm_status hlm_mpi_check_at(int rc, const char *call, const char *file,
                            int line, const char *func);
#define HLM_MPI(call)                                                          \
  HLM_TRY(hlm_mpi_check_at((call), #call, __FILE__, __LINE__, __func__))

/* Local.  Narrow a count to int for an MPI or ScaLAPACK argument; fails with
 * HLM_ERR_INTERNAL naming `what` when it does not fit. */
hlm_status hlm_to_int(int64_t value, const char *what, int *out);

/* Local.  Fault injection for tests.  When the environment variable
 * HLM_FAULT_INJECT is "PHASE@RANK" (or "PHASE@*") and matches this phase
 * and rank, returns HLM_ERR_INTERNAL with the message "fault injected in
 * PHASE on rank RANK"; otherwise HLM_OK.  Costs one getenv per call. */
hlm_status hlm_fault_point(const char *phase, int rank);

#ifdef __cplusplus
}
#endif
#endif /* HLM_COMM_H */
