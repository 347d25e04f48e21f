/* fit.c: the REML/ML fit (hlm/fit.h): NLopt's BOBYQA on rank 0 drives
 * collective evaluations of the profiled criterion (mme.c); then the
 * estimates lme4 reports. */
#include <lapacke.h>
#include <math.h>
#include <nlopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fit_internal.h"
#include "fit_newton.h"
#include "hlm/comm.h"
#include "hlm/runlog.h"
#include "mme_grad.h"
#include "watchdog.h"

/* Commands rank 0 broadcasts before each evaluation. */
enum { CMD_STOP = 0, CMD_EVAL = 1, CMD_EVAL_GRAD = 2 };

void hlm_fit_options_default(hlm_fit_options *o)
{
  o->reml = 1;
  o->ftol_abs = 0.0;
  o->ftol_rel = 0.0;
  o->xtol_abs = 1e-10;
  o->maxeval = 100000;
  o->theta0 = NULL;
  o->checkpoint = NULL;
  o->checkpoint_interval = 0;
  o->stop_after = 0;
  o->resume = 0;
  const char *opt = getenv("HLM_OPTIMIZER");
  o->optimizer =
      opt && !strcmp(opt, "newton") ? HLM_FIT_NEWTON : HLM_FIT_BOBYQA;
}

const char *hlm_fit_optimizer_name(const hlm_fit *f)
{
  static const char *const names[] = {
      "NLopt LN_BOBYQA", "quasi-Newton (analytic gradient)",
      "quasi-Newton (analytic gradient), finished by NLopt LN_BOBYQA"};
  return names[f->optimizer >= 0 && f->optimizer <= 2 ? f->optimizer : 0];
}

hlm_status hlm_fit_strdup(const char *s, char **out)
{
  hlm_status status = HLM_OK;
  *out = NULL;
  if (s != NULL) {
    HLM_ALLOC(*out, strlen(s) + 1);
    strcpy(*out, s);
  }
cleanup:
  return status;
}

/* lme4's default start (1 on diagonals, 0 elsewhere) and lower bounds. */
static void theta_start_bounds(const hlm_design *d, double *theta, double *lb)
{
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    int t = rt->theta_off;
    for (int col = 0; col < rt->k; col++) {
      for (int row = col; row < rt->k; row++, t++) {
        theta[t] = row == col ? 1.0 : 0.0;
        lb[t] = row == col ? 0.0 : -HUGE_VAL;
      }
    }
  }
}

/* The state the NLopt objective needs on rank 0. */
typedef struct driver {
  MPI_Comm comm;
  hlm_mme *m;
  int reml, ntheta;
  hlm_mme_eval ev;
  double *buf; /* command + theta */
  hlm_status status;
  int nevals;
  nlopt_opt opt;
  hlm_ckpt ck;      /* rank 0: the record (ck.path NULL: no checkpoints) */
  int caught;       /* a rank caught SIGTERM or SIGUSR1 (agreed) */
  double *grad, *A; /* CMD_EVAL_GRAD: the gradient and A_r (mme_grad.h) */
  int gok;
  int nA;        /* sum of k^2 over the terms: the size of A */
  double *xtra;  /* ntheta + nA + 1: gradient, A, gok of an evaluation */
  int handover;  /* newton: BOBYQA finished the fit */
  double pgnorm; /* newton: its last projected gradient (else NaN) */
  double *hist;  /* rank 0: theta and criterion of every evaluation */
  int nhist, caphist;
} driver;

/* Rank 0: append an evaluation to the history (f->history). */
static hlm_status history_add(driver *dr, const double *theta, double crit)
{
  hlm_status status = HLM_OK;
  size_t w = (size_t)dr->ntheta + 1;
  if (dr->nhist == dr->caphist) {
    int cap = dr->caphist ? 2 * dr->caphist : 64;
    double *h = realloc(dr->hist, (size_t)cap * w * sizeof *h);
    HLM_CHECK(h != NULL, HLM_ERR_NOMEM, "out of memory (optimizer history)");
    dr->hist = h;
    dr->caphist = cap;
  }
  memcpy(&dr->hist[dr->nhist * w], theta, (size_t)dr->ntheta * sizeof *theta);
  dr->hist[dr->nhist * w + dr->ntheta] = crit;
  dr->nhist++;
cleanup:
  return status;
}

