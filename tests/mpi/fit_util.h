/* fit_util.h: shared by the fit tests: read an HDF5 file, partition it by
 * a cluster column and build the design of a formula. */
#ifndef HLM_TEST_FIT_UTIL_H
#define HLM_TEST_FIT_UTIL_H

#include <mpi.h>

#include "hlm/design.h"
#include "hlm/fit.h"

/* Collective on comm.  Read `h5` (group "data"), make grouping variables
 * and the cluster column factors, drop missing rows, partition by
 * `cluster` and build the design of `formula`.  Prints the error and
 * returns non-OK on failure. */
hlm_status fit_util_load(MPI_Comm comm, const char *h5, const char *formula,
                         const char *cluster, hlm_design **out);

/* fit_util_load with a residual variance structure (o may be NULL); an
 * empty column name in o counts as not given. */
hlm_status fit_util_load_opt(MPI_Comm comm, const char *h5, const char *formula,
                             const char *cluster, const hlm_design_options *o,
                             hlm_design **out);

/* Relative difference |a - b| / |b| (|a - b| when b == 0). */
double fit_util_reldiff(double a, double b);

#endif /* HLM_TEST_FIT_UTIL_H */
