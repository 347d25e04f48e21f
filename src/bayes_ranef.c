/* bayes_ranef.c: posterior means and SDs of the random effects, from the
 * running sums each rank keeps for its own clusters, gathered to rank 0
 * (global terms first, then the clusters in their global order). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bayes.h"
#include "fit_internal.h"
#include "hlm/comm.h"

/* One rank's entries: (term, effect, mean, sd) quadruples and NUL-separated
 * labels. */
typedef struct re_part {
  int64_t n;
  double *val;
  char *lab;
  size_t nlab, cap;
} re_part;

static hlm_status add_label(re_part *rp, const char *s)
{
  hlm_status status = HLM_OK;
  size_t n = strlen(s) + 1;
  if (rp->nlab + n > rp->cap) {
    size_t cap = 2 * (rp->cap + n);
    char *grown = realloc(rp->lab, cap);
    HLM_CHECK(grown != NULL, HLM_ERR_NOMEM, "out of memory for labels");
    rp->lab = grown;
    rp->cap = cap;
  }
  memcpy(rp->lab + rp->nlab, s, n);
  rp->nlab += n;
cleanup:
  return status;
}

static void add_value(re_part *rp, int t, int a, double sum, double sq,
                      int64_t n)
{
  double mean = sum / (double)n, var = (sq - (double)n * mean * mean);
  var = n > 1 && var > 0 ? var / (double)(n - 1) : 0.0;
  double *v = &rp->val[4 * rp->n++];
  v[0] = t;
  v[1] = a;
  v[2] = mean;
  v[3] = sqrt(var);
}

static hlm_status local_entries(const hlm_gibbs *gb, int rank, re_part *rp)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = gb->d;
  char buf[1024];
  int64_t tot = rank == 0 ? gb->m->qg : 0;
  for (int64_t j = 0; j < d->ncl; j++) {
    tot += d->cl[j].q;
  }
  HLM_ALLOC(rp->val, 4 * tot);
  for (int t = 0; t < d->nterms && rank == 0; t++) {
    const hlm_reterm *rt = &d->term[t];
    for (int64_t l = 0; rt->global && l < rt->nlevels; l++) {
      hlm_design_global_label(d, t, l, buf, sizeof buf);
      for (int a = 0; a < rt->k; a++) {
        int64_t i = rt->gfirst + l * rt->k + a;
        HLM_TRY(add_label(rp, buf));
        add_value(rp, t, a, gb->gsum[i], gb->gsq[i], gb->nsum);
      }
    }
  }
  for (int64_t j = 0; j < d->ncl; j++) {
    const hlm_dcluster *c = &d->cl[j];
    for (int t = 0; t < d->nterms; t++) {
      int k = d->term[t].k;
      for (int l = 0; l < c->nlev[t]; l++) {
        hlm_design_level_label(d, t, c, l, buf, sizeof buf);
        for (int a = 0; a < k; a++) {
          int64_t i = gb->roff[j] + c->zoff[t] + l * k + a;
          HLM_TRY(add_label(rp, buf));
          add_value(rp, t, a, gb->rsum[i], gb->rsq[i], gb->nsum);
        }
      }
    }
  }
cleanup:
  return status;
}

/* Collective: Gatherv of n items to rank 0 (*all allocated everywhere). */
static hlm_status gather(MPI_Comm comm, const void *mine, int64_t n,
                         MPI_Datatype type, size_t esize, void **all,
                         int64_t *total)
{
  hlm_status status = HLM_OK, local = HLM_OK;
  int rank = 0, size = 1, cnt = 0;
  int *counts = NULL, *displs = NULL;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  local = hlm_to_int(n, "random effects gathered from a rank", &cnt);
  counts = calloc((size_t)size, sizeof *counts);
  displs = calloc((size_t)size, sizeof *displs);
  if (local == HLM_OK && (counts == NULL || displs == NULL)) {
    local = HLM_ERROR(HLM_ERR_NOMEM, "out of memory gathering results");
  }
  HLM_TRY(hlm_comm_agree(comm, local, "gathering the random effects", NULL));
  HLM_MPI(MPI_Gather(&cnt, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
  *total = 0;
  for (int r = 0; r < size; r++) {
    displs[r] = (int)*total;
    *total += counts[r];
  }
  local = rank == 0 && *total > INT32_MAX
              ? HLM_ERROR(HLM_ERR_NOT_IMPLEMENTED,
                          "too many random effects to gather on rank 0")
              : HLM_OK;
  *all = calloc(rank == 0 && *total > 0 ? (size_t)*total : 1, esize);
  if (local == HLM_OK && *all == NULL) {
    local = HLM_ERROR(HLM_ERR_NOMEM, "out of memory gathering results");
  }
  HLM_TRY(hlm_comm_agree(comm, local, "gathering the random effects", NULL));
  HLM_MPI(MPI_Gatherv(mine, cnt, type, *all, counts, displs, type, 0, comm));
cleanup:
  free(counts);
  free(displs);
  return status;
}

static hlm_status unpack(const hlm_design *d, const double *val, int64_t n,
                         const char *lab, hlm_bayes *b)
{
  hlm_status status = HLM_OK;
  HLM_ALLOC(b->re_group, n);
  HLM_ALLOC(b->re_label, n);
  HLM_ALLOC(b->re_effect, n);
  HLM_ALLOC(b->re_mean, n);
  HLM_ALLOC(b->re_sd, n);
  b->nre = n;
  for (int64_t i = 0; i < n; i++) {
    const hlm_reterm *rt = &d->term[(int)val[4 * i]];
    HLM_TRY(hlm_fit_strdup(rt->group, &b->re_group[i]));
    HLM_TRY(hlm_fit_strdup(rt->mm.name[(int)val[4 * i + 1]], &b->re_effect[i]));
    HLM_TRY(hlm_fit_strdup(lab, &b->re_label[i]));
    lab += strlen(lab) + 1;
    b->re_mean[i] = val[4 * i + 2];
    b->re_sd[i] = val[4 * i + 3];
  }
cleanup:
  return status;
}

hlm_status hlm_bayes_gather_ranef(MPI_Comm comm, const hlm_gibbs *gb,
                                  hlm_bayes *b)
{
  hlm_status status = HLM_OK;
  re_part rp = {0};
  void *val = NULL, *lab = NULL;
  int64_t nval = 0, nlab = 0;
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  HLM_TRY(hlm_comm_agree(comm, local_entries(gb, rank, &rp),
                         "gathering the random effects", NULL));
  HLM_TRY(
      gather(comm, rp.val, 4 * rp.n, MPI_DOUBLE, sizeof(double), &val, &nval));
  HLM_TRY(gather(comm, rp.lab ? rp.lab : "", (int64_t)rp.nlab, MPI_CHAR, 1,
                 &lab, &nlab));
  status = rank == 0 ? unpack(gb->d, val, nval / 4, lab, b) : HLM_OK;
  HLM_TRY(hlm_comm_agree(comm, status, "gathering the random effects", NULL));
cleanup:
  free(rp.val);
  free(rp.lab);
  free(val);
  free(lab);
  return status;
}
