/* data_read.c: parallel read of the HDF5 data layout (docs/data-format.md).
 *
 * Each rank reads a contiguous slab of rows of every column with the MPI-IO
 * driver and collective transfers (independent for variable-length strings,
 * which HDF5 cannot transfer collectively), in pieces of at most
 * HLM_READ_CHUNK rows so that no MPI count overflows an int. */
#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data_internal.h"
#include "hdf5_util.h"
#include "hlm/comm.h"
#include "hlm/data.h"

typedef struct reader {
  MPI_Comm comm;
  int rank, size;
  const char *path, *group;
  hid_t file, grp;
  int64_t n;            /* rows in the file */
  int64_t start, count; /* this rank's slab */
  int64_t chunk;        /* rows per read call */
} reader;

typedef struct col_source {
  hlm_src_kind kind;
  hid_t dset;
  hid_t ftype;
  int numeric_override; /* hlm_type = numeric on an integer dataset */
} col_source;

static int64_t read_chunk_rows(void)
{
  const char *env = getenv("HLM_READ_CHUNK");
  long long v = env ? atoll(env) : 0;
  return v > 0 ? (int64_t)v : ((int64_t)1 << 26);
}

static hlm_status open_file(reader *r)
{
  hlm_status status = HLM_OK;
  hid_t fapl = H5I_INVALID_HID;
  if (access(r->path, R_OK) != 0) {
    status = HLM_ERROR(HLM_ERR_IO, "cannot open data file '%s': %s", r->path,
                       strerror(errno));
  } else if (H5Fis_hdf5(r->path) <= 0) {
    status = HLM_ERROR(HLM_ERR_DATA,
                       "data file '%s' is not an HDF5 file (convert a CSV "
                       "file with `hlm-mpi import`)",
                       r->path);
  }
  HLM_TRY(hlm_comm_agree(r->comm, status, "opening the data file", NULL));
  fapl = H5Pcreate(H5P_FILE_ACCESS);
  HLM_CHECK(fapl >= 0 && H5Pset_fapl_mpio(fapl, r->comm, MPI_INFO_NULL) >= 0,
            HLM_ERR_HDF5, "cannot set up MPI-IO access to '%s'", r->path);
  r->file = H5Fopen(r->path, H5F_ACC_RDONLY, fapl);
  if (r->file < 0) {
    status = hlm_hdf5_error("cannot open '%s' with parallel HDF5", r->path);
  }
cleanup:
  if (fapl >= 0) {
    H5Pclose(fapl);
  }
  return hlm_comm_agree(r->comm, status, "opening the data file", NULL);
}

static hlm_status open_group(reader *r)
{
  hlm_status status = HLM_OK;
  char *groups = NULL;
  htri_t exists = H5Lexists(r->file, r->group, H5P_DEFAULT);
  if (exists > 0) {
    r->grp = H5Gopen2(r->file, r->group, H5P_DEFAULT);
  }
  if (exists <= 0 || r->grp < 0) {
    HLM_TRY(hlm_hdf5_list_names(r->file, H5O_TYPE_GROUP, &groups));
    status = HLM_ERROR(HLM_ERR_DATA,
                       "data file '%s' has no group `%s`; groups there: %s",
                       r->path, r->group, groups[0] ? groups : "(none)");
  }
cleanup:
  free(groups);
  return hlm_comm_agree(r->comm, status, "opening the data group", NULL);
}

/* The names of all columns: the `columns` attribute, else by name. */
static hlm_status all_column_names(reader *r, char ***names, int32_t *n)
{
  if (H5Aexists(r->grp, "columns") > 0) {
    return hlm_hdf5_read_string_attr(r->grp, "columns", names, n);
  }
  return hlm_hdf5_dataset_names(r->grp, names, n);
}

