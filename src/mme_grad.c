/* mme_grad.c: the analytic gradient of the profiled criterion (mme_grad.h).
 *
 * With Phi = M^-1 (REML) or C^-1 (ML) and dT_i = dT / dtheta_i,
 *   d log det M / dtheta_i = tr(Phi dM_i) = 2 tr(T^-1 dT_i (I - Phi_vv)),
 * since Phi [T'Z'ZT; X'ZT] = I - Phi_.v, and by the envelope theorem
 *   d pwrss / dtheta_i = -2 r' Z dT_i v-hat = -2 tr(T^-1 dT_i v v'),
 * since T'Z'r = v-hat at the penalized least-squares solution.  With the
 * profiled sigma2 = pwrss / df (df = n - p or n; with known SDs the
 * criterion adds pwrss itself, so sigma2 = 1), and dT_i = E_ab in every
 * level's block of term r,
 *   dcrit / dL_ab = 2 [L^-T sum_l (I - Phi_ll - v_l v_l' / sigma2)]_ab.
 * Phi's diagonal blocks come per cluster from C_jj^-1 (dense inverse or
 * the selected inverse of the tree) plus the correction through the
 * global unknowns, C_jj^-1 C_jg Sg C_gj C_jj^-1 (Sg = S^-1 for REML,
 * S_vv^-1 for ML); the global terms' blocks are Sg's. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddsum.h"
#include "mme_dist.h"
#include "mme_grad.h"
#include "smallblas.h"

/* *out := S^-1 (REML) or S_vv^-1 in the leading block of a G x G zero
 * matrix (ML), both triangles; NULL for ML without global terms. */
static hlm_status global_sinv(hlm_mme *m, int reml, double **out)
{
  hlm_status status = HLM_OK;
  int G = m->G, n = reml ? G : (int)m->qg;
  double *Sg = NULL;
  *out = NULL;
  if (n == 0) {
    return HLM_OK;
  }
  if (m->distributed) { /* collective; *out: the clusters' blocks, not owned */
    HLM_TRY(hlm_mme_dist_select(m, n));
    *out = m->dist->sel;
    return HLM_OK;
  }
  HLM_ALLOC(Sg, (size_t)G * G);
  for (int c = 0; c < n; c++) {
    for (int a = c; a < n; a++) {
      Sg[a + (size_t)G * c] = m->S[a + (size_t)G * c];
    }
  }
  int info = hlm_dpotri(LAPACK_COL_MAJOR, 'L', n, Sg, G);
  HLM_LAPACK_CHECK(info, "dpotri", "inverting the global system");
  for (int c = 0; c < n; c++) {
    for (int a = c + 1; a < n; a++) {
      Sg[c + (size_t)G * a] = Sg[a + (size_t)G * c];
    }
  }
  *out = Sg;
  Sg = NULL;
cleanup:
  free(Sg);
  return status;
}

/* Offsets of the terms' k x k blocks in A; returns their total. */
static size_t a_offsets(const hlm_design *d, size_t *off)
{
  size_t o = 0;
  for (int r = 0; r < d->nterms; r++) {
    off[r] = o;
    o += (size_t)d->term[r].k * d->term[r].k;
  }
  return o;
}

/* acc (double-double) += this rank's clusters' I - Phi_ll - v v' / s2. */
static hlm_status local_sums(hlm_mme *m, const double *theta, const double *Sg,
                             double s2, const size_t *off, double *acc)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = m->d;
  int kw = 1;
  double *v = NULL, *phi = NULL;
  for (int r = 0; r < d->nterms; r++) {
    kw = d->term[r].k > kw ? d->term[r].k : kw;
  }
  HLM_ALLOC(v, m->qmax);
  HLM_ALLOC(phi, (size_t)m->qmax * kw);
  for (int64_t j = 0; j < m->ncl; j++) {
    const hlm_dcluster *c = &d->cl[j];
    HLM_TRY(hlm_mme_cluster_phi(m, j, theta, Sg, kw, v, phi));
    for (int r = 0; r < d->nterms; r++) {
      int k = d->term[r].k;
      for (int l = 0; l < c->nlev[r]; l++) {
        int o = c->zoff[r] + l * k;
        for (int e = 0; e < k; e++) {
          for (int a = 0; a < k; a++) {
            double x = (a == e) - phi[(size_t)(o + a) * kw + e] -
                       v[o + a] * v[o + e] / s2;
            x *= d->cw != NULL ? d->cw[j] : 1.0; /* survey (survey.c) */
            hlm_dd_add(&acc[2 * (off[r] + a + (size_t)k * e)], x);
          }
        }
      }
    }
  }