/* Collective: every rank evaluates the criterion at buf[1..]. */
static hlm_status eval_bcast(driver *dr)
{
  hlm_status status = HLM_OK;
  /* progress hook (issue 16): the job log's progress lines and phase
   * timing live in runlog.c; local, no communication */
  hlm_log_progress(dr->comm, dr->nevals, dr->ev.crit, dr->buf[0] == CMD_STOP);
  /* progress for the watchdog (issue 17), and its test-only hang */
  hlm_watchdog_evaluation(dr->nevals);
  int rank = 0;
  MPI_Comm_rank(dr->comm, &rank);
  hlm_watchdog_fault_hang(rank, dr->nevals);
  HLM_MPI(MPI_Bcast(dr->buf, dr->ntheta + 1, MPI_DOUBLE, 0, dr->comm));
  if (dr->buf[0] != CMD_STOP) {
    dr->nevals++;
    HLM_TRY(hlm_mme_evaluate(dr->m, &dr->buf[1], dr->reml, &dr->ev));
    if (dr->buf[0] == CMD_EVAL_GRAD) {
      HLM_TRY(hlm_mme_gradient(dr->m, &dr->buf[1], dr->reml, &dr->ev, dr->grad,
                               dr->A, &dr->gok));
    }
    if (dr->ck.path) {
      HLM_TRY(hlm_ckpt_signal_agree(dr->comm, &dr->caught));
    }
  }
cleanup:
  return status;
}

/* Rank 0, after an evaluation: record it; write a checkpoint when due, and
 * stop (HLM_STOPPED) on a signal or after stop_after evaluations. */
static hlm_status checkpoint_step(driver *dr, const double *theta,
                                  const double *extra)
{
  hlm_status status = HLM_OK;
  hlm_ckpt *c = &dr->ck;
  HLM_TRY(hlm_ckpt_record(c, theta, dr->ev.crit, extra));
  int stop = dr->caught || (c->stop_after > 0 && c->pos >= c->stop_after);
  if (stop || (c->interval > 0 && c->n - c->written >= c->interval)) {
    HLM_TRY(hlm_ckpt_write(c));
    hlm_log_event(dr->comm, stop ? HLM_LOG_NORMAL : HLM_LOG_VERBOSE,
                  "checkpoint: %d evaluations written to %s", c->n, c->path);
  }
  HLM_CHECK(!stop, HLM_STOPPED,
            "after %d evaluations (%s); %s holds them: continue with "
            "--resume",
            c->pos, dr->caught ? "a signal" : "--stop-after-iterations",
            c->path);
cleanup:
  return status;
}

static double objective(unsigned n, const double *x, double *grad, void *data)
{
  driver *dr = data;
  double crit = 0.0;
  int hit = 0;
  (void)grad;
  if (dr->ck.path) { /* resume: answer from the record first */
    dr->status = hlm_ckpt_replay(&dr->ck, x, &crit, NULL, &hit);
    if (dr->status == HLM_OK && hit) {
      dr->status = history_add(dr, x, crit);
      if (dr->status != HLM_OK) {
        nlopt_force_stop(dr->opt);
      }
      return crit;
    }
  }
  if (dr->status == HLM_OK) {
    dr->buf[0] = CMD_EVAL;
    memcpy(&dr->buf[1], x, n * sizeof *x);
    dr->status = eval_bcast(dr);
  }
  if (dr->status == HLM_OK) {
    dr->status = history_add(dr, x, dr->ev.crit);
  }
  if (dr->status == HLM_OK && dr->ck.path) {
    dr->status = checkpoint_step(dr, x, NULL);
  }
  if (dr->status != HLM_OK) {
    nlopt_force_stop(dr->opt);
    return HUGE_VAL;
  }
  return dr->ev.crit;
}

