/* simulate.c: `hlm-mpi simulate`, a synthetic cluster-sampled data set
 * written in parallel (docs/simulate.md).
 *
 * Every rank computes all cluster sizes (cheap: one Philox call per
 * cluster), takes a contiguous run of clusters holding about rows / size
 * rows, generates its rows chunk by chunk and writes them with collective
 * H5Dwrite.  A row's random numbers are keyed by (seed, stream) with counter
 * (cluster, row in cluster, block), so the file is the same at any rank
 * count. */
#include "hlm/simulate.h"
#include "hdf5_util.h"
#include "hlm/comm.h"

#include <Random123/philox.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Rows generated and written per collective write. */
#define SIM_CHUNK ((int64_t)1 << 20)

enum sim_stream {
  STREAM_SIZE = 1, /* cluster sizes */
  STREAM_CLUSTER,  /* cluster random intercept and slope */
  STREAM_SUB,      /* sub-cluster random intercepts */
  STREAM_CROSSED,  /* crossed-level random intercepts */
  STREAM_ROW,      /* covariates and residual of a row */
  STREAM_ROW_UNIF  /* crossed level and weight of a row */
};

enum { COL_SCHOOL, COL_CLASS, COL_RATER, COL_W, COL_Y, COL_X, NFIXED = COL_X };

typedef struct sim_plan {
  const hlm_sim_config *cfg; /* not owned */
  int64_t *start;            /* clusters + 1 first rows */
  int64_t c0, c1;            /* this rank's clusters [c0, c1) */
  int64_t r0, r1;            /* this rank's rows [r0, r1) */
  double *crossed;           /* crossed_levels effects */
  double *beta;              /* covariates + 1 */
} sim_plan;

typedef struct sim_chunk {
  int64_t *school, *klass, *rater;
  double *w, *y, *x; /* x: covariates blocks of SIM_CHUNK */
} sim_chunk;

/* ---- random numbers ------------------------------------------------------ */

/* Four uniforms on (0, 1) for counter (a, b, c) of `stream`. */
static void uniform4(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b,
                     uint64_t c, double u[4])
{
  philox4x64_ctr_t ctr = {{a, b, c, 0}};
  philox4x64_key_t key = {{seed, stream}};
  philox4x64_ctr_t r = philox4x64(ctr, key);
  for (int i = 0; i < 4; i++) {
    u[i] = ((double)(r.v[i] >> 11) + 0.5) * 0x1p-53;
  }
}

/* Four standard normals (Box-Muller on the four uniforms). */
static void normal4(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b,
                    uint64_t c, double z[4])
{
  double u[4];
  uniform4(seed, stream, a, b, c, u);
  for (int i = 0; i < 4; i += 2) {
    double r = sqrt(-2.0 * log(u[i])), t = 6.283185307179586477 * u[i + 1];
    z[i] = r * cos(t);
    z[i + 1] = r * sin(t);
  }
}

/* ---- the plan: cluster sizes, this rank's share, fixed effects ---------- */

/* start[j] = j + floor(R W_j / W), W_j the sum of the first j lognormal
 * weights exp(size_sd z_j) and R = rows - clusters: every cluster gets at
 * least one row and the sizes sum to rows. */
static hlm_status plan_sizes(sim_plan *p)
{
  hlm_status status = HLM_OK;
  const hlm_sim_config *c = p->cfg;
  double *cum = NULL, z[4];
  int64_t m = c->clusters, extra = c->rows - c->clusters;
  HLM_ALLOC(cum, m + 1);
  HLM_ALLOC(p->start, m + 1);
  for (int64_t j = 0; j < m; j++) {
    normal4((uint64_t)c->seed, STREAM_SIZE, (uint64_t)j, 0, 0, z);
    cum[j + 1] = cum[j] + exp(c->size_sd * z[0]);
  }
  for (int64_t j = 0; j <= m; j++) {
    int64_t s = j + (int64_t)floor((double)extra * (cum[j] / cum[m]));
    p->start[j] = j == m ? c->rows : (s < c->rows ? s : c->rows);
  }
cleanup:
  free(cum);
  return status;
}

