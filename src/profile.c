/* profile.c: profile-likelihood confidence intervals (profile.h).
 *
 * Rank 0 drives: for each parameter and side it brackets the end of the
 * interval and refines it by the Illinois method on zeta; each point is a
 * constrained refit (the parameter fixed, the others minimised by NLopt
 * BOBYQA from the last optimum).  Every criterion evaluation is collective:
 * rank 0 broadcasts theta, every rank absorbs its clusters (mme.c).  The
 * others serve evaluations until rank 0 broadcasts the stop.
 *
 * Variance parameters vp = (SDs and correlations of each term, sigma):
 *   dev(vp) = ldL2 - ldW + pwrss / sigma^2 + n log(2 pi sigma^2)
 * at theta(vp) (lme4's devfun2); a fixed effect beta_j = b, with sigma
 * profiled and the other fixed effects minimised analytically:
 *   pwrss_j = pwrss + (b - beta_j-hat)^2 / [S_X^-1]_jj,
 *   dev     = ldL2 - ldW + n (1 + log(2 pi pwrss_j / n)),
 * S_X = RX RX' the fixed-effect system after absorbing the random effects,
 * minimised over theta. */
#include "profile.h"

#include <cblas.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <nlopt.h>
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"
#include "hlm/comm.h"

#define HLM_PI 3.14159265358979323846

enum { CMD_STOP = 0, CMD_EVAL = 1 };
enum { MAXPT = 512 }; /* refits kept per end for warm starts */
enum { PAR_SD = 0, PAR_COR = 1, PAR_SIGMA = 2, PAR_FIXED = 3 };

struct hlm_profile {
  int n;
  hlm_profile_par *par;
  double level, dev0;
};

/* The state of the driver (rank 0) and of the evaluations (all ranks). */
typedef struct prof {
  MPI_Comm comm;
  const hlm_design *d;
  hlm_mme *m;
  int nt, nv, p; /* theta, vp = (SDs and correlations, sigma), beta */
  double n;      /* observations */
  hlm_mme_eval ev;
  double *buf; /* command + theta */
  hlm_status status;
  nlopt_opt opt;
  int *kind, *term, *row, *col; /* per vp entry */
  double *vhat, *that, *bhat;   /* ML estimates: vp, theta, beta */
  double *sehat;                /* ML standard errors of beta */
  double *warm;                 /* start of the next constrained refit */
  double *pv, *px; /* this end's refits so far: values, optima (nw each) */
  int npt, nw;
  double *vp, *theta, *R, *z; /* work */
  int par;                    /* the parameter profiled (vp, then beta) */
  double value;               /* its fixed value */
  int evals;                  /* evaluations of the current parameter */
  double dev0;
} prof;

/* Collective (rank 0 side): every rank evaluates at theta. */
static hlm_status peval(prof *P, const double *theta)
{
  hlm_status status = HLM_OK;
  P->buf[0] = CMD_EVAL;
  memcpy(&P->buf[1], theta, (size_t)P->nt * sizeof *theta);
  HLM_MPI(MPI_Bcast(P->buf, P->nt + 1, MPI_DOUBLE, 0, P->comm));
  P->evals++;
  HLM_TRY(hlm_mme_evaluate(P->m, theta, 0, &P->ev));
cleanup:
  return status;
}

/* Collective (the other ranks): evaluate until rank 0 stops. */
static hlm_status serve(prof *P)
{
  hlm_status status = HLM_OK;
  for (;;) {
    HLM_MPI(MPI_Bcast(P->buf, P->nt + 1, MPI_DOUBLE, 0, P->comm));
    if (P->buf[0] == CMD_STOP) {
      break;
    }
    HLM_TRY(hlm_mme_evaluate(P->m, &P->buf[1], 0, &P->ev));
  }
cleanup:
  return status;
}

/* Position of entry (a, c), a >= c, in a k x k term's lower triangle by
 * columns (the order of theta and of lme4's .sigNN). */