/* Rank 0: run BOBYQA; theta gets the optimum. */
static hlm_status optimize_root(driver *dr, const hlm_fit_options *o,
                                const double *lb, double *theta, double *fmin,
                                int *result)
{
  hlm_status status = HLM_OK;
  double *xtol = NULL;
  dr->opt = nlopt_create(NLOPT_LN_BOBYQA, (unsigned)dr->ntheta);
  HLM_CHECK(dr->opt != NULL, HLM_ERR_NOMEM, "cannot create the optimizer");
  HLM_ALLOC(xtol, dr->ntheta);
  for (int i = 0; i < dr->ntheta; i++) {
    xtol[i] = o->xtol_abs;
  }
  nlopt_set_lower_bounds(dr->opt, lb);
  nlopt_set_min_objective(dr->opt, objective, dr);
  nlopt_set_ftol_abs(dr->opt, o->ftol_abs);
  nlopt_set_ftol_rel(dr->opt, o->ftol_rel);
  nlopt_set_xtol_abs(dr->opt, xtol);
  nlopt_set_maxeval(dr->opt, o->maxeval);
  *result = (int)nlopt_optimize(dr->opt, theta, fmin);
  HLM_TRY(dr->status);
  HLM_CHECK(*result > 0 || *result == NLOPT_ROUNDOFF_LIMITED, HLM_ERR_NUMERIC,
            "the optimizer failed (NLopt code %d)", *result);
cleanup:
  free(xtol);
  if (dr->opt) {
    nlopt_destroy(dr->opt);
    dr->opt = NULL;
  }
  return status;
}

/* fit_newton.h's callback: criterion and gradient on every rank. */
static hlm_status newton_eval(void *ctx, const double *theta, double *f,
                              double *grad, double *A, int *gok)
{
  hlm_status status = HLM_OK;
  driver *dr = ctx;
  int nt = dr->ntheta, nA = dr->nA, hit = 0;
  double *x = dr->xtra; /* gradient, A_r, gok: what a checkpoint records */
  if (dr->ck.path) {
    HLM_TRY(hlm_ckpt_replay(&dr->ck, theta, f, x, &hit));
  }
  if (!hit) {
    dr->buf[0] = CMD_EVAL_GRAD;
    memcpy(&dr->buf[1], theta, (size_t)nt * sizeof *theta);
    HLM_TRY(eval_bcast(dr));
    *f = dr->ev.crit;
    memcpy(x, dr->grad, (size_t)nt * sizeof *x);
    memcpy(x + nt, dr->A, (size_t)nA * sizeof *x);
    x[nt + nA] = dr->gok;
  }
  HLM_TRY(history_add(dr, theta, *f));
  memcpy(grad, x, (size_t)nt * sizeof *grad);
  memcpy(A, x + nt, (size_t)nA * sizeof *A);
  *gok = x[nt + nA] != 0.0;
  if (!hit && dr->ck.path) {
    HLM_TRY(checkpoint_step(dr, theta, x));
  }
cleanup:
  return status;
}

/* Rank 0: the quasi-Newton optimizer (fit_newton.c), finished by BOBYQA
 * when it hands over; *conv says whether it converged. */
static hlm_status newton_root(driver *dr, const hlm_fit_options *o,
                              const double *lb, double *theta, int *result,
                              int *conv)
{
  hlm_status status = HLM_OK;
  hlm_newton_result res;
  double fmin = 0.0;
  HLM_TRY(hlm_newton_optimize(dr->m->d, lb, o->maxeval, newton_eval, dr, theta,
                              dr->grad, &res));
  *result = res.converged ? NLOPT_SUCCESS : NLOPT_MAXEVAL_REACHED;
  *conv = res.converged;
  hlm_log_event(dr->comm, res.handover ? HLM_LOG_NORMAL : HLM_LOG_VERBOSE,
                "quasi-Newton: %d iterations, %d evaluations, %d EM steps, "
                "largest projected gradient entry %.3g%s",
                res.iterations, res.evaluations, res.em_steps, res.pgnorm,
                res.handover ? "; a correlated term's factor neared a zero "
                               "diagonal: BOBYQA finishes the fit"
                             : "");
  dr->handover = res.handover;
  dr->pgnorm = res.handover ? NAN : res.pgnorm;
  if (res.handover && res.evaluations < o->maxeval) {
    hlm_fit_options ob = *o;
    ob.maxeval = o->maxeval - res.evaluations;
    HLM_TRY(optimize_root(dr, &ob, lb, theta, &fmin, result));
    *conv = *result != NLOPT_MAXEVAL_REACHED;
  } else if (!res.converged) {
    hlm_log_event(dr->comm, HLM_LOG_NORMAL,
                  "warning: the quasi-Newton optimizer did not converge: %d "
                  "iterations, %d evaluations, criterion %.10g, largest "
                  "projected gradient entry %.3g",
                  res.iterations, res.evaluations, res.fmin, res.pgnorm);
  }
cleanup:
  return status;
}

