/* MPI test: models the fit refuses, refused on every rank with a clear
 * message and no rank left waiting: crossed random terms (issue 8), a
 * column the data lacks, a rank-deficient fixed-effect matrix, a numeric
 * grouping variable.
 * usage: test_fit_errors DATA.h5 FORMULA CLUSTER STATUS SUBSTRING
 * STATUS is the hlm_status number expected (on the ranks that fail; the
 * others report HLM_ERR_OTHER_RANK). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_util.h"

int main(int argc, char **argv)
{
  int rank = 0, size = 1, bad = 0, total = 0, hit = 0, hits = 0;
  hlm_design *d = NULL;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  hlm_error_install_handlers();
  if (argc < 6) {
    fprintf(stderr, "usage: test_fit_errors DATA.h5 FORMULA CLUSTER STATUS "
                    "SUBSTRING\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  hlm_status want = (hlm_status)atoi(argv[4]);
  hlm_status s = fit_util_load(MPI_COMM_WORLD, argv[1], argv[2], argv[3], &d);
  hit = s == want;
  if (s != want && s != HLM_ERR_OTHER_RANK) {
    fprintf(stderr, "rank %d: status %d (%s), expected %d\n", rank, (int)s,
            hlm_strerror(s), (int)want);
    bad++;
  }
  if (strstr(hlm_error_message(), argv[5]) == NULL) {
    fprintf(stderr, "rank %d: message lacks '%s': %s\n", rank, argv[5],
            hlm_error_message());
    bad++;
  }
  hlm_design_destroy(&d);
  MPI_Allreduce(&bad, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(&hit, &hits, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("test_fit_errors: %d ranks; rank 0 says: %s\n", size,
           hlm_error_message());
  }
  MPI_Finalize();
  return total != 0 || hits == 0;
}