static int tri(int k, int a, int c)
{
  return c * k - c * (c - 1) / 2 + (a - c);
}

/* Semi-definite Cholesky of the k x k correlation matrix R (in place,
 * lower); 0 when R is not positive semi-definite. */
static int chol_psd(double *R, int k)
{
  for (int c = 0; c < k; c++) {
    double s = R[c + k * c];
    for (int l = 0; l < c; l++) {
      s -= R[c + k * l] * R[c + k * l];
    }
    if (s < -1e-12) {
      return 0;
    }
    double dc = sqrt(s > 0 ? s : 0.0);
    R[c + k * c] = dc;
    for (int r = c + 1; r < k; r++) {
      double t = R[r + k * c];
      for (int l = 0; l < c; l++) {
        t -= R[r + k * l] * R[c + k * l];
      }
      R[r + k * c] = dc > 0 ? t / dc : 0.0;
    }
  }
  return 1;
}

/* theta(vp): Lambda = diag(SD / sigma) chol(R) per term; 0 when a
 * correlation matrix is not positive semi-definite. */
static int vp_to_theta(const prof *P, const double *vp, double *theta)
{
  double sigma = vp[P->nv - 1];
  for (int r = 0; r < P->d->nterms; r++) {
    int k = P->d->term[r].k, t = P->d->term[r].theta_off;
    double *R = P->R;
    for (int c = 0; c < k; c++) {
      for (int a = c; a < k; a++) {
        double v = a == c ? 1.0 : vp[t + tri(k, a, c)];
        R[a + k * c] = R[c + k * a] = v;
      }
    }
    if (!chol_psd(R, k)) {
      return 0;
    }
    for (int c = 0, s = t; c < k; c++) {
      for (int a = c; a < k; a++, s++) {
        theta[s] = vp[t + tri(k, a, a)] / sigma * R[a + k * c];
      }
    }
  }
  return 1;
}

/* vp(theta, sigma): the SDs and correlations lme4's profile() uses. */
static void theta_to_vp(const prof *P, const double *theta, double sigma,
                        double *vp)
{
  for (int r = 0; r < P->d->nterms; r++) {
    int k = P->d->term[r].k, t = P->d->term[r].theta_off;
    double *L = P->R, *nrm = P->R + k * k;
    for (int c = 0, s = t; c < k; c++) {
      for (int a = 0; a < k; a++) {
        L[a + k * c] = a >= c ? theta[s++] : 0.0;
      }
    }
    for (int a = 0; a < k; a++) {
      nrm[a] = cblas_dnrm2(k, &L[a], k);
    }
    for (int c = 0, s = t; c < k; c++) {
      for (int a = c; a < k; a++, s++) {
        double dot = cblas_ddot(k, &L[a], k, &L[c], k);
        vp[s] =
            a == c ? sigma * nrm[a]
                   : (nrm[a] > 0 && nrm[c] > 0 ? dot / (nrm[a] * nrm[c]) : 0.0);
      }
    }
  }
  vp[P->nv - 1] = sigma;
}

/* Rank 0.  ldL2 - ldW at the last evaluation (from the ML criterion). */
static double base_of(const prof *P)
{
  return P->ev.crit - P->n * (1.0 + log(2.0 * HLM_PI * P->ev.pwrss / P->n));
}

/* Rank 0.  The deviance at vp (lme4's devfun2). */
static hlm_status dev_vp(prof *P, const double *vp, double *dev)
{
  hlm_status status = HLM_OK;
  double s2 = vp[P->nv - 1] * vp[P->nv - 1];
  if (!vp_to_theta(P, vp, P->theta) || !(s2 > 0)) {
    *dev = 1e100; /* outside the parameter space */
    goto cleanup;
  }
  HLM_TRY(peval(P, P->theta));
  *dev = base_of(P) + P->ev.pwrss / s2 + P->n * log(2.0 * HLM_PI * s2);
cleanup:
  return status;
}