/* Collective.  Optimize; every rank ends with rank 0's theta. */
static hlm_status optimize(driver *dr, const hlm_fit_options *o,
                           const double *lb, double *theta, hlm_fit *f)
{
  hlm_status status = HLM_OK, local = HLM_OK;
  int rank = 0, res[3] = {0, 0, 0}, nA = 0;
  double fmin = 0.0;
  HLM_MPI(MPI_Comm_rank(dr->comm, &rank));
  for (int r = 0; r < dr->m->d->nterms; r++) {
    nA += dr->m->d->term[r].k * dr->m->d->term[r].k;
  }
  dr->nA = nA;
  HLM_ALLOC(dr->grad, dr->ntheta);
  HLM_ALLOC(dr->A, nA);
  HLM_ALLOC(dr->xtra, dr->ntheta + nA + 1);
  if (rank == 0 && o->optimizer == HLM_FIT_NEWTON) {
    local = newton_root(dr, o, lb, theta, &res[0], &res[1]);
  } else if (rank == 0) {
    local = optimize_root(dr, o, lb, theta, &fmin, &res[0]);
    res[1] = res[0] != NLOPT_MAXEVAL_REACHED;
  }
  if (rank == 0) {
    res[2] = o->optimizer == HLM_FIT_NEWTON ? 1 + dr->handover : 0;
    dr->buf[0] = CMD_STOP;
    dr->buf[1] = local == HLM_STOPPED; /* the others stop the same way */
    HLM_TRY(eval_bcast(dr));
  } else {
    do {
      local = eval_bcast(dr);
    } while (local == HLM_OK && dr->buf[0] != CMD_STOP);
    if (local == HLM_OK && dr->buf[1] == 1.0) {
      local = HLM_ERROR(HLM_STOPPED,
                        "rank 0 wrote the checkpoint %s: continue with "
                        "--resume",
                        o->checkpoint);
    }
    /* an evaluation that failed failed everywhere: wait for the stop */
    while (local != HLM_OK && local != HLM_ERR_MPI && dr->buf[0] != CMD_STOP) {
      if (eval_bcast(dr) == HLM_ERR_MPI) {
        break;
      }
    }
  }
  HLM_TRY(hlm_comm_agree(dr->comm, local, "optimization", NULL));
  HLM_MPI(MPI_Bcast(theta, dr->ntheta, MPI_DOUBLE, 0, dr->comm));
  HLM_MPI(MPI_Bcast(res, 3, MPI_INT, 0, dr->comm));
  f->nlopt_result = res[0];
  f->converged = res[1];
  f->optimizer = res[2];
  HLM_MPI(MPI_Bcast(&dr->pgnorm, 1, MPI_DOUBLE, 0, dr->comm));
  f->pgnorm = dr->pgnorm;
  /* evaluations made, and replayed from a checkpoint (rank 0 knows) */
  int replayed = dr->ck.nreplay;
  HLM_MPI(MPI_Bcast(&replayed, 1, MPI_INT, 0, dr->comm));
  f->evaluations = dr->nevals + replayed;
  f->nhistory = dr->nhist; /* rank 0's; the others learn the count */
  HLM_MPI(MPI_Bcast(&f->nhistory, 1, MPI_INT, 0, dr->comm));
  f->history = dr->hist;
  dr->hist = NULL;
cleanup:
  free(dr->grad);
  free(dr->A);
  free(dr->xtra);
  dr->grad = dr->A = dr->xtra = NULL;
  return status;
}

/* sigma^2 S^-1 from the Cholesky factor of S, and the SEs. */
static hlm_status fixed_covariance(hlm_fit *f, const double *RX)
{
  hlm_status status = HLM_OK;
  int p = f->p;
  memcpy(f->vcov, RX, (size_t)p * p * sizeof *RX);
  int info = LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', p, f->vcov, p);
  HLM_LAPACK_CHECK(info, "dpotri", "inverting the fixed-effect system");
  for (int a = 0; a < p; a++) {
    for (int b = 0; b < a; b++) {
      f->vcov[b + (size_t)p * a] = f->vcov[a + (size_t)p * b];
    }
  }
  for (int i = 0; i < p * p; i++) {
    f->vcov[i] *= f->sigma * f->sigma;
  }
  for (int j = 0; j < p; j++) {
    f->se[j] = sqrt(f->vcov[j + (size_t)p * j]);
  }
cleanup:
  return status;
}

