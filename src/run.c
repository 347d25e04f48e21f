/* run.c: config -> formula -> data -> groups -> partition, each stage
 * agreed across ranks; `check` and `fit` on top. */
#include "hlm/run.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "hlm/comm.h"
#include "hlm/design.h"
#include "hlm/fit.h"
#include "hlm/version.h"

/* End a stage: a fault point for tests, then agreement across ranks. */
static hlm_status stage_end(MPI_Comm comm, hlm_status local, const char *stage)
{
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  hlm_status fault = hlm_fault_point(stage, rank);
  return hlm_comm_agree(comm, fault != HLM_OK ? fault : local, stage, NULL);
}

/* Formula errors point into the formula text; say where it is in the
 * config file too. */
static hlm_status parse_formula(const hlm_config *cfg, hlm_formula **out)
{
  hlm_status status = hlm_formula_parse(cfg->formula, out);
  if (status == HLM_ERR_PARSE || status == HLM_ERR_CONFIG) {
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", hlm_error_message());
    status = HLM_ERROR(status, "%s:%d:%d: in [model] formula: %s", cfg->path,
                       cfg->formula_line, cfg->formula_column, msg);
  }
  return status;
}

/* The columns to read: the formula's variables and the cluster column. */
static hlm_status column_list(const hlm_run *run, const char ***names, int *n)
{
  hlm_status status = HLM_OK;
  int nv = hlm_formula_var_count(run->formula);
  HLM_ALLOC(*names, nv + 1);
  for (int i = 0; i < nv; i++) {
    (*names)[(*n)++] = hlm_formula_variable(run->formula, i)->name;
  }
  if (run->cfg->cluster &&
      hlm_formula_var_find(run->formula, run->cfg->cluster) < 0) {
    (*names)[(*n)++] = run->cfg->cluster;
  }
cleanup:
  return status;
}

static hlm_status check_data_file(const hlm_config *cfg)
{
  size_t len = strlen(cfg->data_file);
  if (len >= 4 && strcmp(cfg->data_file + len - 4, ".csv") == 0) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s: [data] file '%s' is a CSV file; convert it once "
                     "with `hlm-mpi import %s DATA.h5` and name the .h5 file",
                     cfg->path, cfg->data_file, cfg->data_file);
  }
  return HLM_OK;
}

static hlm_status check_response(const hlm_run *run)
{
  const char *y = hlm_formula_response(run->formula);
  const hlm_column *c = hlm_table_find(run->table, y);
  if (c && c->type == HLM_COL_CATEGORICAL) {
    return HLM_ERROR(HLM_ERR_DATA,
                     "the response `%s` is categorical; hlm-mpi fits linear "
                     "mixed models of a numeric response",
                     y);
  }
  return HLM_OK;
}

static hlm_status read_data(hlm_run *run, FILE *log)
{
  hlm_status status = HLM_OK;
  const char **names = NULL;
  int n = 0, rank = 0;
  int64_t dropped = 0, rows = 0;
  MPI_Comm_rank(run->comm, &rank);
  HLM_TRY(stage_end(run->comm, check_data_file(run->cfg), "reading the data"));
  HLM_TRY(column_list(run, &names, &n));
  HLM_TRY(hlm_table_read(run->comm, run->cfg->data_file, run->cfg->data_group,
                         names, n, &run->table));
  HLM_TRY(stage_end(run->comm, check_response(run), "reading the data"));
  HLM_TRY(hlm_table_drop_missing(run->comm, run->table, log, &dropped));
  rows = hlm_table_nrows(run->table);
  HLM_MPI(
      MPI_Allreduce(MPI_IN_PLACE, &rows, 1, MPI_INT64_T, MPI_SUM, run->comm));
  HLM_CHECK(rows > 0, HLM_ERR_DATA,
            "no rows left to fit: every row of '%s' has a missing value in "
            "a column the model uses",
            run->cfg->data_file);
  if (log && rank == 0) {
    fprintf(log, "data: %s [%s]: %" PRId64 " rows used, %d columns\n",
            run->cfg->data_file, run->cfg->data_group, rows, n);
  }
cleanup:
  free(names);
  return status;
}

hlm_status hlm_run_prepare(MPI_Comm comm, const char *config_path,
                           int partition, FILE *log, hlm_run **out)
{
  hlm_status status = HLM_OK;
  hlm_run *run = NULL;
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  *out = NULL;
  HLM_ALLOC(run, 1);
  run->comm = comm;
  HLM_TRY(stage_end(comm, hlm_config_load(config_path, &run->cfg),
                    "reading the configuration"));
  HLM_TRY(stage_end(comm, parse_formula(run->cfg, &run->formula),
                    "reading the configuration"));
  HLM_TRY(stage_end(comm, read_data(run, log), "reading the data"));
  HLM_TRY(stage_end(comm,
                    hlm_groups_examine(comm, run->table, run->formula,
                                       run->cfg->cluster, &run->groups),
                    "examining the grouping factors"));
  if (partition) {
    HLM_TRY(stage_end(comm,
                      hlm_partition_by_cluster(comm, &run->table,
                                               run->groups.partition,
                                               &run->clusters, &run->partition),
                      "partitioning the rows"));
    run->partitioned = 1;
  }
  *out = run;
  run = NULL;
cleanup:
  hlm_run_destroy(&run);
  return status;
}

