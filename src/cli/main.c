/* main.c: the hlm-mpi command line.  Thin: parses arguments, runs one
 * subcommand from libhlm, and reports errors so that every rank exits with
 * the same non-zero code and nobody hangs. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hlm/comm.h"
#include "hlm/data.h"
#include "hlm/error.h"
#include "hlm/run.h"
#include "hlm/runlog.h"
#include "hlm/simulate.h"
#include "hlm/version.h"
#include "mpi_defaults.h"

typedef struct cli_ctx {
  MPI_Comm comm;
  int rank;
  int size;
  int verbose;
  int quiet;
  hlm_run_flags flags; /* --resume, --stop-after-iterations (fit only) */
  int nflags;          /* how many of them were given */
} cli_ctx;

typedef hlm_status (*cli_handler)(cli_ctx *ctx, int argc, char **argv);

typedef struct cli_command {
  const char *name;
  const char *args;
  const char *summary;
  int min_args;
  int max_args; /* -1: no limit */
  cli_handler run;
} cli_command;

static hlm_status cmd_fit(cli_ctx *ctx, int argc, char **argv);
static hlm_status cmd_check(cli_ctx *ctx, int argc, char **argv);
static hlm_status cmd_import(cli_ctx *ctx, int argc, char **argv);
static hlm_status cmd_info(cli_ctx *ctx, int argc, char **argv);
static hlm_status cmd_simulate(cli_ctx *ctx, int argc, char **argv);
static const cli_command *find_command(const char *name);