static hlm_status add_vc(hlm_fit *f, const char *grp, const char *v1,
                         const char *v2, double vcov, double sdcor)
{
  hlm_status status = HLM_OK;
  hlm_varcorr *e = &f->vc[f->nvc++];
  e->grp = grp;
  e->var1 = v1;
  e->var2 = v2;
  e->vcov = vcov;
  e->sdcor = sdcor;
  return status;
}

/* VarCorr group names made unique as R's make.unique does. */
static hlm_status unique_group_names(hlm_fit *f)
{
  hlm_status status = HLM_OK;
  for (int r = 0; r < f->nterms; r++) {
    int dup = 0;
    for (int s = 0; s < r; s++) {
      dup += !strcmp(f->term[s].group, f->term[r].group);
    }
    char buf[32];
    snprintf(buf, sizeof buf, ".%d", dup);
    HLM_ALLOC(f->term[r].vcgroup, strlen(f->term[r].group) + strlen(buf) + 1);
    strcpy(f->term[r].vcgroup, f->term[r].group);
    if (dup) {
      strcat(f->term[r].vcgroup, buf);
    }
  }
cleanup:
  return status;
}

/* lme4's as.data.frame(VarCorr()): per term variances, then covariances,
 * then the residual. */
static hlm_status variance_components(const hlm_design *d, hlm_fit *f)
{
  hlm_status status = HLM_OK;
  int total = 1;
  double s2 = f->sigma * f->sigma;
  for (int r = 0; r < d->nterms; r++) {
    total += d->term[r].ntheta;
  }
  HLM_ALLOC(f->vc, total);
  HLM_TRY(unique_group_names(f));
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    const hlm_fit_term *ft = &f->term[r];
    int k = rt->k;
    double cov[64 * 64], L[64 * 64];
    const double *th = &f->theta[rt->theta_off];
    int t = 0;
    memset(L, 0, sizeof L);
    for (int col = 0; col < k; col++) {
      for (int row = col; row < k; row++) {
        L[row + k * col] = th[t++];
      }
    }
    for (int a = 0; a < k; a++) {
      for (int b = 0; b < k; b++) {
        double s = 0.0;
        for (int m = 0; m < k; m++) {
          s += L[a + k * m] * L[b + k * m];
        }
        cov[a + k * b] = s2 * s;
      }
    }
    for (int a = 0; a < k; a++) {
      HLM_TRY(add_vc(f, ft->vcgroup, ft->colname[a], NULL, cov[a + k * a],
                     sqrt(cov[a + k * a])));
    }
    for (int a = 0; a < k; a++) {
      for (int b = a + 1; b < k; b++) {
        double den = sqrt(cov[a + k * a] * cov[b + k * b]);
        HLM_TRY(add_vc(f, ft->vcgroup, ft->colname[a], ft->colname[b],
                       cov[a + k * b], den > 0 ? cov[a + k * b] / den : NAN));
      }
    }
  }
  HLM_TRY(add_vc(f, "Residual", NULL, NULL, s2, f->sigma));
cleanup:
  return status;
}

/* lme4's isSingular(tol = 1e-4): a bounded theta below the tolerance. */
static int is_singular(const hlm_design *d, const double *theta)
{
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    int t = rt->theta_off;
    for (int col = 0; col < rt->k; col++) {
      for (int row = col; row < rt->k; row++, t++) {
        if (row == col && theta[t] < 1e-4) {
          return 1;
        }
      }
    }
  }
  return 0;
}