/* Rank 0.  The deviance at theta with beta_j = b, sigma and the other
 * fixed effects minimised. */
static hlm_status dev_beta(prof *P, const double *theta, int j, double b,
                           double *dev)
{
  hlm_status status = HLM_OK;
  int p = P->p;
  HLM_TRY(peval(P, theta));
  memset(P->z, 0, (size_t)p * sizeof *P->z);
  P->z[j] = 1.0;
  /* [S_X^-1]_jj = || RX^-1 e_j ||^2 */
  cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, p,
              P->ev.RX, p, P->z, 1);
  double vjj = cblas_ddot(p, P->z, 1, P->z, 1), e = b - P->ev.beta[j];
  double pw = P->ev.pwrss + e * e / vjj;
  *dev = base_of(P) + P->n * (1.0 + log(2.0 * HLM_PI * pw / P->n));
cleanup:
  return status;
}

static double objective(unsigned nx, const double *x, double *grad, void *data)
{
  prof *P = data;
  double dev = HUGE_VAL;
  (void)grad;
  (void)nx;
  if (P->status == HLM_OK && P->par < P->nv) {
    for (int i = 0, k = 0; i < P->nv; i++) {
      P->vp[i] = i == P->par ? P->value : x[k++];
    }
    P->status = dev_vp(P, P->vp, &dev);
  } else if (P->status == HLM_OK) {
    P->status = dev_beta(P, x, P->par - P->nv, P->value, &dev);
  }
  if (P->status != HLM_OK) {
    nlopt_force_stop(P->opt);
    return HUGE_VAL;
  }
  return dev;
}

/* Rank 0.  Bounds and first steps of the free parameters of a refit. */
static void free_bounds(const prof *P, double *lb, double *ub, double *dx)
{
  int nx = 0;
  if (P->par < P->nv) {
    for (int i = 0; i < P->nv; i++) {
      if (i == P->par) {
        continue;
      }
      int cor = P->kind[i] == PAR_COR;
      double sig = P->vhat[P->nv - 1];
      lb[nx] = cor ? -1.0 : (P->kind[i] == PAR_SIGMA ? 1e-8 * sig : 0.0);
      ub[nx] = cor ? 1.0 : HUGE_VAL;
      dx[nx++] = cor ? 0.05 : 0.05 * fmax(fabs(P->warm[i]), 0.1 * sig);
    }
    return;
  }
  for (int r = 0; r < P->d->nterms; r++) {
    const hlm_reterm *rt = &P->d->term[r];
    for (int c = 0, t = rt->theta_off; c < rt->k; c++) {
      for (int a = c; a < rt->k; a++, t++) {
        lb[nx] = a == c ? 0.0 : -HUGE_VAL;
        ub[nx] = HUGE_VAL;
        dx[nx++] = 0.05 * fmax(fabs(P->warm[t]), 0.1);
      }
    }
  }
}

