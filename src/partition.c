/* partition.c: cluster -> rank map balanced by rows, and the row shuffle. */
#include "hlm/partition.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "hlm/comm.h"

/* The global picture of the clusters, identical on every rank. */
typedef struct cluster_map {
  int32_t nlevels;
  int64_t *rows;  /* rows per level code, over all ranks */
  int64_t *first; /* first file row per level code (INT64_MAX if none) */
  int64_t *pos;   /* position of each code in the global order, -1 if empty */
  int *owner;     /* owning rank per code */
  int64_t nclusters, nrows, largest;
} cluster_map;

typedef struct exchange {
  int size, rank;
  int64_t *scount, *rcount; /* rows to / from each rank */
  int64_t *soff, *roff;     /* where each rank's block starts */
  int64_t nsend, nrecv, chunk;
  int64_t rounds;
} exchange;

static void cluster_map_free(cluster_map *m)
{
  free(m->rows);
  free(m->first);
  free(m->pos);
  free(m->owner);
}

static int64_t shuffle_chunk_rows(int size)
{
  const char *env = getenv("HLM_SHUFFLE_CHUNK");
  long long v = env ? atoll(env) : 0;
  if (v > 0) {
    return (int64_t)v;
  }
  int64_t c = ((int64_t)1 << 28) / size;
  return c < ((int64_t)1 << 24) ? (c > 0 ? c : 1) : ((int64_t)1 << 24);
}

/* Rows and first file row of each level on this rank. */
static hlm_status local_counts(const hlm_table *t, const hlm_column *c,
                               cluster_map *m)
{
  hlm_status status = HLM_OK;
  HLM_ALLOC(m->rows, m->nlevels);
  HLM_ALLOC(m->first, m->nlevels);
  for (int32_t k = 0; k < m->nlevels; k++) {
    m->first[k] = INT64_MAX;
  }
  for (int64_t i = 0; i < t->nrows; i++) {
    int32_t k = c->code[i];
    HLM_CHECK(k >= 0 && k < m->nlevels, HLM_ERR_DATA,
              "row %" PRId64 " has no value in the cluster column `%s`",
              t->row_index[i] + 1, c->name);
    m->rows[k]++;
    if (t->row_index[i] < m->first[k]) {
      m->first[k] = t->row_index[i];
    }
  }
cleanup:
  return status;
}

static const int64_t *sort_key;
static int cmp_by_first(const void *a, const void *b)
{
  int64_t x = sort_key[*(const int32_t *)a], y = sort_key[*(const int32_t *)b];
  return (x > y) - (x < y);
}

/* Order the non-empty clusters by first row and deal them to ranks in
 * contiguous runs: a cluster goes to the rank whose share of the rows holds
 * the cluster's middle row. */
static hlm_status assign_owners(cluster_map *m, int size)
{
  hlm_status status = HLM_OK;
  int32_t *order = NULL;
  int64_t n = 0, cum = 0;
  HLM_ALLOC(order, m->nlevels);
  HLM_ALLOC(m->pos, m->nlevels);
  HLM_ALLOC(m->owner, m->nlevels);
  for (int32_t k = 0; k < m->nlevels; k++) {
    m->pos[k] = -1;
    if (m->rows[k] > 0) {
      order[n++] = k;
      m->nrows += m->rows[k];
      m->largest = m->rows[k] > m->largest ? m->rows[k] : m->largest;
    }
  }
  sort_key = m->first;
  qsort(order, (size_t)n, sizeof *order, cmp_by_first);
  for (int64_t j = 0; j < n; j++) {
    int32_t k = order[j];
    double mid = (double)cum + 0.5 * (double)m->rows[k];
    int r = (int)(mid / (double)m->nrows * size);
    m->owner[k] = r < size ? r : size - 1;
    m->pos[k] = j;
    cum += m->rows[k];
  }
  m->nclusters = n;
cleanup:
  free(order);
  return status;
}

