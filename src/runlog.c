/* runlog.c: header, timestamped events, optimizer progress, phase timing
 * and footer of a run's log. */
#include "hlm/runlog.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "hlm/comm.h"
#include "hlm/version.h"

static struct {
  FILE *stream;
  int configured;
  hlm_log_level level;
  double start;
  int64_t sdim; /* the global system S (hlm_log_global_system) */
  int nprow, npcol;
  double sbytes;
} log_state = {NULL, 0, HLM_LOG_NORMAL, 0.0, -1, 0, 0, 0.0};

void hlm_log_global_system(int64_t dim, int nprow, int npcol, double bytes)
{
  if (bytes >= log_state.sbytes || dim > log_state.sdim) {
    log_state.sdim = dim;
    log_state.nprow = nprow;
    log_state.npcol = npcol;
    log_state.sbytes = bytes;
  }
}

/* The footer's line on S: the largest and smallest bytes over the ranks. */
static void print_global_system(FILE *f, const double *sb)
{
  if (log_state.sdim < 0) {
    return;
  }
  if (log_state.nprow > 0) {
    fprintf(f,
            "  global system S: %lld unknowns, distributed (ScaLAPACK, %d x %d "
            "grid): %.1f to %.1f MiB per rank\n",
            (long long)log_state.sdim, log_state.nprow, log_state.npcol,
            -sb[0] / 1048576.0, sb[1] / 1048576.0);
  } else {
    fprintf(f,
            "  global system S: %lld unknowns, replicated (LAPACK): %.1f MiB "
            "per rank\n",
            (long long)log_state.sdim, sb[1] / 1048576.0);
  }
}

/* The phases of a fit, in the order of the run, with the short labels the
 * footer prints.  A fixed table, so the footer reduces the same slots on
 * every rank. */
enum {
  PH_CONFIG,
  PH_READ,
  PH_GROUPS,
  PH_SHUFFLE,
  PH_DESIGN,
  PH_CONTRASTS,
  PH_XPROD, /* up to the optimizer's first call */
  PH_ITER,  /* the optimizer's first to last call */
  PH_ESTIMATES,
  PH_INFER,
  PH_LRT,
  PH_OUTPUT,
  PH_WAIT,  /* waits at the ends of phases */
  PH_OTHER, /* stages not listed below, the footer */
  NPHASES
};
static const char *const phase_label[NPHASES] = {
    [PH_CONFIG] = "config",
    [PH_READ] = "read",
    [PH_GROUPS] = "groups",
    [PH_SHUFFLE] = "shuffle",
    [PH_DESIGN] = "design",
    [PH_CONTRASTS] = "contrasts",
    [PH_XPROD] = "cross-products",
    [PH_ITER] = "iterations",
    [PH_ESTIMATES] = "estimates",
    [PH_INFER] = "inference",
    [PH_LRT] = "likelihood-ratio tests",
    [PH_OUTPUT] = "output",
    [PH_WAIT] = "waits at phase ends",
    [PH_OTHER] = "other",
};
/* The stage names of src/run.c. */
static const struct {
  const char *stage;
  int phase;
} stage_phase[] = {
    {"reading the configuration", PH_CONFIG},
    {"checking the output files", PH_CONFIG},
    {"reading the data", PH_READ},
    {"examining the grouping factors", PH_GROUPS},
    {"partitioning the rows", PH_SHUFFLE},
    {"building the design", PH_DESIGN},
    {"checking the contrasts", PH_CONTRASTS},
    {"fitting", PH_ESTIMATES},
    {"inference", PH_INFER},
    {"likelihood-ratio tests", PH_LRT},
    {"writing the results", PH_OUTPUT},
    {"writing the tests", PH_OUTPUT},
    {"writing the results file", PH_OUTPUT},
};
enum { NSTAGES = sizeof stage_phase / sizeof stage_phase[0] };

static struct {
  double mark; /* end of the last phase marked (0: not yet) */
  double seconds[NPHASES];
  int seen[NPHASES];
  int optimizing; /* between the optimizer's first call and the
                     next phase mark */
  double opt_first, opt_last, last_print;
  double best, best_printed;
  int nfits; /* optimizer runs so far (refits for [[lrt]] are counted) */
} timing;

void hlm_log_configure(FILE *stream, hlm_log_level level)
{
  log_state.stream = stream;
  log_state.level = level;
  log_state.configured = 1;
  log_state.start = MPI_Wtime();
  memset(&timing, 0, sizeof timing);
  timing.mark = log_state.start;
}

