/* run.c: config -> formula -> data -> groups -> partition, each stage
 * agreed across ranks; `check` and `fit` on top. */
#include "hlm/run.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bayes.h"
#include "hlm/comm.h"
#include "hlm/design.h"
#include "hlm/fit.h"
#include "hlm/infer.h"
#include "hlm/lrt.h"
#include "hlm/results.h"
#include "hlm/runlog.h"
#include "hlm/version.h"
#include "profile.h"
#include "survey.h"
#include "watchdog.h"

/* End a stage: a fault point for tests, then agreement across ranks.  The
 * phase timer (hlm/runlog.h) counts this rank's own time in the stage and,
 * apart, its wait for the slowest rank. */
static hlm_status stage_end(MPI_Comm comm, hlm_status local, const char *stage)
{
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  hlm_status fault = hlm_fault_point(stage, rank);
  hlm_log_phase(stage);
  hlm_watchdog_stage(stage, 0); /* progress (watchdog.h) */
  hlm_status status =
      hlm_comm_agree(comm, fault != HLM_OK ? fault : local, stage, NULL);
  hlm_watchdog_stage(stage, 1);
  hlm_log_phase(NULL);
  if (status == HLM_OK) {
    hlm_log_event(comm, HLM_LOG_VERBOSE, "%s: done", stage);
  }
  return status;
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

/* The columns to read: the formula's variables, the cluster column and
 * the weights or known_sd column. */
static hlm_status column_list(const hlm_run *run, const char ***names, int *n)
{
  hlm_status status = HLM_OK;
  int nv = hlm_formula_var_count(run->formula);
  HLM_ALLOC(*names, nv + 8);
  for (int i = 0; i < nv; i++) {
    const hlm_formula_var *v = hlm_formula_variable(run->formula, i);
    if (v->derived != HLM_FORMULA_COLUMN) {
      continue; /* cwc(x, g) and friends: x and g are listed */
    }
    (*names)[(*n)++] = v->name;
  }
  if (run->cfg->cluster &&
      hlm_formula_var_find(run->formula, run->cfg->cluster) < 0) {
    (*names)[(*n)++] = run->cfg->cluster;
  }
  /* the residual variance columns of [data] weights / known_sd (issue 8) */
  const char *extra[7] = {run->cfg->weights,        run->cfg->known_sd,
                          run->cfg->survey_weight1, run->cfg->survey_weight2,
                          run->cfg->survey_psu,     run->cfg->survey_strata,
                          run->cfg->survey_fpc};
  for (int i = 0; i < 7; i++) { /* and the [survey] columns (issue 13) */
    int dup = 0;
    for (int k = 0; k < *n; k++) {
      dup |= extra[i] && !strcmp((*names)[k], extra[i]);
    }
    if (extra[i] && !dup && hlm_formula_var_find(run->formula, extra[i]) < 0) {
      (*names)[(*n)++] = extra[i];
    }
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

/* Collective.  A response without variation cannot be fitted. */
static hlm_status check_variation(const hlm_run *run)
{
  hlm_status status = HLM_OK;
  const char *y = hlm_formula_response(run->formula);
  const hlm_column *c = hlm_table_find(run->table, y);
  double range[2] = {-HUGE_VAL, -HUGE_VAL}; /* -min, max */
  for (int64_t i = 0; c && i < hlm_table_nrows(run->table); i++) {
    double v = c->num ? c->num[i] : (double)c->ival[i];
    range[0] = -v > range[0] ? -v : range[0];
    range[1] = v > range[1] ? v : range[1];
  }
  HLM_MPI(
      MPI_Allreduce(MPI_IN_PLACE, range, 2, MPI_DOUBLE, MPI_MAX, run->comm));
  HLM_CHECK(-range[0] < range[1], HLM_ERR_DATA,
            "the response `%s` has no variation: every row used has the "
            "value %g",
            y, range[1]);
cleanup:
  return status;
}

/* Each grouping factor needs more than one level, and fewer levels than
 * rows (else its variance and the residual variance are not identified),
 * unless the residual SDs are known ([data] known_sd). */
static hlm_status check_levels(const hlm_run *run, int64_t nrows)
{
  const hlm_groups *g = &run->groups;
  for (int j = 0; j < g->nfactors; j++) {
    if (g->nlevels[j] < 2) {
      return HLM_ERROR(HLM_ERR_DATA,
                       "the grouping factor `%s` has %" PRId64
                       " level in the rows used; a variance between its "
                       "levels cannot be estimated (it needs at least 2)",
                       g->name[j], g->nlevels[j]);
    }
    /* known residual SDs (issue 8) identify the group variance */
    if (g->nlevels[j] >= nrows && run->cfg->known_sd == NULL) {
      return HLM_ERROR(HLM_ERR_DATA,
                       "the grouping factor `%s` has %" PRId64
                       " levels for %" PRId64
                       " rows; with as many levels as rows its variance "
                       "cannot be told apart from the residual variance",
                       g->name[j], g->nlevels[j], nrows);
    }
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
  HLM_TRY(stage_end(run->comm, hlm_survey_check_missing(run->cfg, run->table),
                    "reading the data"));
  HLM_TRY(hlm_table_drop_missing(run->comm, run->table, log, &dropped));
  rows = hlm_table_nrows(run->table);
  HLM_MPI(
      MPI_Allreduce(MPI_IN_PLACE, &rows, 1, MPI_INT64_T, MPI_SUM, run->comm));
  HLM_CHECK(rows > 0, HLM_ERR_DATA,
            "no rows left to fit: every row of '%s' has a missing value in "
            "a column the model uses",
            run->cfg->data_file);
  HLM_TRY(check_variation(run));
  run->nrows = rows;
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
  HLM_TRY(stage_end(comm, hlm_bayes_check_config(run->cfg),
                    "reading the configuration"));
  HLM_TRY(stage_end(comm,
                    hlm_results_check_target(comm, run->cfg, &run->config_text),
                    "checking the output files"));
  HLM_TRY(stage_end(comm, read_data(run, log), "reading the data"));
  HLM_TRY(stage_end(comm,
                    hlm_groups_examine(comm, run->table, run->formula,
                                       run->cfg->cluster, &run->groups),
                    "examining the grouping factors"));
  HLM_TRY(stage_end(comm, check_levels(run, run->nrows),
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
  free((*run)->config_text);
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
          run->cfg->method == HLM_METHOD_ML      ? "ML"
          : run->cfg->method == HLM_METHOD_BAYES ? "Bayes (Gibbs sampler)"
                                                 : "REML");
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

/* [checkpoint] and the command line's --resume, --stop-after-iterations
 * into the fit's options (docs/checkpoints.md). */
static hlm_status checkpoint_options(const hlm_run *run, hlm_fit_options *o)
{
  hlm_status status = HLM_OK;
  o->checkpoint = run->cfg->checkpoint;
  o->resume = run->flags.resume;
  HLM_TRY(hlm_to_int(run->cfg->checkpoint_interval, "checkpoint.interval",
                     &o->checkpoint_interval));
  HLM_TRY(hlm_to_int(run->flags.stop_after, "--stop-after-iterations",
                     &o->stop_after));
cleanup:
  return status;
}

/* A fit that did not converge: an error (exit 7) unless the config
 * accepts it, then a warning in the log; either way with the evaluations
 * and, from the quasi-Newton optimizer, the last projected gradient. */
static hlm_status nonconvergence(const hlm_run *run, const hlm_fit *fit)
{
  char grad[64] = "";
  double g = hlm_fit_last_gradient(fit);
  if (!isnan(g)) {
    snprintf(grad, sizeof grad, "; largest projected gradient entry %.3g", g);
  }
  if (run->cfg->accept_nonconvergence) {
    hlm_log_event(run->comm, HLM_LOG_NORMAL,
                  "warning: the optimizer stopped after %d evaluations "
                  "without converging%s (accepted: [estimation] "
                  "accept_nonconvergence)",
                  hlm_fit_evaluations(fit), grad);
    return HLM_OK;
  }
  return HLM_ERROR(HLM_ERR_NUMERIC,
                   "the optimizer stopped after %d evaluations without "
                   "converging (estimation.max_iterations = %" PRId64
                   ")%s; the estimates above are not reliable (raise "
                   "max_iterations, or set accept_nonconvergence)",
                   hlm_fit_evaluations(fit), run->cfg->max_iterations, grad);
}

/* A [survey] design (issue 13, docs/survey.md): weights into the design
 * and the design df for the t tests. */
static hlm_status survey_setup(hlm_run *run, hlm_design *d,
                               hlm_infer_options *io, hlm_survey **sv)
{
  hlm_status status = HLM_OK;
  FILE *log = hlm_log_stream(run->comm, HLM_LOG_NORMAL);
  HLM_TRY(stage_end(run->comm,
                    hlm_survey_apply(run->comm, run->cfg, run->table,
                                     run->groups.partition, d, log, sv),
                    "the survey design"));
  io->df = io->df == HLM_DF_ASYMPTOTIC ? HLM_DF_ASYMPTOTIC : HLM_DF_DESIGN;
  io->formula = NULL; /* no F tests of the fixed terms (docs/survey.md) */
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
  hlm_infer *inf = NULL;
  hlm_infer_options io;
  hlm_infer_contrast *con = NULL;
  double *conL = NULL;
  hlm_survey *sv = NULL;
  int rank = 0;
  MPI_Comm_rank(run->comm, &rank);
  hlm_fit_options_default(&o);
  o.reml = run->cfg->method != HLM_METHOD_ML; /* bayes starts from REML */
  o.xtol_abs = run->cfg->tolerance;
  o.optimizer = run->cfg->optimizer == HLM_OPTIMIZER_NEWTON ? HLM_FIT_NEWTON
                                                            : HLM_FIT_BOBYQA;
  HLM_TRY(hlm_to_int(run->cfg->max_iterations, "estimation.max_iterations",
                     &o.maxeval));
  HLM_TRY(checkpoint_options(run, &o));
  hlm_design_options dopt = {run->cfg->weights, run->cfg->known_sd};
  HLM_TRY(stage_end(run->comm,
                    hlm_design_create_opt(run->comm, run->formula, run->table,
                                          &run->clusters, &dopt, &d),
                    "building the design"));
  hlm_design_set_scalapack_threshold(d, run->cfg->scalapack_threshold);
  HLM_TRY(stage_end(
      run->comm, hlm_infer_options_from_config(run->cfg, d, &io, &con, &conL),
      "checking the contrasts"));
  io.formula = run->formula; /* F tests of its fixed terms */
  if (run->cfg->method == HLM_METHOD_BAYES) {
    HLM_TRY(stage_end(run->comm, hlm_bayes_check_design(run->cfg, d),
                      "checking the Bayesian model"));
  }
  if (hlm_config_survey(run->cfg)) {
    HLM_TRY(survey_setup(run, d, &io, &sv));
  }
  HLM_TRY(stage_end(run->comm, hlm_fit_run(run->comm, d, &o, &fit), "fitting"));
  if (run->cfg->method == HLM_METHOD_BAYES) { /* issue 11: docs/bayes.md */
    status = hlm_bayes_estimate(run->comm, run->cfg, run->config_text, d, fit,
                                &io, conL, out);
    goto cleanup;
  }
  if (sv != NULL) {
    HLM_TRY(stage_end(run->comm, hlm_survey_sandwich(run->comm, sv, d, fit),
                      "the survey sandwich"));
    io.vcov = hlm_survey_robust(sv) ? hlm_survey_vcov(sv) : NULL;
    io.design_df = hlm_survey_df(sv);
  }
  HLM_TRY(stage_end(run->comm, hlm_infer_run(run->comm, d, fit, &io, &inf),
                    "inference"));
  if (rank == 0) {
    status = hlm_fit_print_summary(fit, out);
    if (status == HLM_OK) {
      status = hlm_infer_print(inf, out);
    }
    if (status == HLM_OK && sv != NULL) {
      hlm_survey_print(sv, out);
    }
    if (status == HLM_OK && run->cfg->summary_json) {
      status = hlm_results_write_json(fit, inf, run->cfg->summary_json);
    }
    if (status == HLM_OK && sv != NULL && run->cfg->summary_json) {
      status = hlm_survey_write_json(sv, run->cfg->summary_json);
    }
  }
  HLM_TRY(stage_end(run->comm, status, "writing the results"));
  if (run->cfg->nlrt > 0) { /* [[lrt]] (issue 9) */
    hlm_lrt *lrt = NULL;
    HLM_TRY(stage_end(run->comm,
                      hlm_lrt_run(run->comm, run->cfg, run->formula, run->table,
                                  &run->clusters, &dopt, &o, &lrt),
                      "likelihood-ratio tests"));
    status =
        rank == 0 ? hlm_lrt_output(lrt, out, run->cfg->summary_json) : HLM_OK;
    hlm_lrt_destroy(&lrt);
    HLM_TRY(stage_end(run->comm, status, "writing the tests"));
  }
  if (run->cfg->profile) { /* profile-likelihood intervals (issue 9) */
    hlm_profile *prof = NULL;
    HLM_TRY(stage_end(run->comm,
                      hlm_profile_run(run->comm, d, fit, &o,
                                      run->cfg->confidence_level, &prof),
                      "profile intervals"));
    status = rank == 0 ? hlm_profile_output(prof, out, run->cfg->summary_json)
                       : HLM_OK;
    hlm_profile_destroy(&prof);
    HLM_TRY(stage_end(run->comm, status, "writing the profile intervals"));
  }
  if (run->cfg->results) {
    hlm_results_input ri = {
        run->cfg, run->config_text, run->table, d, fit, inf, &io, conL};
    HLM_TRY(stage_end(run->comm, hlm_results_write(run->comm, &ri),
                      "writing the results file"));
  }
  if (!hlm_fit_converged(fit)) {
    status = nonconvergence(run, fit);
  }
cleanup:
  hlm_survey_destroy(&sv);
  hlm_infer_destroy(&inf);
  free(con);
  free(conL);
  hlm_fit_destroy(&fit);
  hlm_design_destroy(&d);
  return status;
}

/* Results go to `out`; the header, data, settings, partition and footer to
 * the log (hlm/runlog.h, stderr in hlm-mpi).  Every stage is agreed, so all
 * ranks reach the footer (collective) together. */
hlm_status hlm_run_fit(MPI_Comm comm, const char *config_path, FILE *out)
{
  return hlm_run_fit_flags(comm, config_path, NULL, out);
}

hlm_status hlm_run_fit_flags(MPI_Comm comm, const char *config_path,
                             const hlm_run_flags *flags, FILE *out)
{
  hlm_status status = HLM_OK;
  hlm_run *run = NULL;
  int size = 1, rank = 0;
  const char *outputs[3] = {NULL, NULL, NULL};
  MPI_Comm_size(comm, &size);
  MPI_Comm_rank(comm, &rank);
  /* the watchdog (issue 17): the default deadline until the config is read */
  HLM_TRY(stage_end(
      comm, hlm_watchdog_start(HLM_WATCHDOG_DEFAULT_SECONDS, rank, size),
      "starting the watchdog"));
  HLM_TRY(hlm_log_header(comm, config_path));
  FILE *log = hlm_log_stream(comm, HLM_LOG_NORMAL);
  status = hlm_run_prepare(comm, config_path, 1, log, &run);
  if (status == HLM_OK) {
    status = stage_end(
        comm,
        hlm_watchdog_set(run->cfg->watchdog_seconds, run->cfg->checkpoint),
        "starting the watchdog");
  }
  if (status == HLM_OK) {
    if (log) {
      hlm_config_print(run->cfg, log);
      hlm_groups_print(&run->groups, log);
      hlm_partition_report(&run->partition, size, log);
    }
    outputs[0] = run->cfg->summary_json;
    if (flags) {
      run->flags = *flags;
    }
    status = estimate(run, out);
    outputs[1] = status == HLM_OK ? run->cfg->results : NULL;
  }
  hlm_status footer = hlm_log_footer(comm, status, outputs);
  if (status == HLM_OK) {
    status = footer;
  }
cleanup:
  hlm_watchdog_stop();
  hlm_run_destroy(&run);
  return status;
}