static hlm_status build_map(MPI_Comm comm, const hlm_table *t,
                            const hlm_column *c, cluster_map *m)
{
  hlm_status status = HLM_OK;
  int size = 1;
  MPI_Comm_size(comm, &size);
  m->nlevels = c->nlevels;
  status = local_counts(t, c, m);
  HLM_TRY(hlm_comm_agree(comm, status, "partitioning the rows", NULL));
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, m->rows, m->nlevels, MPI_INT64_T, MPI_SUM,
                        comm));
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, m->first, m->nlevels, MPI_INT64_T,
                        MPI_MIN, comm));
  HLM_TRY(assign_owners(m, size));
cleanup:
  return status;
}

static void exchange_free(exchange *x)
{
  free(x->scount);
  free(x->rcount);
  free(x->soff);
  free(x->roff);
}

/* Counts and offsets of the shuffle; the number of rounds is agreed. */
static hlm_status plan_exchange(MPI_Comm comm, const hlm_table *t,
                                const hlm_column *c, const cluster_map *m,
                                exchange *x)
{
  hlm_status status = HLM_OK;
  int64_t most = 0;
  MPI_Comm_size(comm, &x->size);
  MPI_Comm_rank(comm, &x->rank);
  HLM_ALLOC(x->scount, x->size);
  HLM_ALLOC(x->rcount, x->size);
  HLM_ALLOC(x->soff, x->size);
  HLM_ALLOC(x->roff, x->size);
  for (int64_t i = 0; i < t->nrows; i++) {
    x->scount[m->owner[c->code[i]]]++;
  }
  HLM_MPI(
      MPI_Alltoall(x->scount, 1, MPI_INT64_T, x->rcount, 1, MPI_INT64_T, comm));
  for (int r = 0; r < x->size; r++) {
    x->soff[r] = x->nsend;
    x->roff[r] = x->nrecv;
    x->nsend += x->scount[r];
    x->nrecv += x->rcount[r];
    most = x->scount[r] > most ? x->scount[r] : most;
  }
  x->chunk = shuffle_chunk_rows(x->size);
  /* the environment may differ between hosts: use one value everywhere */
  HLM_MPI(
      MPI_Allreduce(MPI_IN_PLACE, &x->chunk, 1, MPI_INT64_T, MPI_MIN, comm));
  x->rounds = (most + x->chunk - 1) / x->chunk;
  HLM_MPI(
      MPI_Allreduce(MPI_IN_PLACE, &x->rounds, 1, MPI_INT64_T, MPI_MAX, comm));
cleanup:
  return status;
}

/* Round k's share of a per-rank block: counts and packed displacements
 * (none for this rank's own block, which is copied directly). */
static hlm_status round_counts(const exchange *x, const int64_t *count,
                               int64_t k, int *cnt, int *disp)
{
  hlm_status status = HLM_OK;
  int64_t sum = 0;
  for (int r = 0; r < x->size; r++) {
    int64_t left = r == x->rank ? 0 : count[r] - k * x->chunk;
    left = left < 0 ? 0 : (left > x->chunk ? x->chunk : left);
    HLM_TRY(hlm_to_int(left, "rows in one shuffle message", &cnt[r]));
    HLM_TRY(hlm_to_int(sum, "rows in one shuffle round", &disp[r]));
    sum += left;
  }
cleanup:
  return status;
}

/* Copy each rank's round-k piece between the full buffer and the packed one
 * (to_packed: full -> packed). */
static void move_pieces(const exchange *x, const int64_t *off, int64_t k,
                        const int *cnt, const int *disp, char *full,
                        char *packed, size_t esize, int to_packed)
{
  for (int r = 0; r < x->size; r++) {
    char *a = full + (size_t)(off[r] + k * x->chunk) * esize;
    char *b = packed + (size_t)disp[r] * esize;
    if (cnt[r] > 0) {
      memcpy(to_packed ? b : a, to_packed ? a : b, (size_t)cnt[r] * esize);
    }
  }
}

