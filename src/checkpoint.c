/* checkpoint.c: record and replay of a fit's evaluations (checkpoint.h).
 *
 * The file is text, one evaluation per line, numbers as C99 hexadecimal
 * floating point (exact):
 *   hlm-mpi checkpoint 1
 *   formula y ~ x + (1 | g)
 *   method reml
 *   nobs 180
 *   p 2
 *   ntheta 3
 *   extra 0          (quasi-Newton: ntheta + sum k^2 + 1: gradient, A_r, ok)
 *   evaluations 27
 *   0x1p+0 0x0p+0 0x1p+0 0x1.b1e8p+10      (theta..., criterion)
 *   ...
 *   end */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hlm/comm.h"

static volatile sig_atomic_t caught_signal = 0;

static void on_signal(int sig)
{
  caught_signal = sig;
}

void hlm_ckpt_catch_signals(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
}

hlm_status hlm_ckpt_signal_agree(MPI_Comm comm, int *caught)
{
  hlm_status status = HLM_OK;
  int mine = caught_signal != 0;
  HLM_MPI(MPI_Allreduce(&mine, caught, 1, MPI_INT, MPI_MAX, comm));
cleanup:
  return status;
}

void hlm_ckpt_free(hlm_ckpt *c)
{
  free(c->rec);
  c->rec = NULL;
  c->n = c->cap = 0;
}

hlm_status hlm_ckpt_record(hlm_ckpt *c, const double *theta, double crit,
                           const double *extra)
{
  hlm_status status = HLM_OK;
  int w = c->ntheta + 1 + c->extra;
  if (c->n == c->cap) {
    int cap = c->cap ? 2 * c->cap : 64;
    double *rec = realloc(c->rec, (size_t)cap * w * sizeof *rec);
    HLM_CHECK(rec != NULL, HLM_ERR_NOMEM,
              "out of memory recording the evaluations for the checkpoint");
    c->rec = rec;
    c->cap = cap;
  }
  memcpy(&c->rec[(size_t)c->n * w], theta, (size_t)c->ntheta * sizeof *theta);
  c->rec[(size_t)c->n * w + c->ntheta] = crit;
  for (int i = 0; i < c->extra; i++) {
    c->rec[(size_t)c->n * w + c->ntheta + 1 + i] = extra ? extra[i] : 0.0;
  }
  c->n++;
  c->pos++;
cleanup:
  return status;
}

hlm_status hlm_ckpt_replay(hlm_ckpt *c, const double *theta, double *crit,
                           double *extra, int *hit)
{
  hlm_status status = HLM_OK;
  int w = c->ntheta + 1 + c->extra;
  *hit = 0;
  if (c->pos >= c->nreplay) {
    return HLM_OK;
  }
  const double *r = &c->rec[(size_t)c->pos * w];
  HLM_CHECK(memcmp(r, theta, (size_t)c->ntheta * sizeof *theta) == 0,
            HLM_ERR_DATA,
            "checkpoint %s: at evaluation %d the optimizer asked for another "
            "theta than the one recorded (was the fit started with other "
            "settings, tolerances or start values?)",
            c->path, c->pos + 1);
  *crit = r[c->ntheta];
  if (extra) {
    memcpy(extra, r + c->ntheta + 1, (size_t)c->extra * sizeof *extra);
  }
  *hit = 1;
  c->pos++;
cleanup:
  return status;
}

/* ---- writing -------------------------------------------------------------
 */

static int write_body(FILE *f, const hlm_ckpt *c)
{
  int w = c->ntheta + 1 + c->extra;
  fprintf(f,
          "hlm-mpi checkpoint 1\nformula %s\nmethod %s\nnobs %" PRId64
          "\np %d\nntheta %d\nextra %d\nevaluations %d\n",
          c->formula, c->reml ? "reml" : "ml", c->nobs, c->p, c->ntheta,
          c->extra, c->n);
  for (int e = 0; e < c->n; e++) {
    for (int i = 0; i < w; i++) {
      fprintf(f, "%a%c", c->rec[(size_t)e * w + i], i + 1 < w ? ' ' : '\n');
    }
  }
  fprintf(f, "end\n");
  return fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
}

hlm_status hlm_ckpt_write(hlm_ckpt *c)
{
  hlm_status status = HLM_OK;
  char *tmp = NULL;
  FILE *f = NULL;
  HLM_ALLOC(tmp, strlen(c->path) + 5);
  sprintf(tmp, "%s.tmp", c->path);
  f = fopen(tmp, "w");
  HLM_CHECK(f != NULL, HLM_ERR_IO, "cannot write the checkpoint %s: %s", tmp,
            strerror(errno));
  int ok = write_body(f, c);
  int err = errno;
  ok = fclose(f) == 0 && ok;
  f = NULL;
  if (!ok) {
    remove(tmp);
  }
  HLM_CHECK(ok, HLM_ERR_IO, "cannot write the checkpoint %s: %s", tmp,
            strerror(err));
  if (rename(tmp, c->path) != 0) {
    err = errno;
    remove(tmp);
    HLM_CHECK(0, HLM_ERR_IO, "cannot rename %s to %s: %s", tmp, c->path,
              strerror(err));
  }
  c->written = c->n;
cleanup:
  if (f) {
    fclose(f);
  }
  free(tmp);
  return status;
}

/* ---- reading -------------------------------------------------------------
 */

