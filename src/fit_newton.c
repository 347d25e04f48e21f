/* fit_newton.c: projected BFGS on the profiled criterion with its analytic
 * gradient, backtracking, an EM fallback and a bound-release test
 * (fit_newton.h; docs/estimation.md, "The quasi-Newton optimizer").
 *
 * Variables: theta, the lower triangles of the terms' factors L_r.  Kinds:
 * off-diagonal entries are free; diagonals of 1 x 1 factors ("even": the
 * criterion is even in them, so the derivative at 0 is 0) are projected
 * onto [0, inf) and may rest at 0 exactly; diagonals of larger factors are
 * kept positive by a fraction-to-the-boundary rule (the gradient needs
 * L^-1), and when one falls below HANDOVER the caller finishes with
 * BOBYQA.  Active set: a diagonal at 0 whose derivative is >= 0 is held
 * there (its step and projected gradient are 0).  Convergence needs all
 * three of
 *   |f_k - f_{k-1}| <= FTOL (1 + |f|),
 *   max |theta_k - theta_{k-1}| <= XTOL (1 + max |theta|),
 *   max |projected gradient| <= GTOL (1 + |f|),
 * and then the bound-release test: every even variable held at 0 is set to
 * RELEASE together and the gradient evaluated there; one whose derivative
 * is negative (negative curvature at 0) is released and the iteration
 * goes on from that point, otherwise the fit ends at the bound. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit_newton.h"
#include "mme_tree.h"

#define FTOL 1e-12
#define XTOL 1e-7
#define GTOL 1e-9
#define RELEASE 1e-4
#define HANDOVER 1e-4
#define ARMIJO 1e-4
#define MAXBACK 30
#define FIRSTSTEP 0.5

enum { K_FREE = 0, K_EVEN = 1, K_DIAG = 2 };

typedef struct nstate {
  const hlm_design *d;
  int n;
  size_t nA;
  const double *lb;
  int *kind, *fixed;
  hlm_newton_eval_fn eval;
  void *ctx;
  int maxeval;
  double f, fn;
  double *x, *g, *A, *xn, *gn, *An, *H, *dir, *pg, *s, *y, *Hy;
  int gok, first;
  hlm_newton_result *res;
} nstate;

static double max_abs(const double *v, int n)
{
  double m = 0.0;
  for (int i = 0; i < n; i++) {
    m = fabs(v[i]) > m ? fabs(v[i]) : m;
  }
  return m;
}

static void classify(nstate *st)
{
  const hlm_design *d = st->d;
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    int t = rt->theta_off;
    for (int col = 0; col < rt->k; col++) {
      for (int row = col; row < rt->k; row++, t++) {
        st->kind[t] = row != col ? K_FREE : rt->k == 1 ? K_EVEN : K_DIAG;
      }
    }
  }
}

/* The trial point xn: f, gradient, A. */
static hlm_status eval_trial(nstate *st)
{
  st->res->evaluations++;
  return st->eval(st->ctx, st->xn, &st->fn, st->gn, st->An, &st->gok);
}

/* Make the trial point the current one. */
static void accept_trial(nstate *st)
{
  double *t;
  t = st->x, st->x = st->xn, st->xn = t;
  t = st->g, st->g = st->gn, st->gn = t;
  t = st->A, st->A = st->An, st->An = t;
  st->f = st->fn;
}

/* Active set and projected gradient; returns its largest entry. */
static double projected_gradient(nstate *st)
{
  for (int i = 0; i < st->n; i++) {
    st->fixed[i] =
        st->kind[i] != K_FREE && st->x[i] <= st->lb[i] && !(st->g[i] < 0.0);
    st->pg[i] = st->fixed[i] ? 0.0 : st->g[i];
  }
  return max_abs(st->pg, st->n);
}

static void reset_hessian(nstate *st, double scale)
{
  int n = st->n;
  memset(st->H, 0, (size_t)n * n * sizeof *st->H);
  for (int i = 0; i < n; i++) {
    st->H[i + (size_t)n * i] = scale;
  }
  st->first = 1;
}

/* dir = -H pg on the free variables; steepest descent if that is not a
 * descent direction. */
static void direction(nstate *st, double pgn)
{
  int n = st->n;
  double slope = 0.0;
  for (int i = 0; i < n; i++) {
    double s = 0.0;
    for (int j = 0; j < n && !st->fixed[i]; j++) {
      s -= st->H[i + (size_t)n * j] * st->pg[j];
    }
    st->dir[i] = s;
    slope += s * st->pg[i];
  }
  if (!(slope < 0.0)) {
    reset_hessian(st, FIRSTSTEP / (pgn > 0 ? pgn : 1.0));
    for (int i = 0; i < n; i++) {
      st->dir[i] = -st->H[i + (size_t)n * i] * st->pg[i];
    }
  }
}

