/* bayes_draw.c: one iteration of the blocked Gibbs sampler (docs/bayes.md).
 *
 * With theta_r = sqrt(tau2_r / sigma2) (scalar terms: T = theta I) and the
 * absorbed system S g = s of mme.c at theta, the global unknowns
 * g = (v_global, beta - b0) given the variances are (B full or diagonal)
 *   g ~ N(S'^-1 s', sigma2 S'^-1),  S' = S + sigma2 diag(0, B^-1),
 *   s' = s + sigma2 diag(0, B^-1) (b - b0)
 * (one Cholesky S' = R R': g = R^-T (R^-1 s' + sigma z)); each cluster's
 * v_j given g is N(C_jj^-1 (r_j - C_jg g), sigma2 C_jj^-1), drawn where
 * the cluster lives (hlm_mme_cluster_draw); u = theta v.  Then
 *   tau2_r | u ~ IG(a + n_r / 2, b + sum u_r^2 / 2)
 *   sigma2 | .. ~ IG(a_e + N / 2, b_e + sum w_i e_i^2 / 2)
 * from sums reduced over ranks in double-double; a term of k > 1
 * correlated effects draws its covariance from its inverse-Wishart full
 * conditional (bayes_iw.c) from the reduced sums of u_l u_l'.  Random numbers:
 * stream 0 for the global block, 1 + the cluster's global position for a
 * cluster, UINT64_MAX for the variances; all at counter (iteration).
 * Half-t group SDs: by parameter expansion (bayes_px.c, the default) or
 * the auxiliary mixture (draw_half_t). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bayes.h"
#include "ddsum.h"
#include "mme_tree.h"
#include "rng.h"

#define STREAM_VARIANCES UINT64_MAX

hlm_status hlm_gibbs_create(MPI_Comm comm, hlm_mme *m,
                            const hlm_bayes_prior *prior, uint64_t seed,
                            hlm_gibbs **out)
{
  hlm_status status = HLM_OK;
  hlm_gibbs *gb = NULL;
  const hlm_design *d = m->d;
  HLM_ALLOC(gb, 1);
  gb->comm = comm;
  gb->m = m;
  gb->d = d;
  gb->prior = prior;
  gb->seed = seed;
  gb->p = m->p;
  gb->G = m->G;
  gb->nt = d->nterms;
  gb->known_sd = d->known_sd;
  size_t G = (size_t)m->G, q = (size_t)m->qmax;
  HLM_ALLOC(gb->theta, d->ntheta);
  HLM_ALLOC(gb->tau2, gb->nt);
  HLM_ALLOC(gb->aux, gb->nt);
  HLM_ALLOC(gb->koff, gb->nt);
  HLM_ALLOC(gb->soff, gb->nt);
  int nk = 0;
  for (int t = 0; t < gb->nt; t++) {
    int k = d->term[t].k;
    gb->koff[t] = nk;
    gb->soff[t] = gb->ns;
    nk += k * k;
    gb->ns += k * (k + 1) / 2;
  }
  HLM_ALLOC(gb->sig, nk);
  /* test hook (docs/bayes.md, "Calibration"): a planted bug */
  const char *bug = getenv("HLM_TEST_PLANT_BUG");
  gb->bug = bug != NULL ? strtod(bug, NULL) : 0.0;
  HLM_ALLOC(gb->S, G * G);
  HLM_ALLOC(gb->g, G);
  HLM_ALLOC(gb->z, G > q ? G : q);
  HLM_ALLOC(gb->ug, m->qg);
  HLM_TRY(hlm_bayes_px_create(gb));
  HLM_ALLOC(gb->acc, 2 * ((size_t)gb->ns + 2 + (size_t)gb->npx));
  HLM_ALLOC(gb->roff, d->ncl);
  int64_t tot = 0;
  for (int64_t j = 0; j < d->ncl; j++) {
    gb->roff[j] = tot;
    tot += d->cl[j].q;
  }
  HLM_ALLOC(gb->ucur, tot);
  HLM_ALLOC(gb->rsum, tot);
  HLM_ALLOC(gb->rsq, tot);
  HLM_ALLOC(gb->gsum, m->qg);
  HLM_ALLOC(gb->gsq, m->qg);
  *out = gb;
  gb = NULL;
cleanup:
  hlm_gibbs_destroy(&gb);
  return status;
}