/* Names and counts copied from the design, so the fit outlives it. */
static hlm_status copy_names(const hlm_design *d, hlm_fit *f)
{
  hlm_status status = HLM_OK;
  HLM_TRY(hlm_fit_strdup(d->formula, &f->formula));
  HLM_ALLOC(f->fixed_name, d->p);
  for (int j = 0; j < d->p; j++) {
    HLM_TRY(hlm_fit_strdup(d->xmm.name[j], &f->fixed_name[j]));
  }
  HLM_ALLOC(f->term, d->nterms);
  f->nterms = d->nterms;
  for (int r = 0; r < d->nterms; r++) {
    hlm_fit_term *t = &f->term[r];
    HLM_TRY(hlm_fit_strdup(d->term[r].group, &t->group));
    t->k = d->term[r].k;
    HLM_ALLOC(t->colname, t->k);
    for (int k = 0; k < t->k; k++) {
      HLM_TRY(hlm_fit_strdup(d->term[r].mm.name[k], &t->colname[k]));
    }
  }
  HLM_ALLOC(f->group_name, d->nfactors);
  HLM_ALLOC(f->group_nlev, d->nfactors);
  f->ngroups = d->nfactors;
  for (int g = 0; g < d->nfactors; g++) {
    HLM_TRY(hlm_fit_strdup(d->factor_name[g], &f->group_name[g]));
    f->group_nlev[g] = d->factor_nlev[g];
  }
cleanup:
  return status;
}

static hlm_status fit_alloc(const hlm_design *d, int reml, hlm_fit **out)
{
  hlm_status status = HLM_OK;
  hlm_fit *f = NULL;
  HLM_ALLOC(f, 1);
  f->reml = reml;
  f->p = d->p;
  f->ntheta = d->ntheta;
  f->nobs = d->nglobal;
  HLM_ALLOC(f->beta, d->p);
  HLM_ALLOC(f->se, d->p);
  HLM_ALLOC(f->vcov, (size_t)d->p * d->p);
  HLM_ALLOC(f->theta, d->ntheta);
  HLM_TRY(copy_names(d, f));
  *out = f;
  f = NULL;
cleanup:
  hlm_fit_destroy(&f);
  return status;
}

/* Everything lme4 reports, from the final evaluation. */
static hlm_status fill_estimates(const hlm_design *d, const hlm_mme_eval *ev,
                                 hlm_fit *f)
{
  hlm_status status = HLM_OK;
  double n = hlm_design_ncrit(d); /* the weighted count with a survey */
  memcpy(f->beta, ev->beta, (size_t)d->p * sizeof *f->beta);
  f->crit = ev->crit;
  f->pwrss = ev->pwrss;
  /* known SDs: sigma is fixed at 1, not a parameter */
  f->known_sd = d->known_sd;
  f->sigma = d->known_sd ? 1.0 : sqrt(ev->pwrss / (f->reml ? n - d->p : n));
  f->npar = d->p + d->ntheta + !d->known_sd;
  f->loglik = -0.5 * ev->crit;
  f->aic = ev->crit + 2.0 * f->npar;
  f->bic = ev->crit + log(n) * f->npar;
  f->singular = is_singular(d, f->theta);
  HLM_TRY(fixed_covariance(f, ev->RX));
  HLM_TRY(variance_components(d, f));
cleanup:
  return status;
}

/* Collective.  Checkpoints when o asks for them: signals caught on every
 * rank, the record (and with o->resume, the checkpoint read) on rank 0. */
static hlm_status checkpoint_setup(MPI_Comm comm, const hlm_design *d,
                                   const hlm_fit_options *o, driver *dr)
{
  hlm_status status = HLM_OK;
  int rank = 0;
  HLM_CHECK(o->checkpoint || (!o->resume && o->stop_after == 0), HLM_ERR_USAGE,
            "--resume and --stop-after-iterations need a checkpoint file: "
            "set [checkpoint] path in the config");
  if (o->checkpoint == NULL) {
    return HLM_OK;
  }
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  hlm_ckpt_catch_signals();
  dr->ck.path = o->checkpoint;
  dr->ck.interval = o->checkpoint_interval;
  dr->ck.stop_after = o->stop_after;
  dr->ck.formula = d->formula;
  dr->ck.reml = o->reml;
  dr->ck.p = d->p;
  dr->ck.ntheta = d->ntheta;
  dr->ck.nobs = d->nglobal;
  if (o->optimizer == HLM_FIT_NEWTON) { /* it needs the gradients too */
    dr->ck.extra = d->ntheta + 1;
    for (int r = 0; r < d->nterms; r++) {
      dr->ck.extra += d->term[r].k * d->term[r].k;
    }
  }
  status = rank == 0 ? hlm_ckpt_start(&dr->ck, o->resume) : HLM_OK;
  if (rank == 0 && status == HLM_OK && o->resume) {
    hlm_log_event(comm, HLM_LOG_NORMAL,
                  "resuming: %d evaluations to replay from %s", dr->ck.n,
                  dr->ck.path);
  }
cleanup:
  return hlm_comm_agree(comm, status, "reading the checkpoint", NULL);
}