/* Largest step keeping the diagonals of correlated terms at >= 1/10 of
 * their value (fraction to the boundary). */
static double max_step(const nstate *st)
{
  double amax = 1.0;
  for (int i = 0; i < st->n; i++) {
    if (st->kind[i] == K_DIAG && st->dir[i] < 0.0) {
      double a = -0.9 * st->x[i] / st->dir[i];
      amax = a < amax ? a : amax;
    }
  }
  return amax;
}

/* xn = P(x + alpha dir); returns g'(xn - x). */
static double trial_point(nstate *st, double alpha)
{
  double slope = 0.0;
  for (int i = 0; i < st->n; i++) {
    double v = st->x[i] + alpha * st->dir[i];
    st->xn[i] = v < st->lb[i] ? st->lb[i] : v;
    slope += st->g[i] * (st->xn[i] - st->x[i]);
  }
  return slope;
}

/* Backtracking (Armijo, quadratic interpolation) along dir; *ok = 1 when
 * a point with sufficient decrease was found (the trial point xn). */
static hlm_status line_search(nstate *st, int *ok)
{
  hlm_status status = HLM_OK;
  double alpha = max_step(st);
  *ok = 0;
  for (int k = 0; k < MAXBACK && st->res->evaluations < st->maxeval; k++) {
    double slope = trial_point(st, alpha);
    if (!(slope < 0.0)) {
      break;
    }
    HLM_TRY(eval_trial(st));
    if (st->fn <= st->f + ARMIJO * slope) {
      *ok = 1;
      break;
    }
    /* minimizer of the quadratic through f, slope and fn, in [0.1, 0.5] */
    double q = -slope / (2.0 * (st->fn - st->f - slope));
    q = isfinite(q) ? q : 0.5;
    alpha *= q < 0.1 ? 0.1 : q > 0.5 ? 0.5 : q;
  }
cleanup:
  return status;
}

/* Lower Cholesky factor of the k x k matrix N (zero pivots give zero
 * columns), into L. */
static void chol_psd(int k, const double *N, double *L)
{
  memset(L, 0, (size_t)k * k * sizeof *L);
  for (int j = 0; j < k; j++) {
    double dj = N[j + k * j];
    for (int m = 0; m < j; m++) {
      dj -= L[j + k * m] * L[j + k * m];
    }
    if (!(dj > 1e-300)) {
      continue;
    }
    L[j + k * j] = sqrt(dj);
    for (int i = j + 1; i < k; i++) {
      double s = N[i + k * j];
      for (int m = 0; m < j; m++) {
        s -= L[i + k * m] * L[j + k * m];
      }
      L[i + k * j] = s / L[j + k * j];
    }
  }
}

/* EM step: L_new L_new' = L (I - A_r / m_r) L' = (1/m_r) sum_l
 * L (Phi_ll + v_l v_l' / sigma2) L', the expected u u' over sigma2. */
static void em_point(nstate *st)
{
  const hlm_design *d = st->d;
  size_t o = 0;
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    int k = rt->k, t = rt->theta_off;
    double L[64 * 64], B[64 * 64], N[64 * 64], Ln[64 * 64];
    hlm_term_factor(rt, st->x, L);
    for (int i = 0; i < k * k; i++) {
      /* a survey's levels count with their weights (survey.c) */
      double m = d->survey ? d->cwsum : (double)rt->nlevels;
      B[i] = (i % (k + 1) == 0) - st->A[o + i] / m;
    }
    for (int i = 0; i < k; i++) {
      for (int j = 0; j < k; j++) {
        double s = 0.0;
        for (int a = 0; a <= i; a++) {
          for (int b = 0; b <= j; b++) {
            s += L[i + k * a] * B[a + k * b] * L[j + k * b];
          }
        }
        N[i + k * j] = s;
      }
    }
    chol_psd(k, N, Ln);
    for (int col = 0; col < k; col++) {
      for (int row = col; row < k; row++) {
        st->xn[t++] = Ln[row + k * col];
      }
    }
    o += (size_t)k * k;
  }
}

/* Inverse BFGS update with s = x_new - x, y = g_new - g (before the new
 * point is made current). */
