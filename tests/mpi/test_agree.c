/* MPI test of hlm_comm_agree: whichever ranks fail, every rank leaves the
 * phase with a non-OK status and the right account of who failed.  Runs at
 * any rank count; exits non-zero on every rank if any check fails. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "hlm/comm.h"
#include "hlm/error.h"

static int nbad = 0;

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "rank %d: %s:%d: check failed: %s\n", rank, __FILE__,    \
              __LINE__, #cond);                                                \
      nbad++;                                                                  \
    }                                                                          \
  } while (0)

/* Rank `culprit` fails; everyone must hear about it. */
static void one_rank_fails(int rank, int culprit)
{
  hlm_agreement a;
  hlm_status local = HLM_OK;
  char expect[256];
  hlm_error_clear();
  if (rank == culprit) {
    local = HLM_ERROR(HLM_ERR_DATA, "boom on %d", culprit);
  }
  hlm_status s = hlm_comm_agree(MPI_COMM_WORLD, local, "reading", &a);
  EXPECT(a.nfailed == 1);
  EXPECT(a.first_rank == culprit);
  EXPECT(a.status == HLM_ERR_DATA);
  if (rank == culprit) {
    EXPECT(s == HLM_ERR_DATA);
    EXPECT(a.self_failed == 1);
    snprintf(expect, sizeof expect, "boom on %d", culprit);
  } else {
    EXPECT(s == HLM_ERR_OTHER_RANK);
    EXPECT(a.self_failed == 0);
    snprintf(expect, sizeof expect, "rank %d failed during reading: boom on %d",
             culprit, culprit);
  }
  EXPECT(strcmp(hlm_error_message(), expect) == 0);
}

static void nobody_fails(int rank)
{
  hlm_agreement a;
  hlm_error_clear();
  EXPECT(hlm_comm_agree(MPI_COMM_WORLD, HLM_OK, "x", &a) == HLM_OK);
  EXPECT(a.nfailed == 0 && a.first_rank == -1 && a.status == HLM_OK);
}

static void everybody_fails_alike(int rank, int size)
{
  hlm_agreement a;
  hlm_status local = HLM_ERROR(HLM_ERR_CONFIG, "same config error");
  EXPECT(hlm_comm_agree(MPI_COMM_WORLD, local, "x", &a) == HLM_ERR_CONFIG);
  EXPECT(a.nfailed == size && a.first_rank == 0);
  EXPECT(a.all_same == 1 && a.same_message == 1);
}

/* Ranks >= 1 fail with different messages; the worst status wins. */
static void several_fail_differently(int rank, int size)
{
  hlm_agreement a;
  hlm_status local = HLM_OK;
  hlm_error_clear();
  if (rank >= 1) {
    local = HLM_ERROR(rank == size - 1 ? HLM_ERR_NOMEM : HLM_ERR_IO,
                      "failure %d", rank);
  }
  hlm_status s = hlm_comm_agree(MPI_COMM_WORLD, local, "x", &a);
  EXPECT((s != HLM_OK) == (size > 1));
  EXPECT(a.nfailed == size - 1);
  EXPECT(a.first_rank == (size > 1 ? 1 : -1));
  EXPECT(a.status == (size > 1 ? HLM_ERR_NOMEM : HLM_OK));
  EXPECT(a.all_same == 0);
  EXPECT(a.same_message == (rank == 1));
}

/* A rank that already carries OTHER_RANK from an earlier phase is not a new
 * failure, but it keeps its non-OK status. */
static void carried_failure(int rank)
{
  hlm_agreement a;
  hlm_status local = rank == 0 ? HLM_ERR_OTHER_RANK : HLM_OK;
  hlm_status s = hlm_comm_agree(MPI_COMM_WORLD, local, "x", &a);
  EXPECT(a.nfailed == 0);
  EXPECT(s == local);
}

/* At the end of a run, a rank that learned of a failure in an earlier phase
 * keeps that message (which names the phase) when the final agreement
 * re-broadcasts the failing rank's own message. */
static void carried_message_kept(int rank, int size)
{
  hlm_agreement a;
  hlm_status local = HLM_OK;
  int culprit = size - 1;
  if (rank == culprit) {
    local = HLM_ERROR(HLM_ERR_DATA, "bad row");
  } else {
    local = HLM_ERROR(HLM_ERR_OTHER_RANK,
                      "rank %d failed during reading: "
                      "bad row",
                      culprit);
  }
  hlm_status s = hlm_comm_agree(MPI_COMM_WORLD, local, "the run", &a);
  EXPECT(s == local);
  EXPECT(a.first_rank == culprit && a.nfailed == 1);
  if (rank != culprit) {
    EXPECT(strstr(hlm_error_message(), "failed during reading") != NULL);
  }
}

int main(int argc, char **argv)
{
  int rank = 0, size = 1, total = 0;
  MPI_Init(&argc, &argv);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  nobody_fails(rank);
  for (int culprit = 0; culprit < size; culprit++) {
    one_rank_fails(rank, culprit);
  }
  everybody_fails_alike(rank, size);
  several_fail_differently(rank, size);
  carried_failure(rank);
  carried_message_kept(rank, size);
  MPI_Allreduce(&nbad, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("test_agree: %d ranks, %d failed checks\n", size, total);
  }
  MPI_Finalize();
  return total != 0;
}