static hlm_status fit_body(MPI_Comm comm, const hlm_design *d,
                           const hlm_fit_options *o, hlm_fit *f)
{
  hlm_status status = HLM_OK;
  driver dr = {
      .comm = comm, .reml = o->reml, .ntheta = d->ntheta, .pgnorm = NAN};
  double *lb = NULL;
  HLM_ALLOC(dr.buf, d->ntheta + 1);
  HLM_ALLOC(lb, d->ntheta);
  HLM_ALLOC(dr.ev.beta, d->p);
  HLM_ALLOC(dr.ev.RX, (size_t)d->p * d->p);
  theta_start_bounds(d, f->theta, lb);
  if (o->theta0) {
    memcpy(f->theta, o->theta0, (size_t)d->ntheta * sizeof *f->theta);
  }
  HLM_TRY(hlm_mme_create(comm, d, &dr.m));
  hlm_mme_report(dr.m);
  HLM_TRY(checkpoint_setup(comm, d, o, &dr));
  HLM_TRY(optimize(&dr, o, lb, f->theta, f));
  HLM_TRY(hlm_mme_evaluate(dr.m, f->theta, o->reml, &dr.ev));
  HLM_TRY(
      hlm_comm_agree(comm, fill_estimates(d, &dr.ev, f), "estimates", NULL));
  HLM_TRY(hlm_fit_gather_ranef(comm, dr.m, f));
  f->m = dr.m; /* kept: inference evaluates the same equations again */
  dr.m = NULL;
cleanup:
  hlm_mme_destroy(&dr.m);
  hlm_ckpt_free(&dr.ck);
  free(dr.buf);
  free(dr.hist);
  free(lb);
  free(dr.ev.beta);
  free(dr.ev.RX);
  return status;
}

hlm_status hlm_fit_run(MPI_Comm comm, const hlm_design *d,
                       const hlm_fit_options *o, hlm_fit **out)
{
  hlm_status status = HLM_OK;
  hlm_fit_options def;
  hlm_fit *f = NULL;
  double t0 = MPI_Wtime();
  HLM_CHECK(d && out, HLM_ERR_INVALID_ARG, "hlm_fit_run: NULL argument");
  *out = NULL;
  if (o == NULL) {
    hlm_fit_options_default(&def);
    o = &def;
  }
  HLM_TRY(hlm_comm_agree(comm, fit_alloc(d, o->reml, &f), "fit", NULL));
  HLM_MPI(MPI_Comm_size(comm, &f->ranks));
  HLM_TRY(fit_body(comm, d, o, f));
  f->seconds = MPI_Wtime() - t0;
  HLM_MPI(MPI_Bcast(&f->seconds, 1, MPI_DOUBLE, 0, comm));
  *out = f;
  f = NULL;
cleanup:
  hlm_fit_destroy(&f);
  return status;
}

hlm_mme *hlm_fit_mme(const hlm_fit *f, const hlm_design *d)
{
  return f != NULL && f->m != NULL && f->m->d == d ? f->m : NULL;
}

hlm_status hlm_fit_criterion_at(MPI_Comm comm, const hlm_design *d, int reml,
                                const double *theta, double *value)
{
  hlm_status status = HLM_OK;
  hlm_mme *m = NULL;
  hlm_mme_eval ev = {0};
  HLM_ALLOC(ev.beta, d->p);
  HLM_ALLOC(ev.RX, (size_t)d->p * d->p);
  HLM_TRY(hlm_mme_create(comm, d, &m));
  HLM_TRY(hlm_mme_evaluate(m, theta, reml, &ev));
  *value = ev.crit;
cleanup:
  hlm_mme_destroy(&m);
  free(ev.beta);
  free(ev.RX);
  return status;
}

static void free_strings(char **s, int64_t n)
{
  for (int64_t i = 0; s && i < n; i++) {
    free(s[i]);
  }
  free(s);
}