/* First cluster starting at or after `row`. */
static int64_t first_cluster_from(const sim_plan *p, int64_t row)
{
  int64_t lo = 0, hi = p->cfg->clusters;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (p->start[mid] < row) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

static hlm_status plan_create(const hlm_sim_config *c, int rank, int size,
                              sim_plan *p)
{
  hlm_status status = HLM_OK;
  double z[4];
  p->cfg = c;
  HLM_TRY(plan_sizes(p));
  p->c0 = rank == 0 ? 0 : first_cluster_from(p, c->rows / size * rank);
  p->c1 = rank == size - 1 ? c->clusters
                           : first_cluster_from(p, c->rows / size * (rank + 1));
  p->r0 = p->start[p->c0];
  p->r1 = p->start[p->c1];
  HLM_ALLOC(p->crossed, c->crossed_levels);
  for (int64_t l = 0; l < c->crossed_levels; l++) {
    normal4((uint64_t)c->seed, STREAM_CROSSED, (uint64_t)l, 0, 0, z);
    p->crossed[l] = c->crossed_sd * z[0];
  }
  HLM_ALLOC(p->beta, c->covariates + 1);
  p->beta[0] = c->intercept;
  for (int64_t k = 1; k <= c->covariates; k++) {
    p->beta[k] = c->slope / (double)k;
  }
cleanup:
  return status;
}

static void plan_destroy(sim_plan *p)
{
  free(p->start);
  free(p->crossed);
  free(p->beta);
  memset(p, 0, sizeof *p);
}

/* ---- generating rows ----------------------------------------------------- */

/* Cluster j's random intercept and slope: (u0, u1) = L z with L the
 * Cholesky factor of [sd0^2, r sd0 sd1; r sd0 sd1, sd1^2]. */
static void cluster_effects(const hlm_sim_config *c, int64_t j, double u[2])
{
  double z[4], r = c->correlation;
  normal4((uint64_t)c->seed, STREAM_CLUSTER, (uint64_t)j, 0, 0, z);
  u[0] = c->cluster_sd * z[0];
  u[1] = c->slope_sd * (r * z[0] + sqrt(1.0 - r * r) * z[1]);
}

/* Row g (cluster j, i-th row in it) into slot t of the chunk:
 * y = b0 + sum_k b_k x_k + u0_j + u1_j x1 + v_jk + c_l + sigma / sqrt(w) e */
static void gen_row(const sim_plan *p, const double u[2], int64_t j, int64_t i,
                    sim_chunk *ch, int64_t t)
{
  const hlm_sim_config *c = p->cfg;
  uint64_t seed = (uint64_t)c->seed;
  int64_t nj = p->start[j + 1] - p->start[j], pcov = c->covariates;
  double z[4], un[4], y = p->beta[0] + u[0], w = 1.0, e = 0.0;
  for (int64_t k = 0; k <= pcov; k++) {
    if (k % 4 == 0) {
      normal4(seed, STREAM_ROW, (uint64_t)j, (uint64_t)i, (uint64_t)(k / 4), z);
    }
    if (k == pcov) {
      e = z[k % 4];
    } else {
      ch->x[k * SIM_CHUNK + t] = z[k % 4];
      y += p->beta[k + 1] * z[k % 4];
    }
  }
  y += u[1] * ch->x[t];
  uniform4(seed, STREAM_ROW_UNIF, (uint64_t)j, (uint64_t)i, 0, un);
  ch->school[t] = j + 1;
  if (c->subclusters > 0) {
    int64_t k = i * c->subclusters / nj;
    normal4(seed, STREAM_SUB, (uint64_t)j, (uint64_t)k, 0, z);
    ch->klass[t] = k + 1;
    y += c->subcluster_sd * z[0];
  }
  if (c->crossed_levels > 0) {
    int64_t l = (int64_t)(un[0] * (double)c->crossed_levels);
    l = l < c->crossed_levels ? l : c->crossed_levels - 1;
    ch->rater[t] = l + 1;
    y += p->crossed[l];
  }
  if (c->weights) {
    w = 0.5 + un[1];
    ch->w[t] = w;
  }
  ch->y[t] = y + c->residual_sd / sqrt(w) * e;
}

/* Rows [lo, hi) of this rank into the chunk buffers. */
static void gen_rows(const sim_plan *p, int64_t lo, int64_t hi, sim_chunk *ch)
{
  int64_t j = first_cluster_from(p, lo + 1) - 1;
  double u[2];
  cluster_effects(p->cfg, j, u);
  for (int64_t g = lo; g < hi; g++) {
    if (g >= p->start[j + 1]) {
      j++;
      cluster_effects(p->cfg, j, u);
    }
    gen_row(p, u, j, g - p->start[j], ch, g - lo);
  }
}

/* ---- HDF5 ---------------------------------------------------------------- */

static hid_t string_type(void)
{
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t >= 0 &&
      (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
    H5Tclose(t);
    t = -1;
  }
  return t;
}

/* A string attribute: scalar when n == 0, else 1-D of n strings. */
static hlm_status put_strings(hid_t obj, const char *name,
                              const char *const *text, hsize_t n)
{
  hlm_status status = HLM_OK;
  hid_t type = -1, space = -1, attr = -1;
  H5_CHECK(type = string_type(), "cannot make a string type");
  H5_CHECK(space = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR),
           "cannot make a dataspace");
  H5_CHECK(attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT),
           "cannot create attribute `%s`", name);
  H5_CHECK(H5Awrite(attr, type, text), "cannot write attribute `%s`", name);
