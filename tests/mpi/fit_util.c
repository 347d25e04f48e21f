/* fit_util.c: see fit_util.h. */
#include <math.h>
#include <stdio.h>

#include "fit_util.h"
#include "hlm/data.h"
#include "hlm/formula.h"
#include "hlm/partition.h"

hlm_status fit_util_load(MPI_Comm comm, const char *h5, const char *formula,
                         const char *cluster, hlm_design **out)
{
  return fit_util_load_opt(comm, h5, formula, cluster, NULL, out);
}

hlm_status fit_util_load_opt(MPI_Comm comm, const char *h5, const char *formula,
                             const char *cluster, const hlm_design_options *o,
                             hlm_design **out)
{
  hlm_table *t = NULL;
  hlm_formula *f = NULL;
  hlm_clusters cl = {0};
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  hlm_status s = hlm_formula_parse(formula, &f);
  if (s == HLM_OK) {
    s = hlm_table_read(comm, h5, "data", NULL, 0, &t);
  }
  if (s == HLM_OK) {
    s = hlm_design_prepare_table(comm, f, t);
  }
  if (s == HLM_OK && hlm_table_find(t, cluster) &&
      hlm_table_find(t, cluster)->type == HLM_COL_INTEGER) {
    s = hlm_table_make_factor(comm, t, cluster);
  }
  if (s == HLM_OK) {
    s = hlm_table_drop_missing(comm, t, NULL, NULL);
  }
  if (s == HLM_OK) {
    s = hlm_partition_by_cluster(comm, &t, cluster, &cl, NULL);
  }
  if (s == HLM_OK) {
    s = hlm_design_create_opt(comm, f, t, &cl, o, out);
  }
  if (s != HLM_OK) {
    fprintf(stderr, "rank %d: %s: %s\n", rank, h5, hlm_error_message());
  }
  hlm_clusters_free(&cl);
  hlm_table_destroy(&t);
  hlm_formula_destroy(&f);
  return s;
}

double fit_util_reldiff(double a, double b)
{
  return b != 0 ? fabs(a - b) / fabs(b) : fabs(a - b);
}