void hlm_run_destroy(hlm_run **run)
{
  if (run == NULL || *run == NULL) {
    return;
  }
  hlm_config_destroy(&(*run)->cfg);
  hlm_formula_destroy(&(*run)->formula);
  hlm_table_destroy(&(*run)->table);
  hlm_groups_free(&(*run)->groups);
  hlm_clusters_free(&(*run)->clusters);
  free(*run);
  *run = NULL;
}

static void print_model(const hlm_run *run, FILE *out)
{
  const hlm_formula *f = run->formula;
  char buf[256];
  fprintf(out, "model: ");
  hlm_formula_print(f, out);
  fprintf(out, "  response: %s\n  fixed-effect terms: %s",
          hlm_formula_response(f),
          hlm_formula_has_intercept(f) ? "(Intercept)" : "(no intercept)");
  for (int i = 0; i < hlm_formula_fixed_count(f); i++) {
    hlm_formula_term_format(hlm_formula_fixed_term(f, i), buf, sizeof buf);
    fprintf(out, ", %s", buf);
  }
  fprintf(out, "\n  random terms:\n");
  for (int i = 0; i < hlm_formula_random_count(f); i++) {
    const hlm_formula_random *r = hlm_formula_random_term(f, i);
    fprintf(out, "    (%s", r->intercept ? "1" : "0");
    for (int k = 0; k < r->nterms; k++) {
      hlm_formula_term_format(&r->term[k], buf, sizeof buf);
      fprintf(out, " + %s", buf);
    }
    hlm_formula_term_format(&r->group, buf, sizeof buf);
    fprintf(out, " | %s)%s\n", buf,
            r->correlated || r->nterms == 0 ? "" : "  (uncorrelated)");
  }
  fprintf(out, "  method: %s\n",
          run->cfg->method == HLM_METHOD_ML ? "ML" : "REML");
}

hlm_status hlm_run_check(MPI_Comm comm, const char *config_path, FILE *out)
{
  hlm_status status = HLM_OK;
  hlm_run *run = NULL;
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  HLM_TRY(hlm_run_prepare(comm, config_path, 0, rank == 0 ? out : NULL, &run));
  if (rank == 0) {
    hlm_config_print(run->cfg, out);
    print_model(run, out);
    hlm_groups_print(&run->groups, out);
    fprintf(out, "check: %s is valid\n", config_path);
  }
cleanup:
  hlm_run_destroy(&run);
  return status;
}

/* Collective.  Peak resident memory of the ranks (rank 0 prints it). */
static hlm_status report_memory(MPI_Comm comm, FILE *out)
{
  hlm_status status = HLM_OK;
  struct rusage ru;
  int rank = 0;
  double kb[2];
  MPI_Comm_rank(comm, &rank);
  getrusage(RUSAGE_SELF, &ru);
  kb[0] = -(double)ru.ru_maxrss;
  kb[1] = (double)ru.ru_maxrss;
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, kb, 2, MPI_DOUBLE, MPI_MAX, comm));
  if (rank == 0) {
    fprintf(out, "memory: peak resident set per rank %.1f to %.1f MiB\n",
            -kb[0] / 1024.0, kb[1] / 1024.0);
  }
cleanup:
  return status;
}

/* Design, fit, summary and JSON: the estimation stages of `fit`. */
static hlm_status estimate(hlm_run *run, FILE *out)
{
  hlm_status status = HLM_OK;
  hlm_design *d = NULL;
  hlm_fit *fit = NULL;
  hlm_fit_options o;
  int rank = 0;
  MPI_Comm_rank(run->comm, &rank);
  hlm_fit_options_default(&o);
  o.reml = run->cfg->method == HLM_METHOD_REML;
  o.xtol_abs = run->cfg->tolerance;
  HLM_TRY(hlm_to_int(run->cfg->max_iterations, "estimation.max_iterations",
                     &o.maxeval));
  HLM_TRY(stage_end(run->comm,
                    hlm_design_create(run->comm, run->formula, run->table,
                                      &run->clusters, &d),
                    "building the design"));
  HLM_TRY(stage_end(run->comm, hlm_fit_run(run->comm, d, &o, &fit), "fitting"));
  if (rank == 0) {
    status = hlm_fit_print_summary(fit, out);
    if (status == HLM_OK && run->cfg->summary_json) {
      status = hlm_fit_write_json(fit, run->cfg->summary_json);
    }
  }
  HLM_TRY(stage_end(run->comm, status, "writing the results"));
  if (!hlm_fit_converged(fit)) {
    status = HLM_ERROR(HLM_ERR_NUMERIC,
                       "the optimizer stopped after %d evaluations without "
                       "converging (estimation.max_iterations = %" PRId64
                       "); the estimates above are not reliable",
                       hlm_fit_evaluations(fit), run->cfg->max_iterations);
  }
cleanup:
  hlm_fit_destroy(&fit);
  hlm_design_destroy(&d);
  return status;
}

hlm_status hlm_run_fit(MPI_Comm comm, const char *config_path, FILE *out)
{
  hlm_status status = HLM_OK;
  hlm_run *run = NULL;
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (rank == 0) {
    fprintf(out, "hlm-mpi %s on %d rank%s: %s\n", hlm_version(), size,
            size == 1 ? "" : "s", config_path);
  }
  HLM_TRY(hlm_run_prepare(comm, config_path, 1, rank == 0 ? out : NULL, &run));
  if (rank == 0) {
    hlm_config_print(run->cfg, out);
    hlm_groups_print(&run->groups, out);
    hlm_partition_report(&run->partition, size, out);
  }
  HLM_TRY(estimate(run, out));
  HLM_TRY(report_memory(comm, out));
cleanup:
  hlm_run_destroy(&run);
  return status;
}