cleanup:
  H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
  return status;
}

/* A numeric attribute of n values (scalar when n == 0). */
static hlm_status put_numbers(hid_t obj, const char *name, hid_t type,
                              const void *v, hsize_t n)
{
  hlm_status status = HLM_OK;
  hid_t space = -1, attr = -1;
  hid_t ftype = type == H5T_NATIVE_DOUBLE ? H5T_IEEE_F64LE : H5T_STD_I64LE;
  H5_CHECK(space = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR),
           "cannot make a dataspace");
  H5_CHECK(attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT),
           "cannot create attribute `%s`", name);
  H5_CHECK(H5Awrite(attr, type, v), "cannot write attribute `%s`", name);
cleanup:
  H5Aclose(attr);
  H5Sclose(space);
  return status;
}

static hlm_status put_double(hid_t obj, const char *name, double v)
{
  return put_numbers(obj, name, H5T_NATIVE_DOUBLE, &v, 0);
}

static hlm_status put_int(hid_t obj, const char *name, int64_t v)
{
  return put_numbers(obj, name, H5T_NATIVE_INT64, &v, 0);
}

/* The /truth group: every setting and the true parameters. */
static hlm_status write_truth(hid_t file, const sim_plan *p)
{
  hlm_status status = HLM_OK;
  const hlm_sim_config *c = p->cfg;
  char formula[4096];
  const char *f = formula;
  hid_t g = -1;
  hlm_sim_formula(c, formula, sizeof formula);
  H5_CHECK(g = H5Gcreate2(file, "truth", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
           "cannot create group /truth");
  HLM_TRY(put_strings(g, "formula", &f, 0));
  HLM_TRY(put_numbers(g, "beta", H5T_NATIVE_DOUBLE, p->beta,
                      (hsize_t)c->covariates + 1));
  HLM_TRY(put_double(g, "cluster_sd", c->cluster_sd));
  HLM_TRY(put_double(g, "slope_sd", c->slope_sd));
  HLM_TRY(put_double(g, "correlation", c->correlation));
  HLM_TRY(put_double(g, "subcluster_sd", c->subcluster_sd));
  HLM_TRY(put_double(g, "crossed_sd", c->crossed_sd));
  HLM_TRY(put_double(g, "residual_sd", c->residual_sd));
  HLM_TRY(put_double(g, "size_sd", c->size_sd));
  HLM_TRY(put_int(g, "rows", c->rows));
  HLM_TRY(put_int(g, "clusters", c->clusters));
  HLM_TRY(put_int(g, "subclusters", c->subclusters));
  HLM_TRY(put_int(g, "crossed_levels", c->crossed_levels));
  HLM_TRY(put_int(g, "covariates", c->covariates));
  HLM_TRY(put_int(g, "seed", c->seed));
  HLM_TRY(put_int(g, "weights", c->weights));
cleanup:
  H5Gclose(g);
  return status;
}

/* The data columns in file order; names[i] for column kind kinds[i]. */
typedef struct sim_columns {
  int n;
  char names[1024][16];
  int kind[1024]; /* COL_*, COL_X + k for x_{k+1} */
  hid_t dset[1024];
} sim_columns;

static void list_columns(const hlm_sim_config *c, sim_columns *cols)
{
  cols->n = 0;
  for (int kind = 0; kind < COL_X + c->covariates; kind++) {
    static const char *const fixed[] = {"school", "class", "rater", "w", "y"};
    if ((kind == COL_CLASS && c->subclusters == 0) ||
        (kind == COL_RATER && c->crossed_levels == 0) ||
        (kind == COL_W && !c->weights)) {
      continue;
    }
    if (kind < COL_X) {
      snprintf(cols->names[cols->n], 16, "%s", fixed[kind]);
    } else {
      snprintf(cols->names[cols->n], 16, "x%d", kind - COL_X + 1);
    }
    cols->kind[cols->n] = kind;
    cols->dset[cols->n++] = -1;
  }
}

static hlm_status create_columns(hid_t grp, const hlm_sim_config *c,
                                 sim_columns *cols)
{
  hlm_status status = HLM_OK;
  hsize_t n = (hsize_t)c->rows;
  hid_t space = -1, dcpl = -1;
  const char *names[1024];
  H5_CHECK(space = H5Screate_simple(1, &n, NULL), "cannot make a dataspace");
  H5_CHECK(dcpl = H5Pcreate(H5P_DATASET_CREATE), "cannot make a property list");
  H5_CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "cannot set fill time");
  for (int i = 0; i < cols->n; i++) {
    int is_int = cols->kind[i] <= COL_RATER;
    const char *type = is_int ? "integer" : "numeric";
    names[i] = cols->names[i];
    H5_CHECK(cols->dset[i] = H5Dcreate2(grp, cols->names[i],
                                        is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE,
                                        space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
             "cannot create column `%s`", cols->names[i]);
    HLM_TRY(put_strings(cols->dset[i], "hlm_type", &type, 0));
  }
  HLM_TRY(put_strings(grp, "columns", names, (hsize_t)cols->n));
cleanup:
  H5Pclose(dcpl);
  H5Sclose(space);
  return status;
}

static const void *column_buffer(const sim_chunk *ch, int kind)
{
  switch (kind) {
  case COL_SCHOOL:
    return ch->school;
  case COL_CLASS:
    return ch->klass;
  case COL_RATER:
    return ch->rater;
  case COL_W:
    return ch->w;
  case COL_Y:
    return ch->y;
  default:
    return ch->x + (int64_t)(kind - COL_X) * SIM_CHUNK;
  }
}

/* Collective: rows [lo, lo + count) of every column (count may be 0). */
static hlm_status write_chunk(const sim_columns *cols, const sim_chunk *ch,
                              int64_t lo, int64_t count, hid_t dxpl)
{
  hlm_status status = HLM_OK;
  hsize_t start = (hsize_t)lo, cnt = (hsize_t)count, one = count ? cnt : 1;
  hid_t mspace = -1, fspace = -1;
  H5_CHECK(mspace = H5Screate_simple(1, &one, NULL), "cannot make a dataspace");
  if (count == 0) {
    H5_CHECK(H5Sselect_none(mspace), "cannot select");
  }
  for (int i = 0; i < cols->n; i++) {
    int is_int = cols->kind[i] <= COL_RATER;
    H5_CHECK(fspace = H5Dget_space(cols->dset[i]), "cannot get a dataspace");
    H5_CHECK(count ? H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL,
                                         &cnt, NULL)
                   : H5Sselect_none(fspace),
             "cannot select rows");
    H5_CHECK(H5Dwrite(cols->dset[i],
                      is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, mspace,
                      fspace, dxpl, column_buffer(ch, cols->kind[i])),
             "cannot write column `%s`", cols->names[i]);
    H5Sclose(fspace);
    fspace = -1;
  }
cleanup:
  H5Sclose(fspace);
  H5Sclose(mspace);
  return status;
}