/* The value after `key ` on the next line, into *line (getline buffer). */
static hlm_status read_field(FILE *f, const char *path, const char *key,
                             char **line, size_t *cap, const char **value)
{
  hlm_status status = HLM_OK;
  size_t n = strlen(key);
  ssize_t len = getline(line, cap, f);
  HLM_CHECK(len > 0 && strncmp(*line, key, n) == 0 && (*line)[n] == ' ',
            HLM_ERR_DATA, "checkpoint %s: expected the field '%s'", path, key);
  if ((*line)[len - 1] == '\n') {
    (*line)[len - 1] = '\0';
  }
  *value = *line + n + 1;
cleanup:
  return status;
}

/* The header: version, and the identity of the fit. */
static hlm_status read_header(FILE *f, hlm_ckpt *c, char **line, size_t *cap,
                              int *nrec)
{
  hlm_status status = HLM_OK;
  const char *v = NULL;
  ssize_t len = getline(line, cap, f);
  HLM_CHECK(len > 0 && strcmp(*line, "hlm-mpi checkpoint 1\n") == 0,
            HLM_ERR_DATA, "%s is not an hlm-mpi checkpoint (version 1)",
            c->path);
  HLM_TRY(read_field(f, c->path, "formula", line, cap, &v));
  HLM_CHECK(strcmp(v, c->formula) == 0, HLM_ERR_DATA,
            "checkpoint %s is of the formula '%s', not '%s'", c->path, v,
            c->formula);
  HLM_TRY(read_field(f, c->path, "method", line, cap, &v));
  HLM_CHECK(strcmp(v, c->reml ? "reml" : "ml") == 0, HLM_ERR_DATA,
            "checkpoint %s is of a %s fit, this one is %s", c->path, v,
            c->reml ? "reml" : "ml");
  HLM_TRY(read_field(f, c->path, "nobs", line, cap, &v));
  HLM_CHECK(strtoll(v, NULL, 10) == c->nobs, HLM_ERR_DATA,
            "checkpoint %s is of a fit to %s observations, this one has "
            "%" PRId64,
            c->path, v, c->nobs);
  HLM_TRY(read_field(f, c->path, "p", line, cap, &v));
  HLM_CHECK(atoi(v) == c->p, HLM_ERR_DATA,
            "checkpoint %s has %s fixed effects, this fit %d", c->path, v,
            c->p);
  HLM_TRY(read_field(f, c->path, "ntheta", line, cap, &v));
  HLM_CHECK(atoi(v) == c->ntheta, HLM_ERR_DATA,
            "checkpoint %s has %s covariance parameters, this fit %d", c->path,
            v, c->ntheta);
  HLM_TRY(read_field(f, c->path, "extra", line, cap, &v));
  HLM_CHECK(atoi(v) == c->extra, HLM_ERR_DATA,
            "checkpoint %s was written by the %s optimizer; this fit uses "
            "the %s one ([estimation] optimizer)",
            c->path, atoi(v) ? "quasi-Newton" : "BOBYQA",
            c->extra ? "quasi-Newton" : "BOBYQA");
  HLM_TRY(read_field(f, c->path, "evaluations", line, cap, &v));
  *nrec = atoi(v);
  HLM_CHECK(*nrec >= 0, HLM_ERR_DATA, "checkpoint %s: bad evaluation count",
            c->path);
cleanup:
  return status;
}

/* One evaluation line into the record. */
static hlm_status read_eval(hlm_ckpt *c, const char *line, int e, double *vals)
{
  hlm_status status = HLM_OK;
  const char *s = line;
  for (int i = 0; i <= c->ntheta + c->extra; i++) {
    char *end = NULL;
    errno = 0;
    vals[i] = strtod(s, &end);
    HLM_CHECK(end != s && errno == 0, HLM_ERR_DATA,
              "checkpoint %s: evaluation %d is incomplete (a file cut short?)",
              c->path, e + 1);
    s = end;
  }
  HLM_TRY(hlm_ckpt_record(c, vals, vals[c->ntheta], vals + c->ntheta + 1));
cleanup:
  return status;
}

hlm_status hlm_ckpt_start(hlm_ckpt *c, int resume)
{
  hlm_status status = HLM_OK;
  FILE *f = NULL;
  char *line = NULL;
  size_t cap = 0;
  double *vals = NULL;
  int nrec = 0;
  c->n = c->pos = c->nreplay = c->written = 0;
  if (!resume) {
    return HLM_OK;
  }
  HLM_CHECK(c->path != NULL, HLM_ERR_USAGE,
            "--resume needs a checkpoint: set [checkpoint] path in the config");
  f = fopen(c->path, "r");
  HLM_CHECK(f != NULL, HLM_ERR_IO, "cannot resume from %s: %s", c->path,
            strerror(errno));
  HLM_TRY(read_header(f, c, &line, &cap, &nrec));
  HLM_ALLOC(vals, c->ntheta + 1 + c->extra);
  for (int e = 0; e < nrec; e++) {
    HLM_CHECK(getline(&line, &cap, f) > 0, HLM_ERR_DATA,
              "checkpoint %s ends after %d of %d evaluations", c->path, e,
              nrec);
    HLM_TRY(read_eval(c, line, e, vals));
  }
  HLM_CHECK(getline(&line, &cap, f) > 0 && strcmp(line, "end\n") == 0,
            HLM_ERR_DATA, "checkpoint %s has no 'end' line (cut short?)",
            c->path);
  c->nreplay = c->n;
  c->pos = 0;
  c->written = c->n;
cleanup:
  if (f) {
    fclose(f);
  }
  free(line);
  free(vals);
  return status;
}