FILE *hlm_log_stream(MPI_Comm comm, hlm_log_level level)
{
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (!log_state.configured) {
    hlm_log_configure(stderr, HLM_LOG_NORMAL);
  }
  if (rank != 0 || level > log_state.level) {
    return NULL;
  }
  return log_state.stream;
}

static void timestamp(FILE *f)
{
  char when[32] = "";
  time_t now = time(NULL);
  struct tm tm;
  if (localtime_r(&now, &tm) != NULL) {
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  }
  fprintf(f, "[%s +%.2fs] ", when, MPI_Wtime() - log_state.start);
}

void hlm_log_event(MPI_Comm comm, hlm_log_level level, const char *fmt, ...)
{
  FILE *f = hlm_log_stream(comm, level);
  if (f == NULL) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  timestamp(f);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
  fflush(f);
}

static int phase_slot(const char *phase)
{
  if (phase == NULL) {
    return PH_WAIT;
  }
  for (int i = 0; i < NSTAGES; i++) {
    if (strcmp(stage_phase[i].stage, phase) == 0) {
      return stage_phase[i].phase;
    }
  }
  return PH_OTHER;
}

/* Add the time from the last mark to `until` to slot i; mark `until`. */
static void phase_add(int i, double until)
{
  if (timing.mark > 0.0 && until > timing.mark) {
    timing.seconds[i] += until - timing.mark;
  }
  timing.seen[i] = 1;
  timing.mark = until;
}

void hlm_log_phase(const char *phase)
{
  double now = MPI_Wtime();
  if (timing.optimizing) {
    phase_add(PH_ITER, timing.opt_last);
    timing.optimizing = 0;
  }
  phase_add(phase_slot(phase), now);
}

static double progress_interval(void)
{
  const char *env = getenv("HLM_PROGRESS_SECONDS");
  char *end = NULL;
  double v = env ? strtod(env, &end) : NAN;
  return env && end != env && v >= 0.0 ? v : 10.0;
}

/* Rank 0: one progress line. */
static void progress_line(FILE *f, int nevals, double crit, int last,
                          double now)
{
  double secs = now - timing.opt_first;
  timestamp(f);
  if (timing.nfits > 1) {
    fprintf(f, "optimizer, fit %d: ", timing.nfits);
  } else {
    fprintf(f, "optimizer: ");
  }
  fprintf(f, "evaluation %d%s: criterion %.10g (best %.10g", nevals,
          last ? " (last)" : "", crit, timing.best);
  if (nevals > 1) {
    fprintf(f, ", %+.3g since the previous line",
            timing.best - timing.best_printed);
  }
  fprintf(f, "), %.2f s", secs);
  if (secs > 0.0) {
    fprintf(f, ", %.1f evaluations/s", nevals / secs);
  }
  fputc('\n', f);
  fflush(f);
  timing.best_printed = timing.best;
  timing.last_print = now;
}

void hlm_log_progress(MPI_Comm comm, int nevals, double crit, int last)
{
  double now = MPI_Wtime();
  if (nevals == 0 || !timing.optimizing) {
    if (timing.optimizing) { /* another fit in the same stage */
      phase_add(PH_ITER, timing.opt_last);
    }
    phase_add(PH_XPROD, now);
    timing.optimizing = 1;
    timing.nfits++;
    timing.opt_first = timing.last_print = now;
    timing.best = timing.best_printed = HUGE_VAL;
  }
  timing.opt_last = now;
  if (nevals == 0) {
    return;
  }
  FILE *f = hlm_log_stream(comm, HLM_LOG_NORMAL);
  if (f == NULL) {
    return; /* not rank 0, or --quiet */
  }
  timing.best = crit < timing.best ? crit : timing.best;
  if (nevals == 1) {
    timing.best_printed = crit; /* no change to report on the first line */
  }
  if (log_state.level >= HLM_LOG_VERBOSE || nevals == 1 || last ||
      now - timing.last_print >= progress_interval()) {
    progress_line(f, nevals, crit, last, now);
  }
}

/* Collective.  Rank 0 prints the time per phase: slowest rank, mean,
 * fastest rank. */