/* Rank 0.  The constrained refit at value: the minimum deviance. */
static hlm_status refit(prof *P, double value, double *dev)
{
  hlm_status status = HLM_OK;
  int vmode = P->par < P->nv, nx = vmode ? P->nv - 1 : P->nt;
  double *x = NULL, *lb = NULL, *ub = NULL, *dx = NULL, fbest = 0.0;
  HLM_ALLOC(x, nx);
  HLM_ALLOC(lb, nx);
  HLM_ALLOC(ub, nx);
  HLM_ALLOC(dx, nx);
  P->value = value;
  for (int i = 0, k = 0; i < (vmode ? P->nv : P->nt); i++) {
    if (!vmode || i != P->par) {
      x[k++] = P->warm[i];
    }
  }
  free_bounds(P, lb, ub, dx);
  for (int i = 0; i < nx; i++) { /* the start must lie within the bounds */
    x[i] = fmin(fmax(x[i], lb[i]), ub[i]);
  }
  P->opt = nlopt_create(NLOPT_LN_BOBYQA, (unsigned)nx);
  HLM_CHECK(P->opt != NULL, HLM_ERR_NOMEM, "cannot create the optimizer");
  nlopt_set_lower_bounds(P->opt, lb);
  nlopt_set_upper_bounds(P->opt, ub);
  nlopt_set_initial_step(P->opt, dx);
  nlopt_set_min_objective(P->opt, objective, P);
  nlopt_set_ftol_abs(P->opt, 1e-12);
  nlopt_set_xtol_rel(P->opt, 1e-10);
  nlopt_set_maxeval(P->opt, 20000);
  int res = (int)nlopt_optimize(P->opt, x, &fbest);
  HLM_TRY(P->status);
  HLM_CHECK(res > 0 || res == NLOPT_ROUNDOFF_LIMITED, HLM_ERR_NUMERIC,
            "profile: the constrained refit failed (NLopt code %d)", res);
  for (int i = 0, k = 0; i < (vmode ? P->nv : P->nt); i++) {
    if (!vmode || i != P->par) {
      P->warm[i] = x[k++];
    }
  }
  *dev = fbest;
cleanup:
  if (P->opt) {
    nlopt_destroy(P->opt);
    P->opt = NULL;
  }
  free(x);
  free(lb);
  free(ub);
  free(dx);
  return status;
}

/* Rank 0.  Start a refit at value from the optimum of the refit nearest
 * to it on the estimate's side (continuation along the profile), or from
 * the ML optimum: never from a point further out, whose optimum may sit
 * on a boundary (an SD of 0 at a correlation of -1) it cannot leave. */
static void warm_start(prof *P, double est, double value)
{
  int best = -1;
  for (int i = 0; i < P->npt; i++) {
    double v = P->pv[i];
    if ((v - est) * (value - est) > 0 && fabs(v - est) < fabs(value - est) &&
        (best < 0 || fabs(v - est) > fabs(P->pv[best] - est))) {
      best = i;
    }
  }
  if (best < 0) {
    memcpy(P->warm, P->par < P->nv ? P->vhat : P->that,
           (size_t)P->nw * sizeof *P->warm);
  } else {
    memcpy(P->warm, &P->px[(size_t)best * P->nw],
           (size_t)P->nw * sizeof *P->warm);
  }
}

/* Rank 0.  zeta at value of the current parameter. */
static hlm_status zeta_at(prof *P, double est, double value, double *zeta,
                          hlm_profile_par *out)
{
  hlm_status status = HLM_OK;
  double dev = 0.0;
  warm_start(P, est, value);
  HLM_TRY(refit(P, value, &dev));
  if (P->npt < MAXPT) {
    P->pv[P->npt] = value;
    memcpy(&P->px[(size_t)P->npt * P->nw], P->warm,
           (size_t)P->nw * sizeof *P->warm);
    P->npt++;
  }
  out->points++;
  double dd = dev - P->dev0;
  *zeta = (value > est   ? 1.0
           : value < est ? -1.0
                         : 0.0) *
          sqrt(dd > 0 ? dd : 0.0);
cleanup:
  return status;
}

/* Rank 0.  Restart the refits from the ML optimum. */
static void warm_reset(prof *P)
{
  P->npt = 0;
  P->nw = P->par < P->nv ? P->nv : P->nt;
}

/* Rank 0.  The root of zeta = target between a (zeta za) and b (zeta zb)
 * by the Illinois method. */