static void chunk_free(sim_chunk *ch)
{
  free(ch->school);
  free(ch->klass);
  free(ch->rater);
  free(ch->w);
  free(ch->y);
  free(ch->x);
  memset(ch, 0, sizeof *ch);
}

static hlm_status chunk_alloc(const hlm_sim_config *c, sim_chunk *ch)
{
  hlm_status status = HLM_OK;
  HLM_ALLOC(ch->school, SIM_CHUNK);
  HLM_ALLOC(ch->klass, SIM_CHUNK);
  HLM_ALLOC(ch->rater, SIM_CHUNK);
  HLM_ALLOC(ch->w, SIM_CHUNK);
  HLM_ALLOC(ch->y, SIM_CHUNK);
  HLM_ALLOC(ch->x, SIM_CHUNK * c->covariates);
cleanup:
  return status;
}

/* Collective: generate and write this rank's rows, chunk by chunk; every
 * rank makes the same number of collective writes. */
static hlm_status write_rows(MPI_Comm comm, const sim_plan *p,
                             const sim_columns *cols, sim_chunk *ch)
{
  hlm_status status = HLM_OK;
  int64_t local = p->r1 - p->r0, rounds = (local + SIM_CHUNK - 1) / SIM_CHUNK;
  int64_t most = 0;
  hid_t dxpl = -1;
  HLM_MPI(MPI_Allreduce(&rounds, &most, 1, MPI_INT64_T, MPI_MAX, comm));
  H5_CHECK(dxpl = H5Pcreate(H5P_DATASET_XFER), "cannot make a property list");
  H5_CHECK(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE),
           "cannot set collective transfer");
  for (int64_t r = 0; r < most; r++) {
    int64_t lo = p->r0 + r * SIM_CHUNK;
    int64_t hi = lo + SIM_CHUNK < p->r1 ? lo + SIM_CHUNK : p->r1;
    if (hi > lo) {
      gen_rows(p, lo, hi, ch);
    }
    HLM_TRY(write_chunk(cols, ch, lo, hi > lo ? hi - lo : 0, dxpl));
  }