static const cli_command commands[] = {
    {"fit", "CONFIG.toml [--resume] [--stop-after-iterations K]",
     "fit the model described in CONFIG.toml", 1, 4, cmd_fit},
    {"check", "CONFIG.toml",
     "validate CONFIG.toml and print the model it describes", 1, 1, cmd_check},
    {"import", "DATA.csv DATA.h5 [--group NAME] [--type COL=KIND ...]",
     "convert a CSV file to the HDF5 data layout", 2, -1, cmd_import},
    {"info", "DATA.h5 [--group NAME]",
     "list the columns, types, rows and levels of a file", 1, 3, cmd_info},
    {"simulate", "SIM.toml OUT.h5",
     "write a synthetic cluster-sampled data set", 2, 2, cmd_simulate},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static void print_help(FILE *out)
{
  fprintf(out,
          "usage: mpirun -n N hlm-mpi [OPTIONS] CONFIG.toml\n"
          "       mpirun -n N hlm-mpi [OPTIONS] COMMAND ARGS...\n\n"
          "Fits hierarchical linear (mixed-effects) models to cluster-sampled "
          "data,\nwith the data spread over MPI ranks.  A bare CONFIG.toml "
          "means `fit CONFIG.toml`.\n\ncommands:\n");
  for (int i = 0; i < NCOMMANDS; i++) {
    fprintf(out, "  %-9s %s\n            %s\n", commands[i].name,
            commands[i].args, commands[i].summary);
  }
  fprintf(out, "\noptions:\n"
               "  -h, --help     show this help and exit\n"
               "  -V, --version  show the version of hlm-mpi and of the "
               "libraries it uses\n"
               "  -v, --verbose  log each stage with a timestamp, every "
               "evaluation of the\n"
               "                 criterion and the time per phase; on errors, "
               "also print\n"
               "                 where in the code they arose\n"
               "  -q, --quiet    print results only: no header, progress or "
               "footer on stderr\n"
               "                 (errors are still printed)\n"
               "  --resume       fit: continue from the checkpoint of "
               "[checkpoint] path\n"
               "  --stop-after-iterations K\n"
               "                 fit: write the checkpoint and stop (exit 10) "
               "after K\n"
               "                 evaluations of the criterion\n\n"
               "Results go to stdout, messages (the log) to stderr.\n"
               "Exit status: 0 success, 1 internal error, 2 usage error, "
               "3 feature not implemented yet,\n"
               "  4 configuration error, 5 data error, 6 input/output error, "
               "7 numerical failure\n"
               "  or no convergence, 8 out of memory, 9 MPI failure, 10 "
               "stopped with a\n"
               "  checkpoint (SIGTERM, SIGUSR1 or --stop-after-iterations), "
               "11 ended by the\n"
               "  watchdog (no progress: a node or link failed; "
               "docs/failures.md).\n"
               "Documentation: docs/ in the source tree (docs/errors.md for "
               "messages).\n");
}

/* End a phase: a fault point for tests (an injected fault wins over the
 * phase's own outcome), then agreement across ranks. */
static hlm_status phase_end(cli_ctx *ctx, hlm_status local, const char *phase)
{
  hlm_status fault = hlm_fault_point(phase, ctx->rank);
  if (fault != HLM_OK) {
    local = fault;
  }
  return hlm_comm_agree(ctx->comm, local, phase, NULL);
}

static int take_option(const char *opt, int argc, char **argv, int *i,
                       const char **value);

/* --resume or --stop-after-iterations K at argv[*i] (advanced past it):
 * 1 when it was one of them, with *status set on a bad value. */
static int fit_flag(cli_ctx *ctx, int argc, char **argv, int *i,
                    hlm_status *status)
{
  const char *v = NULL;
  char *end = NULL;
  if (!strcmp(argv[*i], "--resume")) {
    ctx->flags.resume = 1;
  } else if (take_option("--stop-after-iterations", argc, argv, i, &v)) {
    long long k = v ? strtoll(v, &end, 10) : 0;
    if (v == NULL || *end != '\0' || k < 1) {
      *status = HLM_ERROR(HLM_ERR_USAGE,
                          "--stop-after-iterations needs a positive number of "
                          "evaluations, got '%s'",
                          v ? v : "");
    }
    ctx->flags.stop_after = k;
  } else {
    return 0;
  }
  ctx->nflags++;
  return 1;
}

static hlm_status cmd_fit(cli_ctx *ctx, int argc, char **argv)
{
  hlm_status status = HLM_OK;
  for (int i = 1; i < argc && status == HLM_OK; i++) {
    if (!fit_flag(ctx, argc, argv, &i, &status)) {
      return HLM_ERROR(HLM_ERR_USAGE,
                       "fit: unexpected argument '%s' (see hlm-mpi --help)",
                       argv[i]);
    }
  }
  if (status != HLM_OK) {
    return status;
  }
  return hlm_run_fit_flags(ctx->comm, argv[0], &ctx->flags, stdout);
}

static hlm_status cmd_check(cli_ctx *ctx, int argc, char **argv)
{
  (void)argc;
  return hlm_run_check(ctx->comm, argv[0], stdout);
}

/* `--opt VALUE` or `--opt=VALUE` at argv[*i]: returns 1 and advances *i past
 * it (*value NULL when the value is missing), else 0. */
static int take_option(const char *opt, int argc, char **argv, int *i,
                       const char **value)
{
  size_t n = strlen(opt);
  if (strncmp(argv[*i], opt, n) != 0) {
    return 0;
  }
  if (argv[*i][n] == '=') {
    *value = argv[*i] + n + 1;
  } else if (argv[*i][n] != '\0') {
    return 0;
  } else {
    *value = *i + 1 < argc ? argv[++*i] : NULL;
  }
  return 1;
}

/* --type COL=KIND: the column (malloc'ed) and its type. */
static hlm_status parse_type(const char *value, hlm_type_override *t)
{
  hlm_status status = HLM_OK;
  const char *eq = value ? strrchr(value, '=') : NULL;
  static const hlm_coltype kinds[] = {HLM_COL_NUMERIC, HLM_COL_INTEGER,
                                      HLM_COL_CATEGORICAL};
  HLM_CHECK(eq != NULL && eq != value, HLM_ERR_USAGE,
            "--type needs COL=KIND (KIND: numeric, integer or categorical), "
            "got '%s'",
            value ? value : "");
  int k = 0;
  while (k < 3 && strcmp(eq + 1, hlm_coltype_name(kinds[k])) != 0) {
    k++;
  }
  HLM_CHECK(k < 3, HLM_ERR_USAGE,
            "--type %s: unknown type '%s' (numeric, integer or categorical)",
            value, eq + 1);
  t->type = kinds[k];
  t->column = strndup(value, (size_t)(eq - value));
  HLM_CHECK(t->column != NULL, HLM_ERR_NOMEM, "out of memory");
cleanup:
  return status;
}

static hlm_status cmd_import(cli_ctx *ctx, int argc, char **argv)
{
  hlm_status status = HLM_OK;
  const char *files[2] = {NULL, NULL}, *group = "data", *value = NULL;
  hlm_type_override *types = NULL;
  int nfiles = 0, ntypes = 0;
  HLM_ALLOC(types, argc);
  for (int i = 0; i < argc; i++) {
    if (take_option("--group", argc, argv, &i, &value)) {
      HLM_CHECK(value != NULL && value[0] != '\0', HLM_ERR_USAGE,
                "--group needs a NAME");
      group = value;
    } else if (take_option("--type", argc, argv, &i, &value)) {
      HLM_TRY(parse_type(value, &types[ntypes]));
      ntypes++;
      for (int k = 0; k < ntypes - 1; k++) {
        HLM_CHECK(strcmp(types[k].column, types[ntypes - 1].column) != 0,
                  HLM_ERR_USAGE, "--type names column '%s' twice",
                  types[k].column);
      }
    } else {
      HLM_CHECK(argv[i][0] != '-' || argv[i][1] == '\0', HLM_ERR_USAGE,
                "import: unknown option '%s' (usage: hlm-mpi import %s)",
                argv[i], find_command("import")->args);
      HLM_CHECK(nfiles < 2, HLM_ERR_USAGE,
                "import: unexpected argument '%s' (usage: hlm-mpi import %s)",
                argv[i], find_command("import")->args);
      files[nfiles++] = argv[i];
    }
  }
  HLM_CHECK(nfiles == 2, HLM_ERR_USAGE, "usage: hlm-mpi import %s",
            find_command("import")->args);
  status = hlm_import_csv(ctx->comm, files[0], files[1], group, types, ntypes,
                          stdout);
cleanup:
  for (int k = 0; k < ntypes; k++) {
    free((char *)types[k].column);
  }
  free(types);
  return status;
}

static hlm_status cmd_info(cli_ctx *ctx, int argc, char **argv)
{
  hlm_status status = HLM_OK;
  const char *file = NULL, *group = "data", *value = NULL;
  for (int i = 0; i < argc; i++) {
    if (take_option("--group", argc, argv, &i, &value)) {
      HLM_CHECK(value != NULL && value[0] != '\0', HLM_ERR_USAGE,
                "--group needs a NAME");
      group = value;
    } else {
      HLM_CHECK(argv[i][0] != '-' || argv[i][1] == '\0', HLM_ERR_USAGE,
                "info: unknown option '%s' (usage: hlm-mpi info %s)", argv[i],
                find_command("info")->args);
      HLM_CHECK(file == NULL, HLM_ERR_USAGE,
                "info: unexpected argument '%s' (usage: hlm-mpi info %s)",
                argv[i], find_command("info")->args);
      file = argv[i];
    }
  }
  HLM_CHECK(file != NULL, HLM_ERR_USAGE, "usage: hlm-mpi info %s",
            find_command("info")->args);
  status = hlm_data_info(ctx->comm, file, group, stdout);
cleanup:
  return status;
}

static hlm_status cmd_simulate(cli_ctx *ctx, int argc, char **argv)
{
  hlm_status status = HLM_OK;
  hlm_sim_config *cfg = NULL;
  (void)argc;
  HLM_TRY(
      phase_end(ctx, hlm_sim_config_load(argv[0], &cfg), "simulate config"));
  HLM_TRY(
      hlm_simulate(ctx->comm, cfg, argv[1], ctx->rank == 0 ? stdout : NULL));
cleanup:
  hlm_sim_config_destroy(&cfg);
  return status;
}

static const cli_command *find_command(const char *name)
{
  for (int i = 0; i < NCOMMANDS; i++) {
    if (strcmp(commands[i].name, name) == 0) {
      return &commands[i];
    }
  }
  return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Parse options and pick the command; identical on every rank, so a usage
 * error needs no agreement. Sets *done when --help/--version was handled. */
static hlm_status parse_args(cli_ctx *ctx, int argc, char **argv,
                             const cli_command **cmd, int *first, int *done)
{
  int i = 1;
  hlm_status status = HLM_OK;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      if (ctx->rank == 0) {
        print_help(stdout);
      }
      *done = 1;
      return HLM_OK;
    } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
      if (ctx->rank == 0) {
        hlm_version_print(stdout);
      }
      *done = 1;
      return HLM_OK;
    } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
      ctx->verbose = 1;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      ctx->quiet = 1;
    } else if (fit_flag(ctx, argc, argv, &i, &status)) {
      if (status != HLM_OK) {
        return status;
      }
    } else {
      return HLM_ERROR(HLM_ERR_USAGE,
                       "unknown option '%s' (see hlm-mpi --help)", a);
    }
  }
  if (i >= argc) {
    return HLM_ERROR(HLM_ERR_USAGE, "no command or config file given (see "
                                    "hlm-mpi --help)");
  }
  *cmd = find_command(argv[i]);
  if (*cmd) {
    i++;
  } else if (ends_with(argv[i], ".toml")) {
    *cmd = find_command("fit");
  } else {
    return HLM_ERROR(HLM_ERR_USAGE,
                     "unknown command '%s' (commands: fit, check, import, "
                     "info, simulate; a config file must end in .toml)",
                     argv[i]);
  }
  int nargs = argc - i;
  if (ctx->nflags > 0 && strcmp((*cmd)->name, "fit") != 0) {
    return HLM_ERROR(HLM_ERR_USAGE,
                     "--resume and --stop-after-iterations are options of "
                     "fit, not of %s",
                     (*cmd)->name);
  }
  if (nargs < (*cmd)->min_args ||
      ((*cmd)->max_args >= 0 && nargs > (*cmd)->max_args)) {
    return HLM_ERROR(HLM_ERR_USAGE, "usage: hlm-mpi %s %s", (*cmd)->name,
                     (*cmd)->args);
  }
  *first = i;
  return HLM_OK;
}