static hlm_status missing_column_error(reader *r, const char *name)
{
  char *list = NULL;
  hlm_status status = hlm_hdf5_list_names(r->grp, H5O_TYPE_DATASET, &list);
  if (status == HLM_OK) {
    status = HLM_ERROR(HLM_ERR_DATA,
                       "no column `%s` in group `%s` of '%s'; columns there: "
                       "%s",
                       name, r->group, r->path, list[0] ? list : "(none)");
  }
  free(list);
  return status;
}

/* Open column `name`, classify it and check its shape. Sets *len. */
static hlm_status open_column(reader *r, const char *name, col_source *src,
                              int64_t *len)
{
  hlm_status status = HLM_OK;
  hid_t space = H5I_INVALID_HID;
  char *hlm_type = NULL;
  hsize_t dims[1] = {0};
  if (H5Lexists(r->grp, name, H5P_DEFAULT) <= 0) {
    return missing_column_error(r, name);
  }
  src->dset = H5Dopen2(r->grp, name, H5P_DEFAULT);
  HLM_CHECK(src->dset >= 0, HLM_ERR_DATA,
            "`%s` in group `%s` of '%s' is not a dataset", name, r->group,
            r->path);
  src->ftype = H5Dget_type(src->dset);
  space = H5Dget_space(src->dset);
  HLM_CHECK(src->ftype >= 0 && space >= 0, HLM_ERR_HDF5,
            "cannot read the type of column `%s`", name);
  HLM_CHECK(H5Sget_simple_extent_ndims(space) == 1, HLM_ERR_DATA,
            "column `%s` of '%s' is not one-dimensional (%d dimensions)", name,
            r->path, H5Sget_simple_extent_ndims(space));
  H5Sget_simple_extent_dims(space, dims, NULL);
  *len = (int64_t)dims[0];
  HLM_TRY(hlm_hdf5_string_attr_or_null(src->dset, "hlm_type", &hlm_type));
  HLM_TRY(hlm_hdf5_classify(src->dset, src->ftype, name, hlm_type, &src->kind,
                            &src->numeric_override));
cleanup:
  if (space >= 0) {
    H5Sclose(space);
  }
  free(hlm_type);
  return status;
}

/* Read rows [start, start+count) of dset into buf, as memtype, in pieces.
 * Collective unless `independent`: every rank makes the same number of
 * H5Dread calls, selecting nothing when its piece is empty. */
static hlm_status read_slab(const reader *r, hid_t dset, hid_t memtype,
                            void *buf, int independent)
{
  hlm_status status = HLM_OK;
  hid_t fspace = H5Dget_space(dset), mspace = H5I_INVALID_HID;
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  size_t esize = H5Tget_size(memtype);
  int64_t most = (r->n + r->size - 1) / r->size;
  int64_t rounds = most > 0 ? (most + r->chunk - 1) / r->chunk : 0;
  HLM_CHECK(fspace >= 0 && dxpl >= 0 && esize > 0, HLM_ERR_HDF5,
            "cannot prepare a read of '%s'", r->path);
  H5Pset_dxpl_mpio(dxpl,
                   independent ? H5FD_MPIO_INDEPENDENT : H5FD_MPIO_COLLECTIVE);
  for (int64_t k = 0; k < rounds; k++) {
    int64_t lo = k * r->chunk;
    int64_t len = lo < r->count ? r->count - lo : 0;
    len = len < r->chunk ? len : r->chunk;
    if (independent && len == 0) {
      continue;
    }
    hsize_t off = (hsize_t)(r->start + lo), cnt = (hsize_t)len,
            mdim = (hsize_t)(len > 0 ? len : 1);
    mspace = H5Screate_simple(1, &mdim, NULL);
    if (len > 0) {
      H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &off, NULL, &cnt, NULL);
    } else {
      H5Sselect_none(fspace);
      H5Sselect_none(mspace);
    }
    herr_t rc = H5Dread(dset, memtype, mspace, fspace, dxpl,
                        (char *)buf + (size_t)lo * esize);
    H5Sclose(mspace);
    mspace = H5I_INVALID_HID;
    if (rc < 0) {
      status =
          hlm_hdf5_error("cannot read rows %" PRId64 "-%" PRId64 " of '%s'",
                         r->start + lo + 1, r->start + lo + len, r->path);
      goto cleanup;
    }
  }
