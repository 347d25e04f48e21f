/* fit_ranef.c: conditional modes and conditional variances of the random
 * effects, computed cluster by cluster where the clusters live and gathered
 * to rank 0 in global cluster order. */
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"
#include "hlm/comm.h"

/* This rank's part of one term: 2k doubles per level (modes, then
 * variances) and the labels, NUL-terminated, one after another. */
typedef hlm_ranef_part term_part;

/* Room for n more bytes of labels. */
static hlm_status reserve_labels(term_part *tp, size_t n)
{
  hlm_status status = HLM_OK;
  if (tp->nlab + (int64_t)n > tp->caplab) {
    int64_t cap = 2 * (tp->caplab + (int64_t)n);
    char *grown = realloc(tp->lab, (size_t)cap);
    HLM_CHECK(grown != NULL, HLM_ERR_NOMEM, "out of memory for labels");
    tp->lab = grown;
    tp->caplab = cap;
  }
cleanup:
  return status;
}

static hlm_status append_label(term_part *tp, const hlm_design *d, int r,
                               const hlm_dcluster *c, int l)
{
  hlm_status status = HLM_OK;
  size_t n = hlm_design_level_label(d, r, c, l, NULL, 0) + 1;
  HLM_TRY(reserve_labels(tp, n));
  hlm_design_level_label(d, r, c, l, tp->lab + tp->nlab, n);
  tp->nlab += (int64_t)n;
cleanup:
  return status;
}

static hlm_status append_global_label(term_part *tp, const hlm_design *d, int r,
                                      int64_t l)
{
  hlm_status status = HLM_OK;
  size_t n = hlm_design_global_label(d, r, l, NULL, 0) + 1;
  HLM_TRY(reserve_labels(tp, n));
  hlm_design_global_label(d, r, l, tp->lab + tp->nlab, n);
  tp->nlab += (int64_t)n;
cleanup:
  return status;
}

/* The global terms' modes and variances (every rank computes S_vv^-1,
 * which the clusters' conditional variances need; rank 0 keeps the global
 * terms' levels, in the ascending order of their keys). */
static hlm_status global_parts(hlm_mme *m, const hlm_fit *f, term_part *tp)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = m->d;
  double *u = NULL, *cv = NULL, s2 = f->sigma * f->sigma;
  int rank = 0;
  if (d->qg == 0) {
    return HLM_OK;
  }
  HLM_MPI(MPI_Comm_rank(m->comm, &rank));
  HLM_ALLOC(u, d->qg);
  HLM_ALLOC(cv, d->qg);
  HLM_TRY(hlm_mme_global_ranef(m, f->theta, s2, u, cv));
  for (int r = 0; r < d->nterms && rank == 0; r++) {
    const hlm_reterm *rt = &d->term[r];
    int k = rt->k;
    for (int64_t l = 0; rt->global && l < rt->nlevels; l++) {
      double *v = &tp[r].val[tp[r].nlev++ * 2 * k];
      memcpy(v, &u[rt->gfirst + l * k], (size_t)k * sizeof *v);
      memcpy(v + k, &cv[rt->gfirst + l * k], (size_t)k * sizeof *v);
      HLM_TRY(append_global_label(&tp[r], d, r, l));
    }
  }
cleanup:
  free(u);
  free(cv);
  return status;
}

/* Modes and variances of every local cluster, split by term. */
static hlm_status local_parts(hlm_mme *m, const hlm_fit *f, term_part *tp)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = m->d;
  double *u = NULL, *cv = NULL, s2 = f->sigma * f->sigma;
  HLM_ALLOC(u, m->qmax);
  HLM_ALLOC(cv, m->qmax);
  for (int r = 0; r < d->nterms; r++) {
    for (int64_t j = 0; j < d->ncl; j++) {
      tp[r].nlev += d->cl[j].nlev[r];
    }
    tp[r].nlev += d->term[r].global ? d->term[r].nlevels : 0;
    HLM_ALLOC(tp[r].val, tp[r].nlev * 2 * d->term[r].k);
    tp[r].nlev = 0;
  }
  HLM_TRY(global_parts(m, f, tp));
  for (int64_t j = 0; j < d->ncl; j++) {
    const hlm_dcluster *c = &d->cl[j];
    HLM_TRY(hlm_mme_cluster_ranef(m, j, f->theta, f->beta, s2, u, cv));
    for (int r = 0; r < d->nterms; r++) {
      int k = d->term[r].k;
      for (int l = 0; l < c->nlev[r]; l++) {
        double *v = &tp[r].val[tp[r].nlev++ * 2 * k];
        memcpy(v, &u[c->zoff[r] + l * k], (size_t)k * sizeof *v);
        memcpy(v + k, &cv[c->zoff[r] + l * k], (size_t)k * sizeof *v);
        HLM_TRY(append_label(&tp[r], d, r, c, l));
      }
    }
  }
cleanup:
  free(u);
  free(cv);
  return status;
}

/* Collective.  Gatherv of n items of type t to rank 0; *all allocated on
 * rank 0 (total items in *total). */