void hlm_gibbs_destroy(hlm_gibbs **gp)
{
  if (gp == NULL || *gp == NULL) {
    return;
  }
  hlm_gibbs *gb = *gp;
  free(gb->theta);
  free(gb->tau2);
  free(gb->aux);
  free(gb->koff);
  free(gb->soff);
  free(gb->sig);
  free(gb->S);
  free(gb->g);
  free(gb->z);
  free(gb->ucur);
  free(gb->ug);
  free(gb->acc);
  free(gb->roff);
  free(gb->rsum);
  free(gb->rsq);
  free(gb->gsum);
  free(gb->gsq);
  hlm_bayes_px_destroy(gb);
  free(gb);
  *gp = NULL;
}

/* Replicated: g from its full conditional, given m->S and m->g (S, s). */
static hlm_status draw_global(hlm_gibbs *gb, uint64_t chain, uint64_t iter)
{
  hlm_status status = HLM_OK;
  const hlm_mme *m = gb->m;
  int G = gb->G, qg = (int)m->qg;
  double sigma = sqrt(gb->sigma2);
  hlm_rng r;
  memcpy(gb->S, m->S, (size_t)G * G * sizeof *gb->S);
  memcpy(gb->g, m->g, (size_t)G * sizeof *gb->g);
  for (int j = 0; j < gb->p; j++) {
    double dj = gb->prior->mean[j] - m->b0[j];
    for (int i = 0; i < gb->p; i++) {
      double pr = gb->sigma2 * gb->prior->prec[(size_t)j * gb->p + i];
      gb->S[(size_t)(qg + j) * G + qg + i] += pr;
      gb->g[qg + i] += pr * dj;
    }
  }
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', G, gb->S, G);
  HLM_LAPACK_CHECK(info, "dpotrf",
                   "the global system of the Gibbs sampler is not positive "
                   "definite");
  hlm_rng_init(&r, gb->seed, chain, 0, iter);
  cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, G, gb->S,
              G, gb->g, 1);
  for (int i = 0; i < G; i++) {
    gb->g[i] += sigma * hlm_rng_normal(&r);
  }
  cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, G, gb->S, G,
              gb->g, 1);
  /* the global random effects u_g = T_g v_g: theta v (scalar terms), L v_l
   * level by level (k > 1, L lower triangular, hlm_term_factor) */
  for (int r2 = 0; r2 < gb->nt; r2++) {
    const hlm_reterm *rt = &gb->d->term[r2];
    int k = rt->k;
    double L[HLM_BAYES_KMAX * HLM_BAYES_KMAX];
    if (!rt->global) {
      continue;
    }
    hlm_term_factor(rt, gb->theta, L);
    for (int64_t l = 0; l < rt->nlevels; l++) {
      const double *v = &gb->g[rt->gfirst + l * k];
      double *u = &gb->ug[rt->gfirst + l * k];
      for (int a = 0; a < k; a++) {
        u[a] = 0.0;
        for (int e = 0; e <= a; e++) {
          u[a] += L[a + k * e] * v[e];
        }
      }
    }
  }
cleanup:
  return status;
}

/* Sum of w_i e_i^2 over cluster c's rows, with u its local effects. */
static double cluster_rss(hlm_gibbs *gb, const hlm_dcluster *c, const double *u,
                          const double *beta)
{
  const hlm_design *d = gb->d;
  int p = d->p, nt = d->nterms;
  double rss = 0.0;
  for (int64_t i = c->start; i < c->start + c->n; i++) {
    double e = d->y[i] - cblas_ddot(p, &d->X[i * p], 1, beta, 1);
    for (int r = 0, zc = 0; r < nt; zc += d->term[r++].k) {
      const hlm_reterm *rt = &d->term[r];
      int k = rt->k;
      int64_t l = d->zlev[i * nt + r];
      const double *ul =
          rt->global ? &gb->ug[rt->gfirst + l * k] : &u[c->zoff[r] + l * k];
      double zu = cblas_ddot(k, &d->zval[i * d->zwidth + zc], 1, ul, 1);
      e -= zu;
      if (gb->px) {
        gb->crow[r] = zu;
      }
    }
    rss += e * e;
    if (gb->px) {
      hlm_bayes_px_add_row(gb, e);
    }
  }
  return rss;
}

/* Local: every cluster's effects given g (into gb->ucur), their sums of
 * squares by term and the residual sum of squares, into gb->acc. */
