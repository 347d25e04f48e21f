/* design.c: the design of a mixed model, cluster by cluster (hlm/design.h).
 * Model-matrix coding lives in design_model.c, grouping factors in
 * design_groups.c. */
#include <cblas.h>
#include <inttypes.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddsum.h"
#include "design_internal.h"
#include "hlm/comm.h"

hlm_status hlm_design_prepare_table(MPI_Comm comm, const hlm_formula *f,
                                    hlm_table *t)
{
  hlm_status status = HLM_OK;
  for (int i = 0; i < hlm_formula_var_count(f); i++) {
    const hlm_formula_var *v = hlm_formula_variable(f, i);
    const hlm_column *c = hlm_table_find(t, v->name);
    if (!(v->roles & HLM_FORMULA_ROLE_GROUPING)) {
      continue;
    }
    if (c == NULL) {
      status = hlm_formula_error_at(f, v->offset, HLM_ERR_DATA,
                                    "the data has no column '%s'", v->name);
      goto cleanup;
    }
    if (c->type == HLM_COL_NUMERIC) {
      status = hlm_formula_error_at(
          f, v->offset, HLM_ERR_DATA,
          "grouping variable '%s' is numeric: a grouping factor must be a "
          "categorical or integer column",
          v->name);
      goto cleanup;
    }
    if (c->type == HLM_COL_INTEGER) {
      HLM_TRY(hlm_table_make_factor(comm, t, v->name));
    }
  }
cleanup:
  return status;
}

/* Local.  Every variable exists, with a usable type, and no used column has
 * a missing value on this rank. */
static hlm_status check_columns(const hlm_formula *f, const hlm_table *t)
{
  hlm_status status = HLM_OK;
  for (int i = 0; i < hlm_formula_var_count(f); i++) {
    const hlm_formula_var *v = hlm_formula_variable(f, i);
    const hlm_column *c = hlm_table_find(t, v->name);
    if (v->derived != HLM_FORMULA_COLUMN ||
        v->roles == HLM_FORMULA_ROLE_SOURCE) {
      continue; /* checked by hlm_design_derived, naming the term */
    }
    if (c == NULL) {
      status = hlm_formula_error_at(f, v->offset, HLM_ERR_DATA,
                                    "the data has no column '%s'", v->name);
      goto cleanup;
    }
    if ((v->roles & HLM_FORMULA_ROLE_GROUPING) &&
        c->type != HLM_COL_CATEGORICAL) {
      status = hlm_formula_error_at(
          f, v->offset, HLM_ERR_DATA,
          "grouping variable '%s' is %s, not categorical (call "
          "hlm_design_prepare_table first)",
          v->name, hlm_coltype_name(c->type));
      goto cleanup;
    }
    if ((v->roles & HLM_FORMULA_ROLE_RESPONSE) &&
        c->type == HLM_COL_CATEGORICAL) {
      status =
          hlm_formula_error_at(f, v->offset, HLM_ERR_DATA,
                               "the response '%s' is categorical", v->name);
      goto cleanup;
    }
    for (int64_t r = 0; r < hlm_table_nrows(t); r++) {
      HLM_CHECK(!hlm_column_is_missing(c, r), HLM_ERR_DATA,
                "column '%s' has a missing value (drop missing rows first)",
                v->name);
    }
  }
cleanup:
  return status;
}

/* Fill X, y and the Z values of every row. */
static hlm_status fill_rows(const hlm_table *t, hlm_design *d)
{
  hlm_status status = HLM_OK;
  const hlm_column *y = hlm_table_find(t, d->response);
  HLM_ALLOC(d->X, d->n * d->p);
  HLM_ALLOC(d->y, d->n);
  HLM_ALLOC(d->zval, d->n * d->zwidth);
  for (int64_t i = 0; i < d->n; i++) {
    hlm_mm_row(&d->xmm, t, i, &d->X[i * d->p]);
    d->y[i] = y->type == HLM_COL_NUMERIC ? y->num[i] : (double)y->ival[i];
    int off = 0;
    for (int r = 0; r < d->nterms; r++) {
      hlm_mm_row(&d->term[r].mm, t, i, &d->zval[i * d->zwidth + off]);
      off += d->term[r].k;
    }
  }
cleanup:
  return status;
}