cleanup:
  if (fspace >= 0) {
    H5Sclose(fspace);
  }
  if (dxpl >= 0) {
    H5Pclose(dxpl);
  }
  return status;
}

/* The smallest value of a signed stored integer type: its missing code. */
static int64_t stored_int_min(hid_t ftype)
{
  size_t bytes = H5Tget_size(ftype);
  if (H5Tget_sign(ftype) != H5T_SGN_2 || bytes >= 8) {
    return HLM_INT_MISSING;
  }
  return -((int64_t)1 << (8 * bytes - 1));
}

static hlm_status read_integers(const reader *r, const col_source *src,
                                hlm_column *c)
{
  hlm_status status = HLM_OK;
  int64_t lowest = stored_int_min(src->ftype);
  HLM_TRY(hlm_column_alloc_values(c, r->count));
  HLM_TRY(read_slab(r, src->dset, H5T_NATIVE_INT64, c->ival, 0));
  for (int64_t i = 0; i < r->count; i++) {
    if (c->ival[i] == lowest) {
      c->ival[i] = HLM_INT_MISSING;
    }
  }
cleanup:
  return status;
}

static hlm_status read_coded(const reader *r, const col_source *src,
                             hlm_column *c)
{
  hlm_status status = HLM_OK;
  int64_t *raw = NULL;
  HLM_TRY(
      hlm_hdf5_read_string_attr(src->dset, "levels", &c->levels, &c->nlevels));
  HLM_ALLOC(raw, r->count);
  HLM_TRY(hlm_column_alloc_values(c, r->count));
  HLM_TRY(read_slab(r, src->dset, H5T_NATIVE_INT64, raw, 0));
  for (int64_t i = 0; i < r->count; i++) {
    HLM_CHECK(raw[i] >= -1 && raw[i] < c->nlevels, HLM_ERR_DATA,
              "column `%s` of '%s', row %" PRId64 ": code %" PRId64
              " is not -1 (missing) or a level code 0..%d",
              c->name, r->path, r->start + i + 1, raw[i], c->nlevels - 1);
    c->code[i] = (int32_t)raw[i];
  }
cleanup:
  free(raw);
  return status;
}

static hlm_status read_strings(const reader *r, const col_source *src,
                               hlm_column *c)
{
  hlm_status status = HLM_OK;
  char **text = NULL;
  HLM_ALLOC(text, r->count);
  HLM_TRY(
      hlm_hdf5_read_strings(src->dset, src->ftype, r->start, r->count, text));
  HLM_TRY(hlm_strings_to_factor(r->comm, text, r->count, c));
cleanup:
  for (int64_t i = 0; text && i < r->count; i++) {
    free(text[i]);
  }
  free(text);
  return status;
}

static hlm_status read_column(const reader *r, const col_source *src,
                              hlm_column *c)
{
  switch (src->kind) {
  case SRC_FLOAT:
    c->type = HLM_COL_NUMERIC;
    break;
  case SRC_INT:
    c->type = src->numeric_override ? HLM_COL_NUMERIC : HLM_COL_INTEGER;
    break;
  case SRC_CODED:
    c->type = HLM_COL_CATEGORICAL;
    return read_coded(r, src, c);
  case SRC_STRING:
    c->type = HLM_COL_CATEGORICAL;
    return read_strings(r, src, c);
  }
  if (c->type == HLM_COL_INTEGER) {
    return read_integers(r, src, c);
  }
  hlm_status status = hlm_column_alloc_values(c, r->count);
  if (status == HLM_OK) {
    status = read_slab(r, src->dset, H5T_NATIVE_DOUBLE, c->num, 0);
  }
  return status;
}