static hlm_status print_phases(MPI_Comm comm, FILE *f)
{
  hlm_status status = HLM_OK;
  double mx[2 * NPHASES], sum[NPHASES];
  int size = 1;
  MPI_Comm_size(comm, &size);
  for (int i = 0; i < NPHASES; i++) {
    mx[i] = timing.seconds[i];
    mx[NPHASES + i] = timing.seen[i] ? -timing.seconds[i] : -HUGE_VAL;
    sum[i] = timing.seconds[i];
  }
  HLM_MPI(
      MPI_Allreduce(MPI_IN_PLACE, mx, 2 * NPHASES, MPI_DOUBLE, MPI_MAX, comm));
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, sum, NPHASES, MPI_DOUBLE, MPI_SUM, comm));
  if (f == NULL) {
    goto cleanup;
  }
  fprintf(f, "  time per phase (s):        slowest rank       mean    "
             "fastest rank\n");
  for (int i = 0; i < NPHASES; i++) {
    if (mx[NPHASES + i] > -HUGE_VAL) {
      fprintf(f, "    %-22s %12.3f %10.3f %12.3f\n", phase_label[i], mx[i],
              sum[i] / size, -mx[NPHASES + i]);
    }
  }
cleanup:
  return status;
}

/* Rank 0: "host (n ranks), ..." from the gathered processor names. */
static void print_hosts(FILE *f, const char *names, int size)
{
  int distinct = 0;
  for (int i = 0; i < size; i++) {
    const char *ni = names + (size_t)i * MPI_MAX_PROCESSOR_NAME;
    int seen = 0, count = 0;
    for (int k = 0; k < size; k++) {
      const char *nk = names + (size_t)k * MPI_MAX_PROCESSOR_NAME;
      seen |= k < i && strcmp(ni, nk) == 0;
      count += strcmp(ni, nk) == 0;
    }
    if (!seen) {
      fprintf(f, "%s%s (%d rank%s)", distinct++ ? ", " : "", ni, count,
              count == 1 ? "" : "s");
    }
  }
}

hlm_status hlm_log_header(MPI_Comm comm, const char *config_path)
{
  hlm_status status = HLM_OK;
  char name[MPI_MAX_PROCESSOR_NAME] = "";
  char *names = NULL;
  int rank = 0, size = 1, len = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  FILE *f = hlm_log_stream(comm, HLM_LOG_NORMAL);
  HLM_MPI(MPI_Get_processor_name(name, &len));
  HLM_ALLOC(names, (size_t)size * MPI_MAX_PROCESSOR_NAME);
  HLM_MPI(MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, names,
                     MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, comm));
  if (f) {
    const char *job = getenv("SLURM_JOB_ID");
    timestamp(f);
    fprintf(f, "hlm-mpi %s: fit %s\n", hlm_version(), config_path);
    fprintf(f, "  ranks: %d on ", size);
    print_hosts(f, names, size);
    fputc('\n', f);
    if (job) {
      const char *array = getenv("SLURM_ARRAY_TASK_ID");
      fprintf(f, "  slurm job: %s%s%s\n", job, array ? " array task " : "",
              array ? array : "");
    }
    fflush(f);
  }
cleanup:
  free(names);
  return status;
}

hlm_status hlm_log_footer(MPI_Comm comm, hlm_status run_status,
                          const char *const *outputs)
{
  hlm_status status = HLM_OK;
  struct rusage ru;
  double kb[4];
  getrusage(RUSAGE_SELF, &ru);
  kb[0] = -(double)ru.ru_maxrss;
  kb[1] = (double)ru.ru_maxrss;
  kb[2] = -log_state.sbytes;
  kb[3] = log_state.sbytes;
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, kb, 4, MPI_DOUBLE, MPI_MAX, comm));
  FILE *f = hlm_log_stream(comm, HLM_LOG_NORMAL);
  if (f) {
    timestamp(f);
    if (run_status == HLM_OK) {
      fprintf(f, "finished: converged\n");
    } else if (run_status == HLM_STOPPED) {
      fprintf(f,
              "finished: stopped with a checkpoint (exit code %d): "
              "continue with --resume\n",
              hlm_status_exit_code(run_status));
    } else if (run_status == HLM_ERR_OTHER_RANK) {
      fprintf(f, "finished: FAILED on another rank (the message follows)\n");
    } else {
      fprintf(f, "finished: FAILED (%s, exit code %d; the message follows)\n",
              hlm_strerror(run_status), hlm_status_exit_code(run_status));
    }
    fprintf(f, "  total time: %.2f s\n", MPI_Wtime() - log_state.start);
    fprintf(f, "  peak memory per rank: %.1f to %.1f MiB\n", -kb[0] / 1024.0,
            kb[1] / 1024.0);
    print_global_system(f, kb + 2);
    for (int i = 0; outputs && outputs[i]; i++) {
      fprintf(f, "  output: %s\n", outputs[i]);
    }
  }
  if (log_state.level >= HLM_LOG_VERBOSE) {
    hlm_log_phase("footer");
    HLM_TRY(print_phases(comm, f));
  }
  if (f) {
    fflush(f);
  }
cleanup:
  return status;
}