/* Collective.  X'X over all ranks, scaled to unit diagonal; a column whose
 * part orthogonal to the preceding kept columns is below 1e-7 of its norm
 * (the tolerance of R's lm QR) is dependent.  Names the dependent
 * columns. */
static hlm_status check_rank(MPI_Comm comm, const hlm_design *d)
{
  hlm_status status = HLM_OK;
  int p = d->p, ndep = 0;
  double *A = NULL;
  int *dep = NULL;
  char msg[1024] = "";
  HLM_ALLOC(A, (size_t)p * p);
  HLM_ALLOC(dep, p);
  /* A[a * p + b], b <= a, += sum_i x_ia x_ib: X (row-major n x p) is the
   * column-major p x n matrix whose A A' this is (its upper triangle) */
  for (int64_t i0 = 0; i0 < d->n; i0 += (int64_t)1 << 20) {
    int64_t nb = d->n - i0 < ((int64_t)1 << 20) ? d->n - i0 : (int64_t)1 << 20;
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, p, (int)nb, 1.0,
                &d->X[i0 * p], p, 1.0, A, p);
  }
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, A, p * p, MPI_DOUBLE, MPI_SUM, comm));
  /* Cholesky in place (lower, row-major), skipping dependent columns */
  for (int k = 0; k < p; k++) {
    double norm = A[k * p + k], v = norm;
    for (int m = 0; m < k; m++) {
      v -= dep[m] ? 0 : A[k * p + m] * A[k * p + m];
    }
    dep[k] = !(norm > 0) || v <= 1e-14 * norm;
    if (dep[k]) {
      ndep++;
      size_t used = strlen(msg);
      snprintf(msg + used, sizeof msg - used, "%s'%s'", used ? ", " : "",
               d->xmm.name[k]);
      continue;
    }
    A[k * p + k] = sqrt(v);
    for (int r = k + 1; r < p; r++) {
      double s = A[r * p + k];
      for (int m = 0; m < k; m++) {
        s -= dep[m] ? 0 : A[r * p + m] * A[k * p + m];
      }
      A[r * p + k] = s / A[k * p + k];
    }
  }
  HLM_CHECK(ndep == 0, HLM_ERR_DATA,
            "the fixed-effect model matrix is rank deficient: column%s %s "
            "%s linear combination%s of the columns before",
            ndep > 1 ? "s" : "", msg, ndep > 1 ? "are" : "is a",
            ndep > 1 ? "s" : "");
cleanup:
  free(A);
  free(dep);
  return status;
}

/* The distinct grouping factors, in term order, with their level counts. */
static hlm_status list_factors(hlm_design *d)
{
  hlm_status status = HLM_OK;
  HLM_ALLOC(d->factor_name, d->nterms);
  HLM_ALLOC(d->factor_nlev, d->nterms);
  for (int r = 0; r < d->nterms; r++) {
    int seen = 0;
    for (int g = 0; g < d->nfactors; g++) {
      seen |= !strcmp(d->factor_name[g], d->term[r].group);
    }
    if (!seen) {
      d->factor_name[d->nfactors] = d->term[r].group;
      d->factor_nlev[d->nfactors++] = d->term[r].nlevels;
    }
  }
cleanup:
  return status;
}

/* Effect columns of every term, offsets of theta and of Z_j's columns. */
static hlm_status term_layout(MPI_Comm comm, const hlm_formula *f,
                              const hlm_table *t, hlm_design *d)
{
  hlm_status status = HLM_OK;
  d->ntheta = 0;
  d->zwidth = 0;
  for (int r = 0; r < d->nterms; r++) {
    hlm_reterm *rt = &d->term[r];
    const hlm_formula_random *fr =
        hlm_formula_random_term(f, rt->formula_index);
    HLM_TRY(hlm_mm_build(comm, f, t, d->dvals, fr->intercept, fr->term,
                         fr->nterms, &rt->mm));
    rt->k = rt->mm.ncols;
    HLM_CHECK(rt->k > 0, HLM_ERR_DATA, "random term for %s has no columns",
              rt->group);
    HLM_CHECK(rt->k <= 64, HLM_ERR_NOT_IMPLEMENTED,
              "random term for %s has %d columns (at most 64 supported)",
              rt->group, rt->k);
    rt->ntheta = rt->k * (rt->k + 1) / 2;
    rt->theta_off = d->ntheta;
    d->ntheta += rt->ntheta;
    d->zwidth += rt->k;
  }
  d->qg = 0;
  for (int r = 0; r < d->nterms; r++) {
    hlm_reterm *rt = &d->term[r];
    rt->gfirst = d->qg;
    d->qg += rt->global ? rt->nlevels * rt->k : 0;
  }
  for (int64_t j = 0; j < d->ncl; j++) {
    hlm_dcluster *c = &d->cl[j];
    c->q = 0;
    for (int r = 0; r < d->nterms; r++) {
      c->zoff[r] = c->q;
      c->q += c->nlev[r] * d->term[r].k;
    }
  }
cleanup:
  return status;
}

