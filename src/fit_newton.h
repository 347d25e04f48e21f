/* fit_newton.h: a projected quasi-Newton (BFGS) optimizer of the profiled
 * criterion with its analytic gradient (issue 7; docs/estimation.md,
 * "The quasi-Newton optimizer").  Runs on rank 0 only; every evaluation
 * goes through the caller's callback, which broadcasts theta and a
 * command so that all ranks evaluate together (fit.c).  Not installed. */
#ifndef HLM_FIT_NEWTON_H
#define HLM_FIT_NEWTON_H

#include "design_internal.h"

/* The criterion f, its gradient (ntheta) and the terms' A_r matrices
 * (mme_grad.h) at theta; *gok = 0 when the gradient is not available
 * (a factor with k > 1 has a zero diagonal). */
typedef hlm_status (*hlm_newton_eval_fn)(void *ctx, const double *theta,
                                         double *f, double *grad, double *A,
                                         int *gok);

typedef struct hlm_newton_result {
  int evaluations; /* criterion + gradient evaluations */
  int iterations;  /* accepted steps */
  int converged;   /* 1: the three tolerances held (and the bound test) */
  int handover;    /* 1: a correlated term's factor approached a zero
                      diagonal, where the gradient is not available: the
                      caller finishes with BOBYQA from theta */
  int em_steps;    /* EM fallback steps taken */
  double fmin;     /* criterion at theta */
  double pgnorm;   /* largest entry of the last projected gradient */
} hlm_newton_result;

/* Rank 0 (the callback is collective).  Minimize from theta (in/out) with
 * lower bounds lb (0 on diagonals, -HUGE_VAL elsewhere), at most maxeval
 * evaluations.  grad (ntheta) receives the last gradient.  Errors of the
 * callback are returned as they are. */
hlm_status hlm_newton_optimize(const hlm_design *d, const double *lb,
                               int maxeval, hlm_newton_eval_fn eval, void *ctx,
                               double *theta, double *grad,
                               hlm_newton_result *res);

#endif /* HLM_FIT_NEWTON_H */