static hlm_status illinois(prof *P, double est, double target, double a,
                           double za, double b, double zb, double *x,
                           hlm_profile_par *out)
{
  hlm_status status = HLM_OK;
  double fa = za - target, fb = zb - target, scale = fabs(b - a);
  int side = 0;
  for (int it = 0; it < 200; it++) {
    double c = (a * fb - b * fa) / (fb - fa), zc = 0.0;
    HLM_TRY(zeta_at(P, est, c, &zc, out));
    double fc = zc - target;
    *x = c;
    if (fabs(fc) < 1e-10 || fabs(b - a) < 1e-13 * scale) {
      goto cleanup;
    }
    if ((fc > 0) == (fb > 0)) {
      b = c;
      fb = fc;
      if (side == -1) {
        fa /= 2;
      }
      side = -1;
    } else {
      a = c;
      fa = fc;
      if (side == 1) {
        fb /= 2;
      }
      side = 1;
    }
  }
  HLM_CHECK(0, HLM_ERR_NUMERIC,
            "profile of %s: the end of the interval was not found in 200 "
            "refits",
            out->name);
cleanup:
  return status;
}

/* Rank 0.  One end (dir -1 or 1) of the interval of the current
 * parameter: the bound when |zeta| stays below zc up to it. */
static hlm_status one_end(prof *P, int dir, double zc, hlm_profile_par *out)
{
  hlm_status status = HLM_OK;
  int kind = P->par < P->nv ? P->kind[P->par] : PAR_FIXED;
  double est = out->estimate, far = 0.0, zf = 0.0, x = est;
  double bound = kind == PAR_COR ? dir : (kind == PAR_SD && dir < 0 ? 0 : NAN);
  double step = kind == PAR_FIXED ? P->sehat[P->par - P->nv]
                                  : 0.5 * fmax(est, 0.2 * P->vhat[P->nv - 1]);
  int *atb = dir < 0 ? &out->lower_bound : &out->upper_bound;
  warm_reset(P);
  if (!isnan(bound)) {
    far = bound;
    if (est != bound) {
      HLM_TRY(zeta_at(P, est, far, &zf, out));
    }
    *atb = est == bound || fabs(zf) < zc;
    x = bound;
  } else {
    far = kind == PAR_SIGMA && dir < 0 ? est / 2 : est + dir * step;
    for (int it = 0;; it++) {
      HLM_TRY(zeta_at(P, est, far, &zf, out));
      if (dir * zf >= zc) {
        break;
      }
      HLM_CHECK(it < 60, HLM_ERR_NUMERIC,
                "profile of %s: zeta stays below %g (the deviance is flat)",
                out->name, zc);
      far = kind == PAR_SIGMA && dir < 0 ? far / 2 : est + 2 * (far - est);
    }
  }
  if (!*atb) {
    HLM_TRY(illinois(P, est, dir * zc, est, 0.0, far, zf, &x, out));
  }
  *(dir < 0 ? &out->lower : &out->upper) = x;
cleanup:
  return status;
}

/* Local.  Names and kinds of the parameters, lme4's order. */
static void describe(prof *P, hlm_profile *pr)
{
  const hlm_design *d = P->d;
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    for (int c = 0, t = rt->theta_off; c < rt->k; c++) {
      for (int a = c; a < rt->k; a++, t++) {
        hlm_profile_par *q = &pr->par[t];
        P->kind[t] = a == c ? PAR_SD : PAR_COR;
        P->term[t] = r;
        P->row[t] = a;
        P->col[t] = c;
        snprintf(q->name, sizeof q->name, ".sig%02d", t + 1);
        if (a == c) {
          snprintf(q->desc, sizeof q->desc, "sd_%s|%s",
                   hlm_design_term_colname(d, r, a), rt->group);
        } else {
          snprintf(q->desc, sizeof q->desc, "cor_%s.%s|%s",
                   hlm_design_term_colname(d, r, a),
                   hlm_design_term_colname(d, r, c), rt->group);
        }
      }
    }
  }
  P->kind[P->nv - 1] = PAR_SIGMA;
  snprintf(pr->par[P->nv - 1].name, sizeof pr->par[0].name, ".sigma");
  snprintf(pr->par[P->nv - 1].desc, sizeof pr->par[0].desc, "sigma");
  for (int j = 0; j < P->p; j++) {
    hlm_profile_par *q = &pr->par[P->nv + j];
    q->fixed = hlm_design_fixed_name(d, j);
    snprintf(q->name, sizeof q->name, "%.15s", q->fixed);
  }
}