static hlm_status design_build(MPI_Comm comm, const hlm_formula *f,
                               const hlm_table *t, const hlm_clusters *cl,
                               const hlm_design_options *o, hlm_design *d)
{
  hlm_status status = HLM_OK;
  const char *resp = hlm_formula_response(f);
  const char *text = hlm_formula_text(f);
  HLM_ALLOC(d->formula, strlen(text) + 1);
  strcpy(d->formula, text);
  HLM_ALLOC(d->response, strlen(resp) + 1);
  strcpy(d->response, resp);
  d->n = hlm_table_nrows(t);
  HLM_MPI(MPI_Allreduce(&d->n, &d->nglobal, 1, MPI_INT64_T, MPI_SUM, comm));
  d->nterms = hlm_formula_random_count(f);
  HLM_CHECK(d->nterms > 0, HLM_ERR_NOT_IMPLEMENTED,
            "the formula has no random term: fit it with lm(), not a mixed "
            "model");
  HLM_ALLOC(d->term, d->nterms);
  int nfixed = hlm_formula_fixed_count(f);
  hlm_formula_term *fixed = NULL;
  HLM_ALLOC(fixed, nfixed);
  for (int j = 0; j < nfixed; j++) {
    fixed[j] = *hlm_formula_fixed_term(f, j);
  }
  d->ndvals = hlm_formula_var_count(f);
  status = hlm_design_derived(comm, f, t, cl, &d->dvals);
  if (status == HLM_OK) {
    status = hlm_mm_build(comm, f, t, d->dvals, hlm_formula_has_intercept(f),
                          fixed, nfixed, &d->xmm);
  }
  free(fixed);
  HLM_TRY(status);
  d->p = d->xmm.ncols;
  HLM_CHECK(d->p > 0, HLM_ERR_NOT_IMPLEMENTED,
            "a model without fixed effects is not supported");
  HLM_TRY(hlm_design_groups(comm, f, t, cl, d));
  HLM_TRY(term_layout(comm, f, t, d));
  HLM_TRY(list_factors(d));
  HLM_TRY(fill_rows(t, d));
  HLM_TRY(hlm_comm_agree(comm, hlm_design_weights(t, o, d), "weights", NULL));
  /* in double-double: the same sum (and optimizer path) at any rank count */
  HLM_TRY(hlm_dd_allreduce(comm, d->sumlogw_dd, 1));
  d->sumlogw = hlm_dd_value(d->sumlogw_dd);
cleanup:
  return status;
}

hlm_status hlm_design_create(MPI_Comm comm, const hlm_formula *f,
                             const hlm_table *t, const hlm_clusters *cl,
                             hlm_design **out)
{
  return hlm_design_create_opt(comm, f, t, cl, NULL, out);
}

/* HLM_DESIGN_SCALAPACK_THRESHOLD, or HLM_SCALAPACK_THRESHOLD from the
 * environment (a testing knob, as HLM_ABSORB). */
static int64_t hlm_design_default_threshold(void)
{
  const char *env = getenv("HLM_SCALAPACK_THRESHOLD");
  char *end = NULL;
  long long v = env != NULL ? strtoll(env, &end, 10) : -1;
  return env != NULL && end != env && *end == '\0' && v >= 0
             ? (int64_t)v
             : HLM_DESIGN_SCALAPACK_THRESHOLD;
}

void hlm_design_set_scalapack_threshold(hlm_design *d, int64_t n)
{
  d->scalapack_threshold = n;
}