/* Print the outcome once per distinct message: a rank that failed with its
 * own message prints it; rank 0 prints the summary when it did not fail. */
static void report(const cli_ctx *ctx, hlm_status status,
                   const hlm_agreement *a)
{
  if (status == HLM_OK) {
    return;
  }
  if (a->self_failed && (a->all_same || ctx->size == 1)) {
    if (ctx->rank == a->first_rank) {
      fprintf(stderr, "hlm-mpi: %s: %s\n", hlm_strerror(status),
              hlm_error_message());
    }
  } else if (a->self_failed) {
    if (ctx->rank == a->first_rank || !a->same_message) {
      fprintf(stderr, "hlm-mpi: rank %d of %d: %s: %s\n", ctx->rank, ctx->size,
              hlm_strerror(status), hlm_error_message());
    }
  } else if (ctx->rank == 0) {
    fprintf(stderr, "hlm-mpi: stopped: %d of %d ranks failed; %s\n", a->nfailed,
            ctx->size, hlm_error_message());
  }
  if (ctx->verbose && a->self_failed) {
    fprintf(stderr, "hlm-mpi: rank %d: error raised at:\n%s\n", ctx->rank,
            hlm_error_trace_text());
  }
}

/* Collective.  The exit code every rank returns: the code of the failure
 * that originated somewhere (docs/errors.md), the same on all ranks; ranks
 * that only learned of another rank's failure take that rank's code. */