static hlm_status prof_alloc(prof *P)
{
  hlm_status status = HLM_OK;
  int kmax = 1, nv = P->nv, nt = P->nt, p = P->p;
  for (int r = 0; r < P->d->nterms; r++) {
    kmax = P->d->term[r].k > kmax ? P->d->term[r].k : kmax;
  }
  HLM_ALLOC(P->buf, nt + 1);
  HLM_ALLOC(P->ev.beta, p);
  HLM_ALLOC(P->ev.RX, (size_t)p * p);
  HLM_ALLOC(P->kind, nv);
  HLM_ALLOC(P->term, nv);
  HLM_ALLOC(P->row, nv);
  HLM_ALLOC(P->col, nv);
  HLM_ALLOC(P->vhat, nv);
  HLM_ALLOC(P->that, nt);
  HLM_ALLOC(P->bhat, p);
  HLM_ALLOC(P->sehat, p);
  HLM_ALLOC(P->warm, nv > nt ? nv : nt);
  HLM_ALLOC(P->pv, MAXPT);
  HLM_ALLOC(P->px, (size_t)MAXPT * (nv > nt ? nv : nt));
  HLM_ALLOC(P->vp, nv);
  HLM_ALLOC(P->theta, nt);
  HLM_ALLOC(P->R, 2 * kmax * kmax);
  HLM_ALLOC(P->z, p);
cleanup:
  return status;
}

static void prof_free(prof *P)
{
  hlm_mme_destroy(&P->m);
  free(P->buf);
  free(P->ev.beta);
  free(P->ev.RX);
  free(P->kind);
  free(P->term);
  free(P->row);
  free(P->col);
  free(P->vhat);
  free(P->that);
  free(P->bhat);
  free(P->sehat);
  free(P->warm);
  free(P->pv);
  free(P->px);
  free(P->vp);
  free(P->theta);
  free(P->R);
  free(P->z);
}

/* Rank 0.  Every interval; the estimates and dev0 are set. */
static hlm_status profile_root(prof *P, hlm_profile *pr, double zc)
{
  hlm_status status = HLM_OK;
  HLM_TRY(dev_vp(P, P->vhat, &P->dev0));
  pr->dev0 = P->dev0;
  for (int i = 0; i < pr->n; i++) {
    hlm_profile_par *q = &pr->par[i];
    P->par = i;
    P->evals = 0;
    q->estimate = i < P->nv ? P->vhat[i] : P->bhat[i - P->nv];
    HLM_TRY(one_end(P, -1, zc, q));
    HLM_TRY(one_end(P, 1, zc, q));
    q->evaluations = P->evals;
  }
cleanup:
  return status;
}

/* Collective.  Rank 0 profiles, the others serve; then every rank gets
 * the intervals. */
static hlm_status drive(prof *P, hlm_profile *pr, double zc)
{
  hlm_status status = HLM_OK, local = HLM_OK;
  int rank = 0;
  HLM_MPI(MPI_Comm_rank(P->comm, &rank));
  if (rank == 0) {
    local = profile_root(P, pr, zc);
    P->buf[0] = CMD_STOP;
    HLM_MPI(MPI_Bcast(P->buf, P->nt + 1, MPI_DOUBLE, 0, P->comm));
  } else {
    local = serve(P);
    /* an evaluation that failed failed everywhere: wait for the stop */
    while (local != HLM_OK && local != HLM_ERR_MPI && P->buf[0] != CMD_STOP) {
      if (serve(P) == HLM_ERR_MPI) {
        break;
      }
    }
  }
  HLM_TRY(hlm_comm_agree(P->comm, local, "profile", NULL));
  HLM_MPI(
      MPI_Bcast(pr->par, (int)(pr->n * sizeof *pr->par), MPI_BYTE, 0, P->comm));
  HLM_MPI(MPI_Bcast(&pr->dev0, 1, MPI_DOUBLE, 0, P->comm));
  for (int j = 0; j < P->p; j++) { /* pointers are per rank */
    pr->par[P->nv + j].fixed = hlm_design_fixed_name(P->d, j);
  }
cleanup:
  return status;
}

