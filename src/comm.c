/* comm.c: collective agreement on errors, checked MPI helpers. */
#include "hlm/comm.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum { AGREE_MSG_MAX = 1024 };

static int originates(hlm_status s)
{
  return s != HLM_OK && s != HLM_ERR_OTHER_RANK;
}

/* One reduction gives the worst status, the number of failing ranks and the
 * lowest failing rank: MAX of {status, failed, -rank if failed}. */
static int agree_reduce(MPI_Comm comm, int rank, hlm_status local,
                        hlm_agreement *a)
{
  int failed = originates(local);
  int send[3] = {(int)local, failed, failed ? -rank : INT_MIN};
  int recv[3];
  int rc = MPI_Allreduce(send, recv, 3, MPI_INT, MPI_MAX, comm);
  if (rc == MPI_SUCCESS) {
    rc = MPI_Allreduce(&failed, &a->nfailed, 1, MPI_INT, MPI_SUM, comm);
  }
  a->status = (hlm_status)recv[0];
  a->first_rank = recv[1] ? -recv[2] : -1;
  a->self_failed = failed;
  return rc;
}

/* Broadcast the first failing rank's message into msg, and find out whether
 * all ranks failed with that same message. */
static int agree_messages(MPI_Comm comm, int rank, hlm_agreement *a, char *msg,
                          size_t len)
{
  int size = 1, same = 0, all_same = 0;
  MPI_Comm_size(comm, &size);
  if (rank == a->first_rank) {
    strncpy(msg, hlm_error_message(), len - 1);
  }
  int rc = MPI_Bcast(msg, (int)len, MPI_CHAR, a->first_rank, comm);
  if (rc != MPI_SUCCESS) {
    return rc;
  }
  same = a->self_failed && strcmp(msg, hlm_error_message()) == 0;
  rc = MPI_Allreduce(&same, &all_same, 1, MPI_INT, MPI_MIN, comm);
  a->same_message = same;
  a->all_same = all_same && a->nfailed == size;
  return rc;
}

hlm_status hlm_comm_agree(MPI_Comm comm, hlm_status local, const char *phase,
                          hlm_agreement *out)
{
  hlm_agreement a = {HLM_OK, 0, -1, 0, 0, 0};
  char msg[AGREE_MSG_MAX] = "";
  int rank = 0;
  hlm_status status = HLM_OK;
  MPI_Comm_rank(comm, &rank);
  if (agree_reduce(comm, rank, local, &a) != MPI_SUCCESS) {
    return HLM_ERROR(HLM_ERR_MPI, "MPI failed while ranks agreed on %s", phase);
  }
  if (a.nfailed == 0) {
    /* Nobody failed now; a rank may still carry an earlier OTHER_RANK. */
    status = local;
  } else if (agree_messages(comm, rank, &a, msg, sizeof msg) != MPI_SUCCESS) {
    status =
        HLM_ERROR(HLM_ERR_MPI, "MPI failed while ranks agreed on %s", phase);
  } else if (a.self_failed || local == HLM_ERR_OTHER_RANK) {
    /* a failing rank, or one that already knows (and says) which phase
     * failed, keeps its message */
    status = local;
  } else {
    status = HLM_ERROR(HLM_ERR_OTHER_RANK, "rank %d failed during %s: %s",
                       a.first_rank, phase, msg);
  }
  if (out) {
    *out = a;
  }
  return status;
}

hlm_status hlm_mpi_check_at(int rc, const char *call, const char *file,
                            int line, const char *func)
{
  char text[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  if (rc == MPI_SUCCESS) {
    return HLM_OK;
  }
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) {
    strcpy(text, "unknown MPI error");
  }
  return hlm_error_set_at(HLM_ERR_MPI, file, line, func, "%s failed: %s", call,
                          text);
}

hlm_status hlm_to_int(int64_t value, const char *what, int *out)
{
  if (value < INT_MIN || value > INT_MAX) {
    return HLM_ERROR(HLM_ERR_INTERNAL,
                     "%s = %lld does not fit in an MPI int; this count must "
                     "be split into chunks (a bug in hlm-mpi)",
                     what, (long long)value);
  }
  *out = (int)value;
  return HLM_OK;
}

hlm_status hlm_fault_point(const char *phase, int rank)
{
  const char *spec = getenv("HLM_FAULT_INJECT");
  const char *at = spec ? strchr(spec, '@') : NULL;
  size_t plen = at ? (size_t)(at - spec) : 0;
  if (at == NULL || strlen(phase) != plen || strncmp(spec, phase, plen)) {
    return HLM_OK;
  }
  if (strcmp(at + 1, "*") != 0 && atoi(at + 1) != rank) {
    return HLM_OK;
  }
  return HLM_ERROR(HLM_ERR_INTERNAL, "fault injected in %s on rank %d", phase,
                   rank);
}