static int agreed_exit_code(MPI_Comm comm, hlm_status final)
{
  int own = hlm_status_exit_code(final);
  int mine = final == HLM_ERR_OTHER_RANK ? 0 : own, worst = 0;
  if (MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS) {
    return own;
  }
  return worst != 0 ? worst : own;
}

static hlm_status run(cli_ctx *ctx, int argc, char **argv)
{
  const cli_command *cmd = NULL;
  int first = 0, done = 0;
  hlm_status status = parse_args(ctx, argc, argv, &cmd, &first, &done);
  if (status != HLM_OK || done) {
    return status;
  }
  hlm_log_configure(stderr, ctx->quiet     ? HLM_LOG_QUIET
                            : ctx->verbose ? HLM_LOG_VERBOSE
                                           : HLM_LOG_NORMAL);
  return cmd->run(ctx, argc - first, argv + first);
}

/* OpenBLAS's own threads (one per core by default) compete with the MPI
 * ranks for the cores and spin while they wait: on the small dense blocks
 * of a fit they made it up to twice as slow.  The ranks are the
 * parallelism, so each uses one BLAS thread unless OPENBLAS_NUM_THREADS
 * says otherwise (docs/performance.md). */
void openblas_set_num_threads(int n);

static void blas_one_thread(void)
{
  if (getenv("OPENBLAS_NUM_THREADS") == NULL) {
    openblas_set_num_threads(1);
  }
}

int main(int argc, char **argv)
{
  cli_ctx ctx = {MPI_COMM_WORLD, 0, 1, 0, 0, {0, 0}, 0};
  hlm_agreement a = {HLM_OK, 0, -1, 0, 0, 0};
  int provided = 0;
  hlm_mpi_defaults(); /* before MPI_Init: a faster start-up */
  /* FUNNELED: only this thread calls MPI; the watchdog's monitor thread
   * (src/watchdog.h) never does */
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) !=
      MPI_SUCCESS) {
    fprintf(stderr, "hlm-mpi: MPI_Init failed\n");
    return 1;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(ctx.comm, &ctx.rank);
  MPI_Comm_size(ctx.comm, &ctx.size);
  hlm_error_install_handlers();
  blas_one_thread();

  hlm_status status = run(&ctx, argc, argv);
  hlm_status final = hlm_comm_agree(ctx.comm, status, "the run", &a);
  if (final == HLM_ERR_MPI) {
    fprintf(stderr, "hlm-mpi: rank %d: %s\n", ctx.rank, hlm_error_message());
    MPI_Abort(ctx.comm, hlm_status_exit_code(HLM_ERR_MPI));
  }
  report(&ctx, final, &a);
  int code = agreed_exit_code(ctx.comm, final);
  fflush(stdout);
  fflush(stderr);
  MPI_Finalize();
  return code;
}