int hlm_design_known_sd(const hlm_design *d)
{
  return d->known_sd;
}

hlm_status hlm_design_create_opt(MPI_Comm comm, const hlm_formula *f,
                                 const hlm_table *t, const hlm_clusters *cl,
                                 const hlm_design_options *o, hlm_design **out)
{
  hlm_status status = HLM_OK;
  hlm_design *d = NULL;
  HLM_CHECK(f && t && cl && out, HLM_ERR_INVALID_ARG,
            "hlm_design_create: NULL argument");
  *out = NULL;
  HLM_TRY(hlm_comm_agree(comm, check_columns(f, t), "design", NULL));
  HLM_ALLOC(d, 1);
  d->scalapack_threshold = hlm_design_default_threshold();
  HLM_TRY(
      hlm_comm_agree(comm, design_build(comm, f, t, cl, o, d), "design", NULL));
  HLM_TRY(hlm_comm_agree(comm, check_rank(comm, d), "design", NULL));
  *out = d;
  d = NULL;
cleanup:
  hlm_design_destroy(&d);
  return status;
}

static void reterm_free(hlm_reterm *rt)
{
  for (int g = 0; g < rt->ngvars; g++) {
    for (int32_t l = 0; rt->glevels && rt->glevels[g] && l < rt->gnlevels[g];
         l++) {
      free(rt->glevels[g][l]);
    }
    if (rt->glevels) {
      free(rt->glevels[g]);
    }
  }
  free(rt->glevels);
  free(rt->gnlevels);
  free(rt->gkeys);
  free(rt->group);
  hlm_mm_free(&rt->mm);
}

void hlm_design_destroy(hlm_design **dp)
{
  if (dp == NULL || *dp == NULL) {
    return;
  }
  hlm_design *d = *dp;
  for (int64_t j = 0; d->cl && j < d->ncl; j++) {
    for (int r = 0; d->cl[j].lcodes && r < d->nterms; r++) {
      free(d->cl[j].lcodes[r]);
    }
    free(d->cl[j].lcodes);
    free(d->cl[j].nlev);
    free(d->cl[j].zoff);
  }
  free(d->cl);
  for (int r = 0; d->term && r < d->nterms; r++) {
    reterm_free(&d->term[r]);
  }
  free(d->term);
  hlm_mm_free(&d->xmm);
  free(d->response);
  free(d->formula);
  free(d->X);
  free(d->y);
  free(d->zlev);
  free(d->zval);
  free(d->factor_name);
  free(d->factor_nlev);
  free(d->sqrtw);
  free(d->cw);
  hlm_design_derived_free(&d->dvals, d->ndvals);
  free(d);
  *dp = NULL;
}

int hlm_design_nfixed(const hlm_design *d)
{
  return d->p;
}
const char *hlm_design_formula(const hlm_design *d)
{
  return d->formula;
}
const char *hlm_design_fixed_name(const hlm_design *d, int j)
{
  return j >= 0 && j < d->p ? d->xmm.name[j] : NULL;
}
int hlm_design_nterms(const hlm_design *d)
{
  return d->nterms;
}
int hlm_design_ntheta(const hlm_design *d)
{
  return d->ntheta;
}
const char *hlm_design_term_group(const hlm_design *d, int r)
{
  return r >= 0 && r < d->nterms ? d->term[r].group : NULL;
}
int hlm_design_term_ncols(const hlm_design *d, int r)
{
  return r >= 0 && r < d->nterms ? d->term[r].k : 0;
}
const char *hlm_design_term_colname(const hlm_design *d, int r, int k)
{
  if (r < 0 || r >= d->nterms || k < 0 || k >= d->term[r].k) {
    return NULL;
  }
  return d->term[r].mm.name[k];
}
int64_t hlm_design_term_nlevels(const hlm_design *d, int r)
{
  return r >= 0 && r < d->nterms ? d->term[r].nlevels : 0;
}
int64_t hlm_design_nobs(const hlm_design *d)
{
  return d->nglobal;
}
double hlm_design_ncrit(const hlm_design *d)
{
  return d->survey ? d->nw : (double)d->nglobal;
}
int64_t hlm_design_local_rows(const hlm_design *d)
{
  return d->n;
}
int64_t hlm_design_local_clusters(const hlm_design *d)
{
  return d->ncl;
}
