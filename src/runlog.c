/* runlog.c: header, timestamped events and footer of a run's log. */
#include "hlm/runlog.h"

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
} log_state = {NULL, 0, HLM_LOG_NORMAL, 0.0};

void hlm_log_configure(FILE *stream, hlm_log_level level)
{
  log_state.stream = stream;
  log_state.level = level;
  log_state.configured = 1;
  log_state.start = MPI_Wtime();
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
  double kb[2];
  getrusage(RUSAGE_SELF, &ru);
  kb[0] = -(double)ru.ru_maxrss;
  kb[1] = (double)ru.ru_maxrss;
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, kb, 2, MPI_DOUBLE, MPI_MAX, comm));
  FILE *f = hlm_log_stream(comm, HLM_LOG_NORMAL);
  if (f) {
    timestamp(f);
    if (run_status == HLM_OK) {
      fprintf(f, "finished: converged\n");
    } else if (run_status == HLM_ERR_OTHER_RANK) {
      fprintf(f, "finished: FAILED on another rank (the message follows)\n");
    } else {
      fprintf(f, "finished: FAILED (%s, exit code %d; the message follows)\n",
              hlm_strerror(run_status), hlm_status_exit_code(run_status));
    }
    fprintf(f, "  total time: %.2f s\n", MPI_Wtime() - log_state.start);
    fprintf(f, "  peak memory per rank: %.1f to %.1f MiB\n", -kb[0] / 1024.0,
            kb[1] / 1024.0);
    for (int i = 0; outputs && outputs[i]; i++) {
      fprintf(f, "  output: %s\n", outputs[i]);
    }
    fflush(f);
  }
cleanup:
  return status;
}