static hlm_status gather(MPI_Comm comm, const void *mine, int64_t n,
                         MPI_Datatype type, size_t esize, void **all,
                         int64_t *total)
{
  hlm_status status = HLM_OK;
  int rank = 0, size = 1, cnt = 0;
  int *counts = NULL, *displs = NULL;
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  HLM_MPI(MPI_Comm_size(comm, &size));
  /* local checks, agreed before each collective so no rank is left in it */
  status = hlm_to_int(n, "items gathered from a rank", &cnt);
  counts = calloc((size_t)size, sizeof *counts);
  displs = calloc((size_t)size, sizeof *displs);
  if (status == HLM_OK && (counts == NULL || displs == NULL)) {
    status = HLM_ERROR(HLM_ERR_NOMEM, "out of memory gathering results");
  }
  HLM_TRY(hlm_comm_agree(comm, status, "gathering the random effects", NULL));
  HLM_MPI(MPI_Gather(&cnt, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
  *total = 0;
  for (int r = 0; r < size; r++) {
    displs[r] = (int)*total;
    *total += counts[r];
  }
  if (rank == 0 && *total > INT32_MAX) {
    status = HLM_ERROR(HLM_ERR_NOT_IMPLEMENTED,
                       "too many random effects to gather on rank 0");
  } else {
    *all = calloc(rank == 0 && *total > 0 ? (size_t)*total : 1, esize);
    if (*all == NULL) {
      status = HLM_ERROR(HLM_ERR_NOMEM, "out of memory gathering results");
    }
  }
  HLM_TRY(hlm_comm_agree(comm, status, "gathering the random effects", NULL));
  HLM_MPI(MPI_Gatherv(mine, cnt, type, *all, counts, displs, type, 0, comm));
cleanup:
  free(counts);
  free(displs);
  return status;
}

/* Rank 0: unpack one term's gathered values and labels. */
static hlm_status unpack_term(hlm_fit_term *t, const double *val, int64_t nlev,
                              const char *lab)
{
  hlm_status status = HLM_OK;
  int k = t->k;
  HLM_ALLOC(t->label, nlev);
  HLM_ALLOC(t->values, nlev * k);
  HLM_ALLOC(t->condvar, nlev * k);
  t->nlevels = nlev;
  for (int64_t l = 0; l < nlev; l++) {
    memcpy(&t->values[l * k], &val[l * 2 * k], (size_t)k * sizeof *val);
    memcpy(&t->condvar[l * k], &val[l * 2 * k + k], (size_t)k * sizeof *val);
    HLM_TRY(hlm_fit_strdup(lab, &t->label[l]));
    lab += strlen(lab) + 1;
  }
cleanup:
  return status;
}

static hlm_status gather_term(MPI_Comm comm, const term_part *tp, int k,
                              hlm_fit_term *t)
{
  hlm_status status = HLM_OK;
  void *val = NULL, *lab = NULL;
  int64_t nval = 0, nlab = 0;
  int rank = 0;
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  HLM_TRY(gather(comm, tp->val, tp->nlev * 2 * k, MPI_DOUBLE, sizeof(double),
                 &val, &nval));
  HLM_TRY(
      gather(comm, tp->lab ? tp->lab : "", tp->nlab, MPI_CHAR, 1, &lab, &nlab));
  if (rank == 0) {
    HLM_TRY(unpack_term(t, val, nval / (2 * k), lab));
  }
cleanup:
  free(val);
  free(lab);
  return status;
}

hlm_status hlm_fit_gather_ranef(MPI_Comm comm, hlm_mme *m, hlm_fit *f)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = m->d;
  term_part *tp = NULL;
  HLM_ALLOC(tp, d->nterms);
  HLM_TRY(hlm_comm_agree(comm, local_parts(m, f, tp), "random effects", NULL));
  for (int r = 0; r < d->nterms; r++) {
    HLM_TRY(hlm_comm_agree(comm,
                           gather_term(comm, &tp[r], d->term[r].k, &f->term[r]),
                           "gathering random effects", NULL));
  }
cleanup:
  hlm_fit_ranef_parts_free(&tp, d->nterms);
  return status;
}

void hlm_fit_ranef_parts_free(hlm_ranef_part **parts, int nterms)
{
  if (parts == NULL || *parts == NULL) {
    return;
  }
  for (int r = 0; r < nterms; r++) {
    free((*parts)[r].val);
    free((*parts)[r].lab);
  }
  free(*parts);
  *parts = NULL;
}

hlm_status hlm_fit_local_ranef(MPI_Comm comm, const hlm_design *d,
                               const hlm_fit *f, hlm_ranef_part **out)
{
  hlm_status status = HLM_OK;
  hlm_mme *m = NULL;
  hlm_mme_eval ev = {0};
  term_part *tp = NULL;
  *out = NULL;
  HLM_ALLOC(ev.beta, d->p);
  HLM_ALLOC(ev.RX, (size_t)d->p * d->p);
  HLM_ALLOC(tp, d->nterms);
  HLM_TRY(hlm_mme_create(comm, d, &m));
  HLM_TRY(hlm_mme_evaluate(m, f->theta, f->reml, &ev));
  HLM_TRY(hlm_comm_agree(comm, local_parts(m, f, tp), "random effects", NULL));
  *out = tp;
  tp = NULL;
cleanup:
  hlm_fit_ranef_parts_free(&tp, d->nterms);
  hlm_mme_destroy(&m);
  free(ev.beta);
  free(ev.RX);
  return status;
}