cleanup:
  H5Pclose(dxpl);
  return status;
}

/* Collective: the whole file. */
static hlm_status write_file(MPI_Comm comm, const sim_plan *p, sim_chunk *ch,
                             const char *path)
{
  hlm_status status = HLM_OK;
  hid_t fapl = -1, file = -1, gcpl = -1, grp = -1;
  sim_columns *cols = NULL;
  HLM_ALLOC(cols, 1);
  list_columns(p->cfg, cols);
  H5_CHECK(fapl = H5Pcreate(H5P_FILE_ACCESS), "cannot make a property list");
  H5_CHECK(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), "cannot set MPI-IO");
  H5_CHECK(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18),
           "cannot set the file format");
  H5_CHECK(file = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, fapl),
           "cannot create %s", path);
  H5_CHECK(gcpl = H5Pcreate(H5P_GROUP_CREATE), "cannot make a property list");
  H5_CHECK(H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED |
                                                H5P_CRT_ORDER_INDEXED),
           "cannot track creation order");
  H5_CHECK(grp = H5Gcreate2(file, "data", H5P_DEFAULT, gcpl, H5P_DEFAULT),
           "cannot create group /data");
  HLM_TRY(create_columns(grp, p->cfg, cols));
  HLM_TRY(write_rows(comm, p, cols, ch));
  HLM_TRY(write_truth(file, p));
cleanup:
  for (int i = 0; cols && i < cols->n; i++) {
    H5Dclose(cols->dset[i]);
  }
  free(cols);
  H5Gclose(grp);
  H5Pclose(gcpl);
  H5Fclose(file);
  H5Pclose(fapl);
  return status;
}

static void print_summary(const sim_plan *p, const char *path, int size,
                          double seconds, FILE *log)
{
  const hlm_sim_config *c = p->cfg;
  int64_t lo = c->rows, hi = 0;
  char formula[4096];
  for (int64_t j = 0; j < c->clusters; j++) {
    int64_t n = p->start[j + 1] - p->start[j];
    lo = n < lo ? n : lo;
    hi = n > hi ? n : hi;
  }
  hlm_sim_formula(c, formula, sizeof formula);
  fprintf(log,
          "simulate: %lld rows in %lld clusters (%lld to %lld rows each), "
          "%lld covariates, seed %lld\n"
          "wrote %s [data] and [truth] on %d ranks in %.3f s\n"
          "true model: %s\n",
          (long long)c->rows, (long long)c->clusters, (long long)lo,
          (long long)hi, (long long)c->covariates, (long long)c->seed, path,
          size, seconds, formula);
}

hlm_status hlm_simulate(MPI_Comm comm, const hlm_sim_config *cfg,
                        const char *out_path, FILE *log)
{
  hlm_status status = HLM_OK;
  int rank = 0, size = 1;
  sim_plan plan = {0};
  sim_chunk chunk = {0};
  double t0 = MPI_Wtime();
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (rank == 0 && access(out_path, F_OK) == 0) {
    status = HLM_ERROR(HLM_ERR_IO,
                       "%s exists: hlm-mpi simulate never overwrites a file; "
                       "remove it or choose another name",
                       out_path);
  }
  if (status == HLM_OK) {
    status = plan_create(cfg, rank, size, &plan);
  }
  if (status == HLM_OK) {
    status = chunk_alloc(cfg, &chunk);
  }
  HLM_TRY(hlm_comm_agree(comm, status, "simulate set-up", NULL));
  status = write_file(comm, &plan, &chunk, out_path);
  HLM_TRY(hlm_comm_agree(comm, status, "simulate write", NULL));
  if (rank == 0 && log != NULL) {
    print_summary(&plan, out_path, size, MPI_Wtime() - t0, log);
  }
cleanup:
  chunk_free(&chunk);
  plan_destroy(&plan);
  return status;
}
