/* watchdog.c: the progress deadline (watchdog.h).  The monitor thread
 * reads atomics that the rank's own thread writes, sleeps on a condition
 * variable of CLOCK_MONOTONIC, and ends the process with write(2) and
 * _exit: it never calls MPI. */
#include "watchdog.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What the rank did last: the phase named in the message. */
enum { AT_START = 0, AT_AGREE, AT_AFTER, AT_EVAL };

static struct {
  pthread_t thread;
  pthread_mutex_t mu; /* guards stop, checkpoint and the condition */
  pthread_cond_t cv;
  int running, stop;
  int rank, size;
  int from_env;             /* the deadline came from HLM_WATCHDOG_SECONDS */
  char *checkpoint;         /* owned; NULL: none */
  atomic_llong deadline_ms; /* 0: off */
  atomic_llong last_ms;     /* the last progress (CLOCK_MONOTONIC) */
  atomic_int kind;
  atomic_int evals;
  _Atomic(const char *) stage;
} wd = {.mu = PTHREAD_MUTEX_INITIALIZER};

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The phase, for the message. */
static void describe(char *buf, size_t len)
{
  const char *stage = atomic_load(&wd.stage);
  int done = atomic_load(&wd.evals);
  switch (atomic_load(&wd.kind)) {
  case AT_AGREE:
    snprintf(buf, len, "while the ranks agreed on the end of '%s'", stage);
    break;
  case AT_AFTER:
    snprintf(buf, len, "in the stage after '%s'", stage);
    break;
  case AT_EVAL:
    snprintf(buf, len,
             "in the optimizer, at evaluation %d of the criterion (%d done; "
             "the last stage completed: '%s')",
             done + 1, done, stage ? stage : "none");
    break;
  default:
    snprintf(buf, len, "before the first stage ended");
  }
}

/* The monitor thread: no MPI, no stdio streams, no locks after this. */
static void fire(long long idle_ms)
{
  char phase[512], ck[1200] = "", msg[2048];
  describe(phase, sizeof phase);
  if (wd.checkpoint) {
    snprintf(ck, sizeof ck,
             "; %s keeps the last checkpoint written (if any): continue "
             "with --resume",
             wd.checkpoint);
  }
  int n = snprintf(
      msg, sizeof msg,
      "hlm-mpi: rank %d of %d: watchdog: no progress for %.1f s "
      "(deadline %g s, %s) %s; another rank or its node has "
      "probably died or hung, or the network failed; exiting "
      "with status %d%s\n",
      wd.rank, wd.size, idle_ms / 1000.0, atomic_load(&wd.deadline_ms) / 1000.0,
      wd.from_env ? "HLM_WATCHDOG_SECONDS" : "[estimation] watchdog_seconds",
      phase, HLM_WATCHDOG_EXIT, ck);
  size_t left = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
  const char *p = msg;
  while (left > 0) {
    ssize_t w = write(STDERR_FILENO, p, left);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      break;
    }
    p += w;
    left -= (size_t)w;
  }
  _exit(HLM_WATCHDOG_EXIT);
}

static void *monitor(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&wd.mu);
  while (!wd.stop) {
    long long deadline = atomic_load(&wd.deadline_ms);
    long long idle = now_ms() - atomic_load(&wd.last_ms);
    if (deadline > 0 && idle >= deadline) {
      fire(idle); /* does not return; holds mu, which nobody needs now */
    }
    /* wake at least 4 times per deadline, and at least once a second */
    long long wait = deadline > 0 ? deadline / 4 : 1000;
    wait = wait < 10 ? 10 : wait > 1000 ? 1000 : wait;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += wait / 1000;
    ts.tv_nsec += (wait % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&wd.cv, &wd.mu, &ts);
  }
  pthread_mutex_unlock(&wd.mu);
  return NULL;
}

/* HLM_WATCHDOG_SECONDS into *seconds when set; *set says whether it was. */
static hlm_status env_seconds(double *seconds, int *set)
{
  const char *env = getenv("HLM_WATCHDOG_SECONDS");
  char *end = NULL;
  *set = env != NULL && env[0] != '\0';
  if (!*set) {
    return HLM_OK;
  }
  double v = strtod(env, &end);
  if (end == env || *end != '\0' || !(v >= 0.0 && v < 1e9)) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "HLM_WATCHDOG_SECONDS must be 0 (no watchdog) or a "
                     "positive number of seconds, got '%s'",
                     env);
  }
  *seconds = v;
  return HLM_OK;
}