static void bfgs_update(nstate *st)
{
  int n = st->n;
  double sy = 0.0, yy = 0.0, yHy = 0.0;
  for (int i = 0; i < n; i++) {
    st->s[i] = st->xn[i] - st->x[i];
    st->y[i] = st->gn[i] - st->g[i];
    sy += st->s[i] * st->y[i];
    yy += st->y[i] * st->y[i];
  }
  if (!(sy > 1e-12 * sqrt(yy) * max_abs(st->s, n) * sqrt((double)n))) {
    return; /* no positive curvature along s: keep H */
  }
  if (st->first) {
    reset_hessian(st, sy / yy);
    st->first = 0;
  }
  for (int i = 0; i < n; i++) {
    double s = 0.0;
    for (int j = 0; j < n; j++) {
      s += st->H[i + (size_t)n * j] * st->y[j];
    }
    st->Hy[i] = s;
    yHy += st->y[i] * s;
  }
  /* H += ((sy + y'Hy) s s' / sy - Hy s' - s (Hy)') / sy */
  for (int j = 0; j < n; j++) {
    for (int i = 0; i < n; i++) {
      st->H[i + (size_t)n * j] +=
          ((sy + yHy) * st->s[i] * st->s[j] / sy - st->Hy[i] * st->s[j] -
           st->s[i] * st->Hy[j]) /
          sy;
    }
  }
}

/* A correlated term's diagonal below HANDOVER that the criterion pushes
 * further down: the gradient would soon need the inverse of a (nearly)
 * singular factor.  Those diagonals are set to 0 for BOBYQA: NLopt's
 * BOBYQA started within 1e-4 of a bound can stop early at a wrong point
 * (sleepstudy from theta = (1, 0.3, 5e-5): REML criterion 1753.3 instead
 * of 1743.6, reported as converged), not when started on the bound. */
static int near_bound(nstate *st)
{
  int near = 0;
  for (int i = 0; i < st->n; i++) {
    near |= st->kind[i] == K_DIAG && st->x[i] < HANDOVER && st->g[i] > 0.0;
  }
  for (int i = 0; i < st->n && near; i++) {
    st->x[i] = st->kind[i] == K_DIAG && st->x[i] < HANDOVER ? 0.0 : st->x[i];
  }
  return near;
}

/* The EM step as a fallback; *ok = 1 when it decreased f (now current). */
static hlm_status em_fallback(nstate *st, int *ok)
{
  hlm_status status = HLM_OK;
  *ok = 0;
  em_point(st);
  HLM_TRY(eval_trial(st));
  *ok = st->fn < st->f;
  st->res->em_steps += *ok;
cleanup:
  return status;
}

/* Bound-release test at a converged point (see the top of the file);
 * *released = 1 when some variable left its bound (the point moved), 0
 * when none did, -1 when the evaluation budget did not allow the test. */
static hlm_status release_test(nstate *st, int *released)
{
  hlm_status status = HLM_OK;
  int ntest = 0, nrel = 0;
  *released = 0;
  memcpy(st->xn, st->x, (size_t)st->n * sizeof *st->xn);
  for (int i = 0; i < st->n; i++) {
    if (st->kind[i] == K_EVEN && st->fixed[i]) {
      st->xn[i] = RELEASE;
      ntest++;
    }
  }
  if (ntest == 0 || st->res->evaluations >= st->maxeval) {
    *released = ntest == 0 ? 0 : -1; /* -1: no budget left for the test */
    return HLM_OK;
  }
  HLM_TRY(eval_trial(st));
  for (int i = 0; i < st->n; i++) {
    if (st->xn[i] == RELEASE && st->kind[i] == K_EVEN && st->fixed[i]) {
      int neg = st->gn[i] < 0.0;
      nrel += neg;
      st->xn[i] = neg ? RELEASE : 0.0;
    }
  }
  if (nrel == 0) {
    return HLM_OK;
  }
  if (nrel < ntest) {
    HLM_TRY(eval_trial(st));
  }
  accept_trial(st);
  memset(st->H, 0, (size_t)st->n * st->n * sizeof *st->H);
  st->first = 1;
  *released = 1;
cleanup:
  return status;
}

/* One iteration from the current point; *stop = 1 when the fit ends
 * (res->converged says how). */
