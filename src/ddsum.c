/* ddsum.c: double-double sums over ranks (ddsum.h); Ogita, Rump and
 * Oishi's Sum2 with Knuth's TwoSum. */
#include "ddsum.h"

#include "hlm/comm.h"

void hlm_dd_add(double *acc, double x)
{
  double s = acc[0] + x, bp = s - acc[0];
  acc[1] += (acc[0] - (s - bp)) + (x - bp);
  acc[0] = s;
}

double hlm_dd_value(const double *acc)
{
  return acc[0] + acc[1];
}

static void dd_sum_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
  (void)type;
  const double *a = in;
  double *b = inout;
  for (int i = 0; i < *len; i++, a += 2, b += 2) {
    double s = a[0] + b[0], bp = s - b[0];
    double lo = a[1] + b[1] + ((b[0] - (s - bp)) + (a[0] - bp));
    double hi = s + lo;
    b[1] = lo - (hi - s);
    b[0] = hi;
  }
}

hlm_status hlm_dd_allreduce(MPI_Comm comm, double *acc, int n)
{
  return hlm_dd_reduce(comm, acc, n, -1);
}

hlm_status hlm_dd_reduce(MPI_Comm comm, double *acc, int n, int root)
{
  hlm_status status = HLM_OK;
  MPI_Datatype type = MPI_DATATYPE_NULL;
  MPI_Op op = MPI_OP_NULL;
  int rank = 0;
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  HLM_MPI(MPI_Type_contiguous(2, MPI_DOUBLE, &type));
  HLM_MPI(MPI_Type_commit(&type));
  HLM_MPI(MPI_Op_create(dd_sum_op, 1, &op));
  if (root < 0) {
    HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, acc, n, type, op, comm));
  } else if (rank == root) {
    HLM_MPI(MPI_Reduce(MPI_IN_PLACE, acc, n, type, op, root, comm));
  } else {
    HLM_MPI(MPI_Reduce(acc, NULL, n, type, op, root, comm));
  }
cleanup:
  if (op != MPI_OP_NULL) {
    MPI_Op_free(&op);
  }
  if (type != MPI_DATATYPE_NULL) {
    MPI_Type_free(&type);
  }
  return status;
}