void hlm_fit_destroy(hlm_fit **fp)
{
  if (fp == NULL || *fp == NULL) {
    return;
  }
  hlm_fit *f = *fp;
  hlm_mme_destroy(&f->m);
  free(f->formula);
  free_strings(f->fixed_name, f->p);
  free(f->beta);
  free(f->se);
  free(f->vcov);
  free(f->theta);
  free(f->history);
  for (int r = 0; f->term && r < f->nterms; r++) {
    hlm_fit_term *t = &f->term[r];
    free(t->group);
    free(t->vcgroup);
    free_strings(t->colname, t->k);
    free_strings(t->label, t->nlevels);
    free(t->values);
    free(t->condvar);
  }
  free(f->term);
  free(f->vc);
  free_strings(f->group_name, f->ngroups);
  free(f->group_nlev);
  free(f);
  *fp = NULL;
}

int hlm_fit_reml(const hlm_fit *f)
{
  return f->reml;
}
double hlm_fit_criterion(const hlm_fit *f)
{
  return f->crit;
}
double hlm_fit_loglik(const hlm_fit *f)
{
  return f->loglik;
}
double hlm_fit_aic(const hlm_fit *f)
{
  return f->aic;
}
double hlm_fit_bic(const hlm_fit *f)
{
  return f->bic;
}
double hlm_fit_sigma(const hlm_fit *f)
{
  return f->sigma;
}
int64_t hlm_fit_nobs(const hlm_fit *f)
{
  return f->nobs;
}
int hlm_fit_npar(const hlm_fit *f)
{
  return f->npar;
}
int hlm_fit_singular(const hlm_fit *f)
{
  return f->singular;
}
int hlm_fit_converged(const hlm_fit *f)
{
  return f->converged;
}
int hlm_fit_evaluations(const hlm_fit *f)
{
  return f->evaluations;
}

double hlm_fit_last_gradient(const hlm_fit *f)
{
  return f->pgnorm;
}
double hlm_fit_seconds(const hlm_fit *f)
{
  return f->seconds;
}
int hlm_fit_ranks(const hlm_fit *f)
{
  return f->ranks;
}
int hlm_fit_ntheta(const hlm_fit *f)
{
  return f->ntheta;
}
const double *hlm_fit_theta(const hlm_fit *f)
{
  return f->theta;
}
int hlm_fit_nfixed(const hlm_fit *f)
{
  return f->p;
}
const char *hlm_fit_fixed_name(const hlm_fit *f, int j)
{
  return j >= 0 && j < f->p ? f->fixed_name[j] : NULL;
}
const double *hlm_fit_fixef(const hlm_fit *f)
{
  return f->beta;
}
const double *hlm_fit_fixef_se(const hlm_fit *f)
{
  return f->se;
}
const double *hlm_fit_vcov(const hlm_fit *f)
{
  return f->vcov;
}
int hlm_fit_nvarcorr(const hlm_fit *f)
{
  return f->nvc;
}
const hlm_varcorr *hlm_fit_varcorr(const hlm_fit *f, int i)
{
  return i >= 0 && i < f->nvc ? &f->vc[i] : NULL;
}
int hlm_fit_ngroups(const hlm_fit *f)
{
  return f->ngroups;
}
const char *hlm_fit_group_name(const hlm_fit *f, int g)
{
  return g >= 0 && g < f->ngroups ? f->group_name[g] : NULL;
}
int64_t hlm_fit_group_nlevels(const hlm_fit *f, int g)
{
  return g >= 0 && g < f->ngroups ? f->group_nlev[g] : 0;
}
int hlm_fit_nterms(const hlm_fit *f)
{
  return f->nterms;
}

hlm_status hlm_fit_ranef(const hlm_fit *f, int r, hlm_ranef *out)
{
  hlm_status status = HLM_OK;
  HLM_CHECK(r >= 0 && r < f->nterms, HLM_ERR_INVALID_ARG, "no random term %d",
            r);
  const hlm_fit_term *t = &f->term[r];
  out->group = t->group;
  out->ncols = t->k;
  out->colname = (const char *const *)t->colname;
  out->nlevels = t->label ? t->nlevels : 0;
  out->label = (const char *const *)t->label;
  out->values = t->values;
  out->condvar = t->condvar;
cleanup:
  return status;
}