static hlm_status draw_clusters(hlm_gibbs *gb, uint64_t chain, uint64_t iter,
                                double *beta)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = gb->d;
  double sigma = sqrt(gb->sigma2);
  hlm_rng r;
  for (int i = 0; i < gb->p; i++) {
    beta[i] = gb->m->b0[i] + gb->g[gb->m->qg + i];
  }
  for (int64_t j = 0; j < d->ncl; j++) {
    const hlm_dcluster *c = &d->cl[j];
    double *u = &gb->ucur[gb->roff[j]];
    hlm_rng_init(&r, gb->seed, chain, 1 + (uint64_t)c->gindex, iter);
    for (int i = 0; i < c->q; i++) {
      gb->z[i] = hlm_rng_normal(&r);
    }
    HLM_TRY(hlm_mme_cluster_draw(gb->m, j, gb->theta, gb->g, sigma, gb->z, u));
    for (int t = 0; t < gb->nt; t++) {
      int k = d->term[t].k;
      for (int l = 0; l < c->nlev[t]; l++) {
        const double *ul = &u[c->zoff[t] + l * k];
        double *a = &gb->acc[2 * gb->soff[t]];
        for (int e = 0; e < k; e++) {
          for (int f = e; f < k; f++, a += 2) {
            hlm_dd_add(a, ul[e] * ul[f]);
          }
        }
      }
    }
    hlm_dd_add(&gb->acc[2 * gb->ns], cluster_rss(gb, c, u, beta));
  }
cleanup:
  return status;
}

/* Replicated: tau_r ~ half-t(nu, A) as the scale mixture of Wand et al.
 * (2011): tau2 | a ~ IG(nu / 2, nu / a), a ~ IG(1 / 2, 1 / A^2).  First a
 * | tau2 ~ IG((nu + 1) / 2, nu / tau2 + 1 / A^2), then tau2 | a, u ~
 * IG((nu + n) / 2, nu / a + ss / 2); a enters no other conditional. */
static void draw_half_t(hlm_gibbs *gb, hlm_rng *r, int t, double ss,
                        int64_t nlev)
{
  const hlm_bayes_prior *pr = gb->prior;
  double nu = pr->sd_df, A2 = pr->sd_scale * pr->sd_scale;
  double shape_a = 0.5 * (nu + 1.0);
  gb->aux[t] = (nu / gb->tau2[t] + 1.0 / A2) / hlm_rng_gamma(r, shape_a);
  gb->tau2[t] = (nu / gb->aux[t] + 0.5 * ss) /
                hlm_rng_gamma(r, 0.5 * (nu + (double)nlev));
}

/* Replicated: Sigma of term t (k > 1) from its inverse-Wishart full
 * conditional IW(nu + m, Psi + sum_l u_l u_l'). */
static hlm_status draw_covariance(hlm_gibbs *gb, hlm_rng *r, int t)
{
  const hlm_reterm *rt = &gb->d->term[t];
  int k = rt->k;
  double Psi[HLM_BAYES_KMAX * HLM_BAYES_KMAX];
  const double *a = &gb->acc[2 * gb->soff[t]];
  hlm_bayes_wishart_psi(gb->prior, k, Psi);
  for (int e = 0; e < k; e++) {
    for (int f = e; f < k; f++, a += 2) {
      double x = hlm_dd_value(a) + Psi[f + k * e];
      /* a global (crossed) term: its replicated effects */
      for (int64_t l = 0; rt->global && l < rt->nlevels; l++) {
        const double *u = &gb->ug[rt->gfirst + l * k];
        x += u[e] * u[f];
      }
      Psi[f + k * e] = Psi[e + k * f] = x;
    }
  }
  double nu = hlm_bayes_wishart_df(gb->prior, k) + (double)rt->nlevels;
  return hlm_bayes_draw_iw(r, k, nu, Psi, &gb->sig[gb->koff[t]]);
}

/* Replicated: sigma2 from the reduced residual sum of squares. */
static void draw_sigma2(hlm_gibbs *gb, hlm_rng *r)
{
  const hlm_bayes_prior *pr = gb->prior;
  double rss = hlm_dd_value(&gb->acc[2 * gb->ns]);
  double shape = pr->rshape + 0.5 * (double)gb->d->nglobal;
  gb->sigma2 = (pr->rscale + 0.5 * rss) / hlm_rng_gamma(r, shape);
}