static void set_deadline(double seconds)
{
  atomic_store(&wd.deadline_ms, (long long)llround(seconds * 1000.0));
  atomic_store(&wd.last_ms, now_ms());
}

hlm_status hlm_watchdog_start(double seconds, int rank, int size)
{
  hlm_status status = HLM_OK;
  int from_env = 0;
  pthread_condattr_t attr;
  HLM_TRY(env_seconds(&seconds, &from_env));
  if (wd.running) {
    return hlm_watchdog_set(seconds, wd.checkpoint);
  }
  wd.rank = rank;
  wd.size = size;
  wd.stop = 0;
  wd.from_env = from_env;
  atomic_store(&wd.kind, AT_START);
  atomic_store(&wd.evals, 0);
  atomic_store(&wd.stage, NULL);
  set_deadline(seconds);
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(&wd.cv, &attr);
  pthread_condattr_destroy(&attr);
  HLM_CHECK(rc == 0, HLM_ERR_INTERNAL,
            "cannot create the watchdog's condition variable: %s",
            strerror(rc));
  rc = pthread_create(&wd.thread, NULL, monitor, NULL);
  if (rc != 0) {
    pthread_cond_destroy(&wd.cv);
  }
  HLM_CHECK(rc == 0, HLM_ERR_INTERNAL, "cannot start the watchdog thread: %s",
            strerror(rc));
  wd.running = 1;
cleanup:
  return status;
}

hlm_status hlm_watchdog_set(double seconds, const char *checkpoint)
{
  hlm_status status = HLM_OK;
  int from_env = 0;
  char *copy = NULL;
  if (!wd.running) {
    return HLM_OK;
  }
  HLM_TRY(env_seconds(&seconds, &from_env));
  if (checkpoint) {
    HLM_ALLOC(copy, strlen(checkpoint) + 1);
    strcpy(copy, checkpoint);
  }
  pthread_mutex_lock(&wd.mu);
  free(wd.checkpoint);
  wd.checkpoint = copy;
  wd.from_env = from_env;
  set_deadline(seconds);
  pthread_cond_signal(&wd.cv);
  pthread_mutex_unlock(&wd.mu);
cleanup:
  return status;
}

void hlm_watchdog_stop(void)
{
  if (!wd.running) {
    return;
  }
  pthread_mutex_lock(&wd.mu);
  wd.stop = 1;
  pthread_cond_signal(&wd.cv);
  pthread_mutex_unlock(&wd.mu);
  pthread_join(wd.thread, NULL);
  pthread_cond_destroy(&wd.cv);
  free(wd.checkpoint);
  wd.checkpoint = NULL;
  wd.running = 0;
}

void hlm_watchdog_stage(const char *stage, int done)
{
  if (!wd.running) {
    return;
  }
  atomic_store(&wd.stage, stage);
  atomic_store(&wd.kind, done ? AT_AFTER : AT_AGREE);
  atomic_store(&wd.last_ms, now_ms());
}

void hlm_watchdog_evaluation(int done)
{
  if (!wd.running) {
    return;
  }
  atomic_store(&wd.evals, done);
  atomic_store(&wd.kind, AT_EVAL);
  atomic_store(&wd.last_ms, now_ms());
}

void hlm_watchdog_touch(void)
{
  if (wd.running) {
    atomic_store(&wd.last_ms, now_ms());
  }
}

void hlm_watchdog_fault_hang(int rank, int done)
{
  const char *spec = getenv("HLM_FAULT_INJECT");
  const char *delay = getenv("HLM_TEST_EVALUATION_DELAY_MS");
  int at = 0, who = -1;
  if (delay != NULL && atoi(delay) > 0) {
    struct timespec ts = {atoi(delay) / 1000, (atoi(delay) % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  if (spec == NULL ||
      sscanf(spec, "hang at evaluation %d@%d", &at, &who) != 2 ||
      at != done + 1 || who != rank) {
    return;
  }
  for (;;) {
    sleep(1); /* a rank that stopped responding; the watchdog ends it */
  }
}