/* Alltoallv of one array (rows packed by destination) in rounds. */
static hlm_status exchange_array(MPI_Comm comm, const exchange *x,
                                 const void *send, void *recv, size_t esize,
                                 MPI_Datatype type)
{
  hlm_status status = HLM_OK;
  int *sc = NULL, *sd = NULL, *rc = NULL, *rd = NULL;
  char *ps = NULL, *pr = NULL;
  int64_t cap = x->chunk * x->size;
  HLM_ALLOC(sc, x->size);
  HLM_ALLOC(sd, x->size);
  HLM_ALLOC(rc, x->size);
  HLM_ALLOC(rd, x->size);
  int64_t ns = x->nsend - x->scount[x->rank],
          nr = x->nrecv - x->rcount[x->rank];
  HLM_ALLOC(ps, (size_t)(ns < cap ? ns : cap) * esize);
  HLM_ALLOC(pr, (size_t)(nr < cap ? nr : cap) * esize);
  /* the rows a rank keeps never pass through MPI or the packed buffers */
  memcpy((char *)recv + (size_t)x->roff[x->rank] * esize,
         (const char *)send + (size_t)x->soff[x->rank] * esize,
         (size_t)x->scount[x->rank] * esize);
  for (int64_t k = 0; k < x->rounds; k++) {
    HLM_TRY(round_counts(x, x->scount, k, sc, sd));
    HLM_TRY(round_counts(x, x->rcount, k, rc, rd));
    move_pieces(x, x->soff, k, sc, sd, (char *)send, ps, esize, 1);
    HLM_MPI(MPI_Alltoallv(ps, sc, sd, type, pr, rc, rd, type, comm));
    move_pieces(x, x->roff, k, rc, rd, recv, pr, esize, 0);
  }
cleanup:
  free(sc);
  free(sd);
  free(rc);
  free(rd);
  free(ps);
  free(pr);
  return status;
}

/* Pointer to a column's values, its element size and MPI type. */
static void *column_values(hlm_column *c, size_t *esize, MPI_Datatype *type)
{
  if (c->num) {
    *esize = sizeof(double);
    *type = MPI_DOUBLE;
    return c->num;
  }
  if (c->ival) {
    *esize = sizeof(int64_t);
    *type = MPI_INT64_T;
    return c->ival;
  }
  *esize = sizeof(int32_t);
  *type = MPI_INT32_T;
  return c->code;
}

/* dst[perm[i]] = src[i] for n elements of esize bytes. */
static void scatter_rows(const void *src, void *dst, const int64_t *perm,
                         int64_t n, size_t esize)
{
  for (int64_t i = 0; i < n; i++) {
    memcpy((char *)dst + (size_t)perm[i] * esize,
           (const char *)src + (size_t)i * esize, esize);
  }
}

static int is_identity(const int64_t *perm, int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    if (perm[i] != i) {
      return 0;
    }
  }
  return 1;
}

/* Stable counting sort positions: where row i goes when rows are grouped by
 * key[i] in 0..nkeys-1. */
static hlm_status counting_perm(const int64_t *key, int64_t n, int64_t nkeys,
                                int64_t *perm)
{
  hlm_status status = HLM_OK;
  int64_t *next = NULL;
  HLM_ALLOC(next, nkeys + 1);
  for (int64_t i = 0; i < n; i++) {
    next[key[i] + 1]++;
  }
  for (int64_t k = 0; k < nkeys; k++) {
    next[k + 1] += next[k];
  }
  for (int64_t i = 0; i < n; i++) {
    perm[i] = next[key[i]]++;
  }
cleanup:
  free(next);
  return status;
}

/* Send every column through the exchange into `out` (rows in arrival order:
 * by source rank, then source order); send_perm NULL: already in
 * destination order. */