static hlm_status iterate(nstate *st, double pgn, double *dx, int *stop)
{
  hlm_status status = HLM_OK;
  int ok = 0;
  *stop = 0;
  direction(st, pgn);
  HLM_TRY(line_search(st, &ok));
  if (ok) {
    bfgs_update(st);
  } else if (st->res->evaluations < st->maxeval) {
    HLM_TRY(em_fallback(st, &ok));
    memset(st->H, 0, (size_t)st->n * st->n * sizeof *st->H);
    st->first = 1;
  }
  if (!ok) {
    /* no decrease along the step nor by EM: at the resolution of f */
    st->res->converged = pgn <= 100.0 * GTOL * (1.0 + fabs(st->f));
    *stop = 1;
    return HLM_OK;
  }
  for (int i = 0; i < st->n; i++) {
    st->s[i] = st->xn[i] - st->x[i];
  }
  *dx = max_abs(st->s, st->n);
  accept_trial(st);
  st->res->iterations++;
cleanup:
  return status;
}

/* At a point that passed the tolerances (or where nothing can move):
 * the bound-release test; *done = 1 when the fit ends converged. */
static hlm_status finish(nstate *st, int *done)
{
  hlm_status status = HLM_OK;
  int released = 0;
  HLM_TRY(release_test(st, &released));
  *done = released <= 0;
  st->res->converged = released == 0;
cleanup:
  return status;
}

static hlm_status run(nstate *st)
{
  hlm_status status = HLM_OK;
  double fprev = HUGE_VAL, dx = HUGE_VAL;
  HLM_TRY(eval_trial(st));
  accept_trial(st);
  for (;;) {
    double pgn = projected_gradient(st);
    int stop = 0, done = 0;
    st->res->pgnorm = pgn;
    if (!st->gok || near_bound(st)) {
      st->res->handover = 1;
      break;
    }
    if (pgn == 0.0 || (fabs(fprev - st->f) <= FTOL * (1.0 + fabs(st->f)) &&
                       dx <= XTOL * (1.0 + max_abs(st->x, st->n)) &&
                       pgn <= GTOL * (1.0 + fabs(st->f)))) {
      HLM_TRY(finish(st, &done));
      if (done) {
        break;
      }
      fprev = dx = HUGE_VAL;
      continue;
    }
    if (st->res->evaluations >= st->maxeval) {
      break;
    }
    fprev = st->f;
    HLM_TRY(iterate(st, pgn, &dx, &stop));
    if (stop && st->res->converged) {
      HLM_TRY(finish(st, &done));
      stop = done;
      fprev = dx = HUGE_VAL;
    }
    if (stop) {
      break;
    }
  }
cleanup:
  return status;
}

static hlm_status state_alloc(nstate *st)
{
  hlm_status status = HLM_OK;
  size_t n = (size_t)st->n, nA = st->nA > 0 ? st->nA : 1;
  HLM_ALLOC(st->kind, n);
  HLM_ALLOC(st->fixed, n);
  HLM_ALLOC(st->x, n);
  HLM_ALLOC(st->g, n);
  HLM_ALLOC(st->xn, n);
  HLM_ALLOC(st->gn, n);
  HLM_ALLOC(st->dir, n);
  HLM_ALLOC(st->pg, n);
  HLM_ALLOC(st->s, n);
  HLM_ALLOC(st->y, n);
  HLM_ALLOC(st->Hy, n);
  HLM_ALLOC(st->H, n * n);
  HLM_ALLOC(st->A, nA);
  HLM_ALLOC(st->An, nA);
cleanup:
  return status;
}

static void state_free(nstate *st)
{
  free(st->kind);
  free(st->fixed);
  free(st->x);
  free(st->g);
  free(st->xn);
  free(st->gn);
  free(st->dir);
  free(st->pg);
  free(st->s);
  free(st->y);
  free(st->Hy);
  free(st->H);
  free(st->A);
  free(st->An);
}

hlm_status hlm_newton_optimize(const hlm_design *d, const double *lb,
                               int maxeval, hlm_newton_eval_fn eval, void *ctx,
                               double *theta, double *grad,
                               hlm_newton_result *res)
{
  hlm_status status = HLM_OK;
  nstate st = {.d = d,
               .n = d->ntheta,
               .lb = lb,
               .eval = eval,
               .ctx = ctx,
               .maxeval = maxeval,
               .res = res,
               .first = 1};
  memset(res, 0, sizeof *res);
  for (int r = 0; r < d->nterms; r++) {
    st.nA += (size_t)d->term[r].k * d->term[r].k;
  }
  HLM_TRY(state_alloc(&st));
  classify(&st);
  memcpy(st.xn, theta, (size_t)st.n * sizeof *theta);
  status = run(&st);
  memcpy(theta, st.x, (size_t)st.n * sizeof *theta);
  memcpy(grad, st.g, (size_t)st.n * sizeof *grad);
  res->fmin = st.f;
cleanup:
  state_free(&st);
  return status;
}
