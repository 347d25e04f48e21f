/* error.c: the thread-local error record, status names, library handlers. */
#include "hlm/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { HLM_MSG_MAX = 2048, HLM_TRACE_MAX = 2048 };

static _Thread_local struct {
  hlm_status status;
  char message[HLM_MSG_MAX];
  char trace[HLM_TRACE_MAX];
} err_record;

static const char *const status_names[HLM_STATUS_COUNT] = {
    [HLM_OK] = "success",
    [HLM_ERR_NOT_IMPLEMENTED] = "not implemented yet",
    [HLM_ERR_USAGE] = "usage error",
    [HLM_ERR_CONFIG] = "configuration error",
    [HLM_ERR_PARSE] = "syntax error",
    [HLM_ERR_DATA] = "data error",
    [HLM_ERR_IO] = "input/output error",
    [HLM_ERR_NUMERIC] = "numerical failure",
    [HLM_ERR_HDF5] = "HDF5 error",
    [HLM_ERR_LAPACK] = "LAPACK error",
    [HLM_ERR_GSL] = "GSL error",
    [HLM_ERR_MPI] = "MPI error",
    [HLM_ERR_INVALID_ARG] = "invalid argument",
    [HLM_ERR_NOMEM] = "out of memory",
    [HLM_ERR_INTERNAL] = "internal error",
    [HLM_ERR_OTHER_RANK] = "failure on another rank",
    [HLM_STOPPED] = "stopped with a checkpoint",
};

const char *hlm_strerror(hlm_status status)
{
  if ((int)status < 0 || status >= HLM_STATUS_COUNT) {
    return "unknown status";
  }
  return status_names[status];
}

int hlm_status_exit_code(hlm_status status)
{
  switch (status) {
  case HLM_OK:
    return 0;
  case HLM_ERR_USAGE:
    return 2;
  case HLM_ERR_NOT_IMPLEMENTED:
    return 3;
  case HLM_ERR_CONFIG:
  case HLM_ERR_PARSE:
    return 4;
  case HLM_ERR_DATA:
    return 5;
  case HLM_ERR_IO:
  case HLM_ERR_HDF5:
    return 6;
  case HLM_ERR_NUMERIC:
  case HLM_ERR_LAPACK:
  case HLM_ERR_GSL:
    return 7;
  case HLM_ERR_NOMEM:
    return 8;
  case HLM_ERR_MPI:
  case HLM_ERR_OTHER_RANK:
    return 9;
  case HLM_STOPPED:
    return 10;
  default:
    return 1; /* internal error, invalid argument: a bug */
  }
}

static void trace_append(const char *file, int line, const char *func)
{
  size_t used = strlen(err_record.trace);
  if (used + 1 >= sizeof err_record.trace) {
    return;
  }
  snprintf(err_record.trace + used, sizeof err_record.trace - used,
           "%s%s:%d %s", used ? "\n" : "", file, line, func);
}

hlm_status hlm_error_set_at(hlm_status status, const char *file, int line,
                            const char *func, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err_record.message, sizeof err_record.message, fmt, ap);
  va_end(ap);
  err_record.status = status;
  err_record.trace[0] = '\0';
  trace_append(file, line, func);
  return status;
}

void hlm_error_trace(const char *file, int line, const char *func)
{
  trace_append(file, line, func);
}

const char *hlm_error_message(void)
{
  return err_record.message;
}

const char *hlm_error_trace_text(void)
{
  return err_record.trace;
}

hlm_status hlm_error_status(void)
{
  return err_record.status;
}

void hlm_error_clear(void)
{
  err_record.status = HLM_OK;
  err_record.message[0] = '\0';
  err_record.trace[0] = '\0';
}

hlm_status hlm_lapack_check_at(int info, const char *routine, const char *what,
                               const char *file, int line, const char *func)
{
  if (info == 0) {
    return HLM_OK;
  }
  if (info < 0) {
    return hlm_error_set_at(HLM_ERR_INTERNAL, file, line, func,
                            "%s: argument %d had an illegal value (a bug in "
                            "hlm-mpi; please report it)",
                            routine, -info);
  }
  return hlm_error_set_at(HLM_ERR_LAPACK, file, line, func,
                          "%s failed (info = %d): %s", routine, info, what);
}