static hlm_status shuffle_columns(MPI_Comm comm, hlm_table *t,
                                  const int64_t *send_perm, const exchange *x,
                                  hlm_table *out)
{
  hlm_status status = HLM_OK;
  char *buf = NULL;
  if (send_perm != NULL) {
    HLM_ALLOC(buf, (size_t)t->nrows * sizeof(int64_t));
  }
  for (int j = 0; j <= t->ncols; j++) {
    size_t esize = sizeof(int64_t);
    MPI_Datatype type = MPI_INT64_T;
    void *src =
        j < t->ncols ? column_values(&t->cols[j], &esize, &type) : t->row_index;
    void *dst = j < t->ncols ? column_values(&out->cols[j], &esize, &type)
                             : out->row_index;
    if (send_perm != NULL) {
      scatter_rows(src, buf, send_perm, t->nrows, esize);
    }
    HLM_TRY(exchange_array(comm, x, send_perm ? buf : src, dst, esize, type));
  }
cleanup:
  free(buf);
  return status;
}

/* Reorder the rows of t in place by perm (row i goes to perm[i]). */
static hlm_status permute_rows(hlm_table *t, const int64_t *perm)
{
  hlm_status status = HLM_OK;
  char *buf = NULL;
  HLM_ALLOC(buf, (size_t)t->nrows * sizeof(int64_t));
  for (int j = 0; j <= t->ncols; j++) {
    size_t esize = sizeof(int64_t);
    MPI_Datatype type;
    void *v =
        j < t->ncols ? column_values(&t->cols[j], &esize, &type) : t->row_index;
    scatter_rows(v, buf, perm, t->nrows, esize);
    memcpy(v, buf, (size_t)t->nrows * esize);
  }
cleanup:
  free(buf);
  return status;
}

/* Group the rows of t by global cluster position, stably. */
static hlm_status group_rows(hlm_table *t, int cidx, const cluster_map *m)
{
  hlm_status status = HLM_OK;
  int64_t *key = NULL, *perm = NULL;
  HLM_ALLOC(key, t->nrows);
  HLM_ALLOC(perm, t->nrows);
  for (int64_t i = 0; i < t->nrows; i++) {
    key[i] = m->pos[t->cols[cidx].code[i]];
  }
  HLM_TRY(counting_perm(key, t->nrows, m->nclusters, perm));
  if (!is_identity(perm, t->nrows)) {
    HLM_TRY(permute_rows(t, perm));
  }
cleanup:
  free(key);
  free(perm);
  return status;
}

/* Runs of equal cluster code in the (grouped) table. */
static hlm_status list_clusters(const hlm_table *t, int cidx,
                                const cluster_map *m, hlm_clusters *cl)
{
  hlm_status status = HLM_OK;
  const int32_t *code = t->cols[cidx].code;
  int64_t n = 0;
  for (int64_t i = 0; i < t->nrows; i++) {
    n += i == 0 || code[i] != code[i - 1];
  }
  HLM_ALLOC(cl->code, n);
  HLM_ALLOC(cl->start, n);
  HLM_ALLOC(cl->count, n);
  cl->nlocal = 0;
  for (int64_t i = 0; i < t->nrows; i++) {
    if (i == 0 || code[i] != code[i - 1]) {
      cl->code[cl->nlocal] = code[i];
      cl->start[cl->nlocal++] = i;
    }
    cl->count[cl->nlocal - 1]++;
  }
  cl->nglobal = m->nclusters;
  cl->first = n > 0 ? m->pos[code[0]] : -1;
cleanup:
  return status;
}

static int column_index(const hlm_table *t, const char *name)
{
  for (int j = 0; j < t->ncols; j++) {
    if (strcmp(t->cols[j].name, name) == 0) {
      return j;
    }
  }
  return -1;
}