/* Replicated: the variances from the reduced sums; under parameter
 * expansion the covariances, sigma2, then the scalar terms' xi and seta2
 * (bayes_px.c). */
static hlm_status draw_variances(hlm_gibbs *gb, uint64_t chain, uint64_t iter)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = gb->d;
  const hlm_bayes_prior *pr = gb->prior;
  hlm_rng r;
  hlm_rng_init(&r, gb->seed, chain, STREAM_VARIANCES, iter);
  for (int t = 0; t < gb->nt; t++) {
    const hlm_reterm *rt = &d->term[t];
    if (rt->k > 1) {
      HLM_TRY(draw_covariance(gb, &r, t));
      continue;
    }
    if (gb->px) {
      continue;
    }
    double ss = hlm_dd_value(&gb->acc[2 * gb->soff[t]]);
    for (int64_t l = 0; rt->global && l < rt->nlevels; l++) {
      ss += gb->ug[rt->gfirst + l] * gb->ug[rt->gfirst + l];
    }
    if (pr->sd_family == 0) {
      double shape = pr->vshape + 0.5 * (double)rt->nlevels + gb->bug;
      gb->tau2[t] = (pr->vscale + 0.5 * ss) / hlm_rng_gamma(&r, shape);
    } else {
      draw_half_t(gb, &r, t, ss, rt->nlevels);
    }
  }
  if (!gb->known_sd) {
    draw_sigma2(gb, &r);
  }
  if (gb->px) {
    HLM_TRY(hlm_bayes_px_draw(gb, &r));
  }
cleanup:
  return status;
}

hlm_status hlm_gibbs_set_theta(hlm_gibbs *gb)
{
  hlm_status status = HLM_OK;
  for (int t = 0; t < gb->nt; t++) {
    const hlm_reterm *rt = &gb->d->term[t];
    if (rt->k > 1) {
      HLM_TRY(hlm_bayes_iw_theta(rt->k, &gb->sig[gb->koff[t]], gb->sigma2,
                                 &gb->theta[rt->theta_off]));
    } else {
      gb->theta[rt->theta_off] = sqrt(gb->tau2[t] / gb->sigma2);
    }
  }
cleanup:
  return status;
}

hlm_status hlm_gibbs_step(hlm_gibbs *gb, uint64_t chain, uint64_t iter)
{
  hlm_status status = HLM_OK, local = HLM_OK;
  double *beta = NULL;
  HLM_TRY(hlm_gibbs_set_theta(gb));
  HLM_TRY(hlm_mme_form_system(gb->m, gb->theta));
  HLM_TRY(draw_global(gb, chain, iter));
  memset(gb->acc, 0, 2 * ((size_t)gb->ns + 2 + gb->npx) * sizeof *gb->acc);
  beta = malloc((size_t)gb->p * sizeof *beta);
  local = beta ? draw_clusters(gb, chain, iter, beta)
               : HLM_ERROR(HLM_ERR_NOMEM, "out of memory in the sampler");
  /* the sums and, in the last pair, the ranks that failed: one reduction */
  gb->acc[2 * (gb->ns + 1)] = local != HLM_OK;
  HLM_TRY(hlm_dd_allreduce(gb->comm, gb->acc, gb->ns + 2 + gb->npx));
  HLM_TRY(local);
  HLM_CHECK(hlm_dd_value(&gb->acc[2 * (gb->ns + 1)]) == 0, HLM_ERR_OTHER_RANK,
            "another rank failed to draw its random effects");
  if (!gb->fixed) {
    HLM_TRY(draw_variances(gb, chain, iter));
  }
cleanup:
  free(beta);
  return status;
}

void hlm_gibbs_accumulate(hlm_gibbs *gb)
{
  int64_t tot = gb->d->ncl > 0
                    ? gb->roff[gb->d->ncl - 1] + gb->d->cl[gb->d->ncl - 1].q
                    : 0;
  for (int64_t i = 0; i < tot; i++) {
    gb->rsum[i] += gb->ucur[i];
    gb->rsq[i] += gb->ucur[i] * gb->ucur[i];
  }
  for (int64_t i = 0; i < gb->m->qg; i++) {
    gb->gsum[i] += gb->ug[i];
    gb->gsq[i] += gb->ug[i] * gb->ug[i];
  }
  gb->nsum++;
}