cleanup:
  free(v);
  free(phi);
  return status;
}

/* A += the global terms' sum_l I - Phi_ll - v v' / s2 (replicated). */
static void global_sums(const hlm_mme *m, const double *Sg, double s2,
                        const size_t *off, double *A)
{
  const hlm_design *d = m->d;
  size_t G = (size_t)m->G;
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    int k = rt->k;
    for (int64_t l = 0; rt->global && l < rt->nlevels; l++) {
      int64_t o = rt->gfirst + l * k;
      for (int e = 0; e < k; e++) {
        for (int a = 0; a < k; a++) {
          double sg = m->distributed
                          ? m->dist->seld[(size_t)(o + a) * m->dist->kw + e]
                          : Sg[(o + a) + G * (o + e)];
          A[off[r] + a + (size_t)k * e] +=
              (a == e) - sg - m->g[o + a] * m->g[o + e] / s2;
        }
      }
    }
  }
}

/* grad (term r's entries) := lower triangle of 2 L^-T A_r. */
static void term_gradient(const hlm_reterm *rt, const double *theta,
                          const double *Ar, double *grad, int *ok)
{
  int k = rt->k, t = rt->theta_off, singular = 0;
  double L[64 * 64], X[64 * 64];
  hlm_term_factor(rt, theta, L);
  for (int a = 0; a < k; a++) {
    singular |= !(fabs(L[a + k * a]) > 0.0); /* < 0 only in differences */
  }
  if (singular) {
    /* k = 1: the criterion is even in theta, so its derivative at 0 is 0 */
    for (int e = 0; e < rt->ntheta; e++) {
      grad[t + e] = k == 1 ? 0.0 : NAN;
    }
    *ok &= k == 1;
    return;
  }
  memcpy(X, Ar, (size_t)k * k * sizeof *X);
  hlm_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, k,
            k, 1.0, L, k, X, k);
  for (int col = 0; col < k; col++) {
    for (int row = col; row < k; row++) {
      grad[t++] = 2.0 * X[row + k * col];
    }
  }
}

hlm_status hlm_mme_gradient(hlm_mme *m, const double *theta, int reml,
                            const hlm_mme_eval *ev, double *grad, double *A,
                            int *ok)
{
  double n = hlm_design_ncrit(m->d), df = reml ? n - m->p : n;
  double s2 = m->d->known_sd ? 1.0 : ev->pwrss / df;
  return hlm_mme_gradient_s2(m, theta, reml, s2, grad, A, ok);
}

hlm_status hlm_mme_gradient_s2(hlm_mme *m, const double *theta, int reml,
                               double s2, double *grad, double *A, int *ok)
{
  hlm_status status = HLM_OK, local = HLM_OK;
  const hlm_design *d = m->d;
  double *Sg = NULL, *acc = NULL, *Aw = NULL;
  size_t *off = NULL, nA = 0;
  *ok = 1;
  HLM_ALLOC(off, d->nterms > 0 ? d->nterms : 1);
  nA = a_offsets(d, off);
  HLM_ALLOC(acc, 2 * (nA + 1));
  HLM_ALLOC(Aw, nA > 0 ? nA : 1);
  local = global_sinv(m, reml, &Sg);
  if (local == HLM_OK) {
    local = local_sums(m, theta, Sg, s2, off, acc);
  }
  acc[2 * nA] = local != HLM_OK;
  HLM_TRY(hlm_dd_allreduce(m->comm, acc, (int)nA + 1));
  HLM_TRY(local);
  HLM_CHECK(acc[2 * nA] == 0, HLM_ERR_OTHER_RANK,
            "another rank failed in the gradient at this theta");
  for (size_t i = 0; i < nA; i++) {
    Aw[i] = hlm_dd_value(&acc[2 * i]);
  }
  if (m->qg > 0) {
    global_sums(m, Sg, s2, off, Aw);
  }
  for (int r = 0; r < d->nterms; r++) {
    term_gradient(&d->term[r], theta, Aw + off[r], grad, ok);
  }
  if (A != NULL) {
    memcpy(A, Aw, nA * sizeof *A);
  }
cleanup:
  if (!m->distributed) {
    free(Sg);
  }
  free(acc);
  free(Aw);
  free(off);
  return status;
}
