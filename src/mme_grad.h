/* mme_grad.h: the analytic gradient of lme4's profiled criterion with
 * respect to theta (issue 7; docs/estimation.md, "The gradient").
 *
 * With u = T v, M = [T'Z'ZT + I, T'Z'X; X'ZT, X'X] (v including the global
 * random effects) and C its v block, Phi = M^-1 (REML) or C^-1 (ML) in v
 * scale, v-hat the conditional modes in v scale and sigma2 the profiled
 * residual variance (1 with known SDs), the gradient with respect to the
 * entries of term r's lower-triangular factor L_r is the lower triangle of
 * 2 L_r^-T A_r, where A_r = sum over the levels l of term r of
 * I - Phi_ll - v_l v_l' / sigma2 (k x k).  Not installed. */
#ifndef HLM_MME_GRAD_H
#define HLM_MME_GRAD_H

#include "mme_internal.h"

/* Local (mme.c).  For cluster j at the theta of the last hlm_mme_evaluate:
 * v (q_j values, Z_j's column order) the conditional modes in v scale, and
 * for each Z_j column c = zoff[r] + l k + a of level l of local term r,
 * phi[c * kw + e] = Phi_{(l,a),(l,e)} for e < k: the k x k diagonal
 * blocks of Phi = C_jj^-1 + K Sg K' with K = C_jj^-1 C_jg (rows of the
 * global unknowns g = (v_global, beta)); Sg (G x G, both triangles) is
 * S^-1 for REML, S_vv^-1 padded with zeros for ML, or NULL (ML without
 * global terms: Phi = C_jj^-1); with S distributed (issue 15) it is
 * m->dist->sel instead, each cluster's h_j x h_j block of that matrix
 * (hlm_mme_dist_select).  kw >= the largest k. */
hlm_status hlm_mme_cluster_phi(hlm_mme *m, int64_t j, const double *theta,
                               const double *Sg, int kw, double *v,
                               double *phi);

/* Collective on m->comm, after hlm_mme_evaluate(m, theta, reml, ev) at the
 * same theta.  grad (ntheta, the same on every rank) := the gradient of
 * ev->crit; A (sum_r k_r^2 values, term r's k x k matrix at the offset
 * sum_{s<r} k_s^2, column-major) := A_r, when A is not NULL (the EM step
 * uses it).  The gradient needs L_r^-1: for a term whose factor has a
 * zero diagonal it is 0 when k = 1 (the criterion is even in that theta)
 * and not available when k > 1: *ok is then 0 and those entries are NAN.
 * The sums over clusters are double-double, so the result does not
 * depend on the number of ranks. */
hlm_status hlm_mme_gradient(hlm_mme *m, const double *theta, int reml,
                            const hlm_mme_eval *ev, double *grad, double *A,
                            int *ok);

/* As hlm_mme_gradient, with the residual variance s2 given instead of
 * profiled: the gradient in theta of the unprofiled deviance
 * ldL2 + pwrss / s2 (+ ldRX2 for REML) at sigma^2 = s2 (lmerTest's
 * devfun_vp; infer_deriv.c).  Collective, after hlm_mme_evaluate at the
 * same theta. */
hlm_status hlm_mme_gradient_s2(hlm_mme *m, const double *theta, int reml,
                               double s2, double *grad, double *A, int *ok);

#endif /* HLM_MME_GRAD_H */