/* Move rows to their owners: a new table replaces *t. */
static hlm_status move_rows(MPI_Comm comm, hlm_table **t, int cidx,
                            const cluster_map *m, exchange *x)
{
  hlm_status status = HLM_OK;
  hlm_table *out = NULL;
  int64_t *dest = NULL, *perm = NULL;
  HLM_ALLOC(dest, (*t)->nrows);
  HLM_ALLOC(perm, (*t)->nrows);
  for (int64_t i = 0; i < (*t)->nrows; i++) {
    dest[i] = m->owner[(*t)->cols[cidx].code[i]];
  }
  HLM_TRY(counting_perm(dest, (*t)->nrows, x->size, perm));
  HLM_TRY(hlm_table_create_like(*t, x->nrecv, &out));
  HLM_TRY(shuffle_columns(
      comm, *t, is_identity(perm, (*t)->nrows) ? NULL : perm, x, out));
  hlm_table_destroy(t);
  *t = out;
  out = NULL;
cleanup:
  hlm_table_destroy(&out);
  free(dest);
  free(perm);
  return status;
}

/* Rows per rank after the partition, and what moved. */
static hlm_status fill_info(MPI_Comm comm, const hlm_table *t,
                            const cluster_map *m, int64_t moved,
                            hlm_partition_info *info)
{
  hlm_status status = HLM_OK;
  int64_t rows[2] = {-t->nrows, t->nrows};
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, rows, 2, MPI_INT64_T, MPI_MAX, comm));
  info->nrows = m->nrows;
  info->rows_min = -rows[0];
  info->rows_max = rows[1];
  info->largest_cluster = m->largest;
  info->rows_moved = moved;
  info->shuffled = moved > 0;
cleanup:
  return status;
}

hlm_status hlm_partition_by_cluster(MPI_Comm comm, hlm_table **t,
                                    const char *cluster, hlm_clusters *clusters,
                                    hlm_partition_info *info)
{
  hlm_status status = HLM_OK;
  cluster_map m = {0, NULL, NULL, NULL, NULL, 0, 0, 0};
  exchange x = {.scount = NULL};
  int rank = 0, cidx = column_index(*t, cluster);
  int64_t moved = 0;
  MPI_Comm_rank(comm, &rank);
  memset(clusters, 0, sizeof *clusters);
  HLM_CHECK(cidx >= 0 && (*t)->cols[cidx].type == HLM_COL_CATEGORICAL,
            HLM_ERR_INTERNAL, "cluster column `%s` missing or not a factor",
            cluster);
  HLM_TRY(build_map(comm, *t, &(*t)->cols[cidx], &m));
  HLM_TRY(plan_exchange(comm, *t, &(*t)->cols[cidx], &m, &x));
  moved = x.nsend - x.scount[rank];
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, &moved, 1, MPI_INT64_T, MPI_SUM, comm));
  if (moved > 0) {
    HLM_TRY(move_rows(comm, t, cidx, &m, &x));
  }
  HLM_TRY(group_rows(*t, cidx, &m));
  HLM_TRY(list_clusters(*t, cidx, &m, clusters));
  if (info) {
    HLM_TRY(fill_info(comm, *t, &m, moved, info));
  }
cleanup:
  cluster_map_free(&m);
  exchange_free(&x);
  return status;
}

void hlm_clusters_free(hlm_clusters *clusters)
{
  if (clusters == NULL) {
    return;
  }
  free(clusters->code);
  free(clusters->start);
  free(clusters->count);
  memset(clusters, 0, sizeof *clusters);
}

void hlm_partition_report(const hlm_partition_info *info, int nranks, FILE *out)
{
  double mean = (double)info->nrows / nranks;
  fprintf(out,
          "partition: %" PRId64 " rows on %d ranks: %" PRId64 " to %" PRId64
          " rows per rank (imbalance %.2f = most / mean); largest cluster "
          "%" PRId64 " rows; %s\n",
          info->nrows, nranks, info->rows_min, info->rows_max,
          mean > 0 ? (double)info->rows_max / mean : 1.0, info->largest_cluster,
          info->shuffled ? "rows shuffled" : "already partitioned, no shuffle");
  if (info->shuffled) {
    fprintf(out, "partition: %" PRId64 " rows moved between ranks\n",
            info->rows_moved);
  }
}