static void close_source(col_source *src)
{
  if (src->ftype >= 0) {
    H5Tclose(src->ftype);
  }
  if (src->dset >= 0) {
    H5Dclose(src->dset);
  }
  src->ftype = src->dset = H5I_INVALID_HID;
}

/* Open, check and read one column; the outcome is agreed on all ranks. */
static hlm_status load_column(reader *r, const char *name, hlm_column *c,
                              int first)
{
  hlm_status status = HLM_OK;
  col_source src = {SRC_FLOAT, H5I_INVALID_HID, H5I_INVALID_HID, 0};
  int64_t len = 0;
  c->name = strdup(name);
  HLM_CHECK(c->name != NULL, HLM_ERR_NOMEM, "out of memory");
  HLM_TRY(open_column(r, name, &src, &len));
  if (first) {
    r->n = len;
    r->start = len * r->rank / r->size;
    r->count = len * (r->rank + 1) / r->size - r->start;
  }
  HLM_CHECK(len == r->n, HLM_ERR_DATA,
            "columns of group `%s` in '%s' have different lengths: `%s` has "
            "%" PRId64 " rows, the first column read has %" PRId64,
            r->group, r->path, name, len, r->n);
cleanup:
  status = hlm_comm_agree(r->comm, status, "reading the data", NULL);
  if (status == HLM_OK) {
    status = read_column(r, &src, c);
    status = hlm_comm_agree(r->comm, status, "reading the data", NULL);
  }
  close_source(&src);
  return status;
}

static hlm_status read_columns(reader *r, const char *const *names, int ncols,
                               hlm_table **out)
{
  hlm_status status = HLM_OK;
  hlm_table *t = NULL;
  char **all = NULL;
  int32_t nall = 0;
  if (names == NULL) {
    status = all_column_names(r, &all, &nall);
    HLM_TRY(hlm_comm_agree(r->comm, status, "reading the data", NULL));
    names = (const char *const *)all;
    ncols = nall;
  }
  HLM_TRY(hlm_table_alloc(ncols, &t));
  for (int j = 0; j < ncols; j++) {
    HLM_TRY(load_column(r, names[j], &t->cols[j], j == 0));
  }
  HLM_CHECK(ncols > 0 && r->n > 0, HLM_ERR_DATA,
            "group `%s` of '%s' holds no data (%d columns, %" PRId64 " rows)",
            r->group, r->path, ncols, r->n);
  t->nrows = r->count;
  HLM_ALLOC(t->row_index, r->count);
  for (int64_t i = 0; i < r->count; i++) {
    t->row_index[i] = r->start + i;
  }
  *out = t;
  t = NULL;
cleanup:
  hlm_levels_free(all, nall);
  hlm_table_destroy(&t);
  return status;
}

hlm_status hlm_table_read(MPI_Comm comm, const char *path, const char *group,
                          const char *const *names, int ncols, hlm_table **out)
{
  hlm_status status = HLM_OK;
  reader r = {comm,
              0,
              1,
              path,
              group,
              H5I_INVALID_HID,
              H5I_INVALID_HID,
              0,
              0,
              0,
              read_chunk_rows()};
  MPI_Comm_rank(comm, &r.rank);
  MPI_Comm_size(comm, &r.size);
  *out = NULL;
  /* the environment may differ between hosts: use one value everywhere */
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, &r.chunk, 1, MPI_INT64_T, MPI_MIN, comm));
  HLM_TRY(open_file(&r));
  HLM_TRY(open_group(&r));
  HLM_TRY(read_columns(&r, names, ncols, out));
cleanup:
  if (r.grp >= 0) {
    H5Gclose(r.grp);
  }
  if (r.file >= 0) {
    H5Fclose(r.file);
  }
  return status;
}
