/*
 * hlm/error.h: status codes and the error record of libhlm.
 *
 * Every fallible libhlm function returns an hlm_status.  When it fails it
 * also leaves a human-readable message in the calling thread's error record
 * (hlm_error_message()).  The first failure sets the message; callers up the
 * stack add their file:line:function to a short trace with HLM_TRY, so a
 * developer can see the path and a user sees one clear sentence.
 *
 * Functions follow one pattern:
 *
 *     hlm_status hlm_thing_do(...)
 *     {
 *       hlm_status status = HLM_OK;
 *       double *buf = NULL;
 *       HLM_CHECK(n > 0, HLM_ERR_INVALID_ARG, "n must be positive, got %d", n);
 *       HLM_TRY(hlm_other(...));
 *     cleanup:
 *       free(buf);
 *       return status;
 *     }
 *
 * All functions here are Local (no communication).
 */
#ifndef HLM_ERROR_H
#define HLM_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes.  Their order is their severity: when ranks agree on a
 * status (hlm_comm_agree) the largest code wins. */
typedef enum hlm_status {
  HLM_OK = 0,
  HLM_ERR_NOT_IMPLEMENTED, /* a documented feature that is not built yet */
  HLM_ERR_USAGE,           /* bad command line */
  HLM_ERR_CONFIG,          /* invalid configuration value or key */
  HLM_ERR_PARSE,           /* syntax error in a config file or formula */
  HLM_ERR_DATA,            /* bad input data (missing column, NaN, ...) */
  HLM_ERR_IO,              /* file missing, unreadable, unwritable */
  HLM_ERR_NUMERIC,         /* singular matrix, non-convergence, ... */
  HLM_ERR_HDF5,            /* an HDF5 call failed */
  HLM_ERR_LAPACK,          /* a LAPACK/ScaLAPACK routine returned info != 0 */
  HLM_ERR_GSL,             /* a GSL routine reported an error */
  HLM_ERR_MPI,             /* an MPI call failed */
  HLM_ERR_INVALID_ARG,     /* a programming error: bad argument to libhlm */
  HLM_ERR_NOMEM,           /* out of memory */
  HLM_ERR_INTERNAL,        /* a bug in hlm-mpi */
  HLM_ERR_OTHER_RANK,      /* another rank failed; this one is fine */
  HLM_STOPPED,             /* stopped on request (a signal, or
                              --stop-after-iterations) with a checkpoint:
                              continue with --resume */
  HLM_STATUS_COUNT
} hlm_status;

/* A short name for a status ("configuration error").  Never NULL. */
const char *hlm_strerror(hlm_status status);

/* Process exit code for a status, documented in docs/errors.md: 0 success,
 * 1 internal error (a bug), 2 usage, 3 not implemented yet, 4 configuration
 * or syntax, 5 data, 6 input/output (and HDF5), 7 numerical failure or no
 * convergence (and LAPACK, GSL), 8 out of memory, 9 MPI. */
int hlm_status_exit_code(hlm_status status);

/* Record a failure: formats the message (printf-style) into the thread's
 * error record, clears the trace, and returns status so callers can write
 * `return hlm_error_set(...)`.  The file/line/func arguments are filled in by
 * the HLM_ERROR macro. */
hlm_status hlm_error_set_at(hlm_status status, const char *file, int line,
                            const char *func, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

#define HLM_ERROR(status, ...)                                                 \
  hlm_error_set_at((status), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Append a frame (file:line func) to the trace of the current error. */
void hlm_error_trace(const char *file, int line, const char *func);

/* The message of the last recorded error ("" if none). */
const char *hlm_error_message(void);

/* The trace of the last recorded error, innermost frame first ("" if none).
 * Frames are separated by newlines. */
const char *hlm_error_trace_text(void);

/* The status of the last recorded error (HLM_OK if none). */
hlm_status hlm_error_status(void);

/* Forget the last error. */
void hlm_error_clear(void);

/* Turn errors of the third-party libraries into hlm errors instead of aborts
 * or prints: GSL's error handler, HDF5's automatic error printing. Call once
 * at start-up (hlm-mpi does). */
void hlm_error_install_handlers(void);

/* HLM_TRY(expr): evaluate an hlm_status expression; on failure record the
 * frame and jump to the function's `cleanup:` label with `status` set.
 * Requires a local `hlm_status status` and a `cleanup:` label. */
#define HLM_TRY(expr)                                                          \
  do {                                                                         \
    hlm_status hlm_try_status_ = (expr);                                       \
    if (hlm_try_status_ != HLM_OK) {                                           \
      hlm_error_trace(__FILE__, __LINE__, __func__);                           \
      status = hlm_try_status_;                                                \
      goto cleanup;                                                            \
    }                                                                          \
  } while (0)

/* HLM_CHECK(cond, code, fmt, ...): when cond is false, record an error with
 * the message and jump to `cleanup:` with `status` set to code. */
#define HLM_CHECK(cond, code, ...)                                             \
  do {                                                                         \
    if (!(cond)) {                                                             \
      status = HLM_ERROR((code), __VA_ARGS__);                                 \
      goto cleanup;                                                            \
    }                                                                          \
  } while (0)

/* HLM_ALLOC(ptr, count): allocate count elements of *ptr (zeroed) or fail
 * with HLM_ERR_NOMEM and jump to cleanup. count == 0 allocates one element so
 * the pointer is never NULL on success. */
#define HLM_ALLOC(ptr, count)                                                  \
  do {                                                                         \
    size_t hlm_alloc_n_ = (size_t)(count);                                     \
    (ptr) = calloc(hlm_alloc_n_ ? hlm_alloc_n_ : 1, sizeof *(ptr));            \
    if ((ptr) == NULL) {                                                       \
      status = HLM_ERROR(HLM_ERR_NOMEM, "out of memory allocating %zu bytes",  \
                         hlm_alloc_n_ * sizeof *(ptr));                        \
      goto cleanup;                                                            \
    }                                                                          \
  } while (0)

/* Check a LAPACK info value: info < 0 is a bad argument (internal error),
 * info > 0 is a numerical failure described by what. */
hlm_status hlm_lapack_check_at(int info, const char *routine, const char *what,
                               const char *file, int line, const char *func);
#define HLM_LAPACK_CHECK(info, routine, what)                                  \
  HLM_TRY(hlm_lapack_check_at((info), (routine), (what), __FILE__, __LINE__,   \
                              __func__))

#ifdef __cplusplus
}
#endif
#endif /* HLM_ERROR_H */