/* Collective.  The ML fit of d (f itself when f is an ML fit). */
static hlm_status ml_fit(MPI_Comm comm, const hlm_design *d, const hlm_fit *f,
                         const hlm_fit_options *fo, hlm_fit **ml)
{
  hlm_status status = HLM_OK;
  hlm_fit_options o = *fo;
  *ml = NULL;
  if (!hlm_fit_reml(f)) {
    goto cleanup;
  }
  o.reml = 0;
  o.theta0 = hlm_fit_theta(f);
  o.checkpoint = NULL;
  o.stop_after = 0;
  o.resume = 0;
  HLM_TRY(hlm_fit_run(comm, d, &o, ml));
cleanup:
  return status;
}

hlm_status hlm_profile_run(MPI_Comm comm, const hlm_design *d, const hlm_fit *f,
                           const hlm_fit_options *fo, double level,
                           hlm_profile **out)
{
  hlm_status status = HLM_OK;
  hlm_profile *pr = NULL;
  hlm_fit *ml = NULL;
  prof P = {.comm = comm, .d = d};
  *out = NULL;
  HLM_CHECK(!hlm_design_known_sd(d), HLM_ERR_NOT_IMPLEMENTED,
            "[inference] profile with known residual SDs ([data] known_sd) "
            "is not implemented yet (issue 9)");
  HLM_TRY(ml_fit(comm, d, f, fo, &ml));
  const hlm_fit *m = ml ? ml : f;
  P.nt = hlm_fit_ntheta(m);
  P.nv = P.nt + 1;
  P.p = hlm_fit_nfixed(m);
  P.n = (double)hlm_fit_nobs(m);
  pr = calloc(1, sizeof *pr);
  hlm_status local = pr ? HLM_OK : HLM_ERROR(HLM_ERR_NOMEM, "out of memory");
  if (local == HLM_OK) {
    pr->n = P.nv + P.p;
    pr->level = level;
    pr->par = calloc((size_t)pr->n, sizeof *pr->par);
    local =
        pr->par ? prof_alloc(&P) : HLM_ERROR(HLM_ERR_NOMEM, "out of memory");
  }
  HLM_TRY(hlm_comm_agree(comm, local, "profile set-up", NULL));
  describe(&P, pr);
  memcpy(P.that, hlm_fit_theta(m), (size_t)P.nt * sizeof *P.that);
  memcpy(P.bhat, hlm_fit_fixef(m), (size_t)P.p * sizeof *P.bhat);
  memcpy(P.sehat, hlm_fit_fixef_se(m), (size_t)P.p * sizeof *P.sehat);
  theta_to_vp(&P, P.that, hlm_fit_sigma(m), P.vhat);
  HLM_TRY(hlm_mme_create(comm, d, &P.m));
  HLM_TRY(drive(&P, pr, gsl_cdf_ugaussian_Pinv((1.0 + level) / 2.0)));
  *out = pr;
  pr = NULL;
cleanup:
  prof_free(&P);
  hlm_fit_destroy(&ml);
  hlm_profile_destroy(&pr);
  return status;
}

void hlm_profile_destroy(hlm_profile **p)
{
  if (p == NULL || *p == NULL) {
    return;
  }
  free((*p)->par);
  free(*p);
  *p = NULL;
}

int hlm_profile_count(const hlm_profile *p)
{
  return p->n;
}

const hlm_profile_par *hlm_profile_get(const hlm_profile *p, int i)
{
  return i >= 0 && i < p->n ? &p->par[i] : NULL;
}

double hlm_profile_level(const hlm_profile *p)
{
  return p->level;
}

double hlm_profile_ml_deviance(const hlm_profile *p)
{
  return p->dev0;
}
