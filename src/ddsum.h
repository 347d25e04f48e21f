/* ddsum.h: sums in double-double (hi, lo) pairs, reduced over ranks with a
 * double-double MPI operation, so that a sum does not depend on how its
 * terms are spread over ranks (to all practical purposes it is correctly
 * rounded).  Accumulate with hlm_dd_add into acc[2 i], acc[2 i + 1]
 * (zero-initialized), reduce with hlm_dd_allreduce, read with
 * hlm_dd_value.  Not installed. */
#ifndef HLM_DDSUM_H
#define HLM_DDSUM_H

#include <mpi.h>

#include "hlm/error.h"

/* Local.  acc (hi, lo) += x (TwoSum). */
void hlm_dd_add(double *acc, double x);

/* Local.  The sum acc holds, rounded to a double. */
double hlm_dd_value(const double *acc);

/* Collective on comm.  The n pairs of acc summed over the ranks, in
 * place. */
hlm_status hlm_dd_allreduce(MPI_Comm comm, double *acc, int n);

/* Collective on comm.  The n pairs of acc summed over the ranks into
 * root's acc (in place there; the other ranks' acc are left unchanged);
 * root < 0: into every rank's (hlm_dd_allreduce). */
hlm_status hlm_dd_reduce(MPI_Comm comm, double *acc, int n, int root);

#endif /* HLM_DDSUM_H */
