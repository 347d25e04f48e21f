/* data_info.c: `hlm-mpi info`, what a data group of an HDF5 file holds
 * (docs/data-format.md): rows, and per column its type, storage, missing
 * values and levels.  Rank 0 reads the file with the sec2 driver; the other
 * ranks wait for the agreement. */
#include "hdf5_util.h"
#include "hlm/comm.h"
#include "hlm/data.h"
#include "hlm/error.h"

#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows read at a time. */
#define INFO_BLOCK ((int64_t)1 << 20)
/* Level labels shown per column, and the characters shown of each. */
enum { SHOW_LEVELS = 5, SHOW_CHARS = 24 };

typedef struct info_col {
  char *name;
  hid_t dset, ftype;
  int64_t nrows;
  hlm_src_kind kind;
  int numeric_override;
  hlm_coltype type;
  char storage[160];
  int64_t nmissing;
  char **levels; /* coded: the `levels` attribute; text: distinct, sorted */
  int64_t nlevels;
} info_col;

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort v[0..*n) and drop repeats (freeing them). */
static void sort_unique(char **v, int64_t *n)
{
  int64_t k = 0;
  qsort(v, (size_t)*n, sizeof *v, cmp_str);
  for (int64_t i = 0; i < *n; i++) {
    if (k > 0 && strcmp(v[k - 1], v[i]) == 0) {
      free(v[i]);
    } else {
      v[k++] = v[i];
    }
  }
  *n = k;
}

/* "float64", "int32", "uint8", "string (variable length, UTF-8)", ... */
static void describe_type(hid_t t, char *buf, size_t len)
{
  size_t size = H5Tget_size(t);
  switch (H5Tget_class(t)) {
  case H5T_FLOAT:
    snprintf(buf, len, "float%zu", 8 * size);
    break;
  case H5T_INTEGER:
    snprintf(buf, len, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "",
             8 * size);
    break;
  case H5T_STRING:
    if (H5Tis_variable_str(t) > 0) {
      snprintf(buf, len, "string (variable length, %s)",
               H5Tget_cset(t) == H5T_CSET_UTF8 ? "UTF-8" : "ASCII");
    } else {
      snprintf(buf, len, "string (fixed, %zu bytes, %s)", size,
               H5Tget_cset(t) == H5T_CSET_UTF8 ? "UTF-8" : "ASCII");
    }
    break;
  default:
    snprintf(buf, len, "other");
    break;
  }
}

/* Append the layout and filters of dset to buf: ", chunked (1048576), gzip
 * 6, shuffle". */
static hlm_status describe_layout(hid_t dset, const char *name, char *buf,
                                  size_t len)
{
  hlm_status status = HLM_OK;
  hid_t dcpl = H5I_INVALID_HID;
  size_t used = strlen(buf);
  H5_CHECK(dcpl = H5Dget_create_plist(dset),
           "cannot get the storage properties of `%s`", name);
  H5D_layout_t layout = H5Pget_layout(dcpl);
  if (layout == H5D_CHUNKED) {
    hsize_t chunk[H5S_MAX_RANK] = {0};
    H5_CHECK(H5Pget_chunk(dcpl, H5S_MAX_RANK, chunk),
             "cannot get the chunks of `%s`", name);
    snprintf(buf + used, len - used, ", chunked (%llu)",
             (unsigned long long)chunk[0]);
  } else {
    snprintf(buf + used, len - used, ", %s",
             layout == H5D_COMPACT   ? "compact"
             : layout == H5D_VIRTUAL ? "virtual"
                                     : "contiguous");
  }
  int nfilters = H5Pget_nfilters(dcpl);
  H5_CHECK(nfilters, "cannot get the filters of `%s`", name);
  for (int k = 0; k < nfilters; k++) {
    unsigned flags = 0, cd[8] = {0};
    size_t ncd = 8;
    char fname[64] = "";
    H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)k, &flags, &ncd, cd,
                                     sizeof fname, fname, NULL);
    H5_CHECK(id, "cannot get the filters of `%s`", name);
    used = strlen(buf);
    if (id == H5Z_FILTER_DEFLATE) {
      snprintf(buf + used, len - used, ", gzip %u", ncd > 0 ? cd[0] : 0);
    } else if (id == H5Z_FILTER_SHUFFLE) {
      snprintf(buf + used, len - used, ", shuffle");
    } else if (id == H5Z_FILTER_FLETCHER32) {
      snprintf(buf + used, len - used, ", fletcher32");
    } else if (id == H5Z_FILTER_SZIP) {
      snprintf(buf + used, len - used, ", szip");
    } else {
      snprintf(buf + used, len - used, ", filter %d%s%s%s", (int)id,
               fname[0] ? " (" : "", fname, fname[0] ? ")" : "");
    }
  }
cleanup:
  if (dcpl >= 0) {
    H5Pclose(dcpl);
  }
  return status;
}

/* Read rows [start, start+count) of c as memtype into buf. */
static hlm_status read_block(const info_col *c, hid_t memtype, int64_t start,
                             int64_t count, void *buf, const char *h5)
{
  hlm_status status = HLM_OK;
  hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
  hsize_t off = (hsize_t)start, cnt = (hsize_t)count;
  H5_CHECK(fspace = H5Dget_space(c->dset), "cannot read `%s` of %s", c->name,
           h5);
  H5_CHECK(mspace = H5Screate_simple(1, &cnt, NULL), "cannot read `%s` of %s",
           c->name, h5);
  H5_CHECK(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &off, NULL, &cnt, NULL),
           "cannot read `%s` of %s", c->name, h5);
  H5_CHECK(H5Dread(c->dset, memtype, mspace, fspace, H5P_DEFAULT, buf),
           "cannot read rows %" PRId64 "-%" PRId64 " of `%s` in %s", start + 1,
           start + count, c->name, h5);
cleanup:
  if (mspace >= 0) {
    H5Sclose(mspace);
  }
  if (fspace >= 0) {
    H5Sclose(fspace);
  }
  return status;
}

/* The smallest value of a signed stored integer type shorter than 64 bits
 * is its missing value (docs/data-format.md); INT64_MIN always is. */
static int64_t stored_min(hid_t ftype)
{
  size_t bytes = H5Tget_size(ftype);
  if (H5Tget_sign(ftype) != H5T_SGN_2 || bytes >= 8) {
    return HLM_INT_MISSING;
  }
  return -((int64_t)1 << (8 * bytes - 1));
}

/* Count the missing values of c and find its levels. */
static hlm_status scan_values(info_col *c, const char *h5)
{
  hlm_status status = HLM_OK;
  unsigned char *buf = NULL; /* block doubles or int64s */
  char **text = NULL;
  int64_t ntext = 0, cap = 0;
  int32_t ncoded = 0;
  int64_t block = c->nrows < INFO_BLOCK ? c->nrows : INFO_BLOCK;
  if (c->kind == SRC_CODED) {
    HLM_TRY(hlm_hdf5_read_string_attr(c->dset, "levels", &c->levels, &ncoded));
    c->nlevels = ncoded;
  }
  if (c->kind == SRC_STRING) {
    HLM_ALLOC(text, block);
  } else {
    HLM_ALLOC(buf, block * 8);
  }
  for (int64_t start = 0; start < c->nrows; start += block) {
    int64_t count = c->nrows - start < block ? c->nrows - start : block;
    if (c->kind == SRC_FLOAT || (c->kind == SRC_INT && c->numeric_override)) {
      const double *v = (const double *)buf;
      HLM_TRY(read_block(c, H5T_NATIVE_DOUBLE, start, count, buf, h5));
      for (int64_t i = 0; i < count; i++) {
        c->nmissing += isnan(v[i]) != 0;
      }
    } else if (c->kind == SRC_INT || c->kind == SRC_CODED) {
      const int64_t *v = (const int64_t *)buf;
      int64_t missing = c->kind == SRC_INT ? stored_min(c->ftype) : -1;
      HLM_TRY(read_block(c, H5T_NATIVE_INT64, start, count, buf, h5));
      for (int64_t i = 0; i < count; i++) {
        c->nmissing += v[i] == missing;
        HLM_CHECK(c->kind == SRC_INT || (v[i] >= -1 && v[i] < c->nlevels),
                  HLM_ERR_DATA,
                  "%s: column `%s`, row %" PRId64 ": code %" PRId64
                  " is neither -1 (missing) nor a level code 0..%" PRId64,
                  h5, c->name, start + i + 1, v[i], c->nlevels - 1);
      }
    } else {
      HLM_TRY(hlm_hdf5_read_strings(c->dset, c->ftype, start, count, text));
      for (int64_t i = 0; i < count; i++) {
        if (text[i][0] == '\0') {
          c->nmissing++;
          free(text[i]);
          text[i] = NULL;
          continue;
        }
        if (ntext == cap) {
          int64_t grown = cap ? 2 * cap : 1024;
          char **more = realloc(c->levels, (size_t)grown * sizeof *more);
          HLM_CHECK(more != NULL, HLM_ERR_NOMEM, "out of memory");
          c->levels = more;
          cap = grown;
        }
        c->levels[ntext++] = text[i];
        text[i] = NULL;
        if (ntext == cap) {
          sort_unique(c->levels, &ntext);
        }
      }
      sort_unique(c->levels, &ntext);
      c->nlevels = ntext;
    }
  }
cleanup:
  if (c->kind == SRC_STRING) {
    c->nlevels = ntext;
  }
  for (int64_t i = 0; text != NULL && i < block; i++) {
    free(text[i]);
  }
  free(text);
  free(buf);
  return status;
}

/* Open column `name` of g: a 1-D dataset; classify it. */
static hlm_status open_column(hid_t g, const char *h5, const char *gname,
                              info_col *c)
{
  hlm_status status = HLM_OK;
  hid_t space = H5I_INVALID_HID;
  char *hlm_type = NULL, *list = NULL;
  H5O_info_t oinfo;
  hsize_t dim = 0;
  htri_t exists = H5Lexists(g, c->name, H5P_DEFAULT);
  H5_CHECK(exists, "cannot look for `%s` in %s", c->name, h5);
  if (exists) {
    H5_CHECK(H5Oget_info_by_name(g, c->name, &oinfo, H5P_DEFAULT),
             "cannot look at `%s` in %s", c->name, h5);
  }
  if (!exists || oinfo.type != H5O_TYPE_DATASET) {
    HLM_TRY(hlm_hdf5_list_names(g, H5O_TYPE_DATASET, &list));
    HLM_CHECK(0, HLM_ERR_DATA,
              "%s: the `columns` attribute of group `%s` names `%s`, which "
              "is not a dataset there; datasets there: %s",
              h5, gname, c->name, list[0] ? list : "(none)");
  }
  H5_CHECK(c->dset = H5Dopen2(g, c->name, H5P_DEFAULT),
           "cannot open column `%s` of %s", c->name, h5);
  H5_CHECK(c->ftype = H5Dget_type(c->dset), "cannot get the type of `%s`",
           c->name);
  H5_CHECK(space = H5Dget_space(c->dset), "cannot get the shape of `%s`",
           c->name);
  int ndims = H5Sget_simple_extent_ndims(space);
  HLM_CHECK(ndims == 1, HLM_ERR_DATA,
            "%s: column `%s` is not one-dimensional (%d dimensions)", h5,
            c->name, ndims);
  H5_CHECK(H5Sget_simple_extent_dims(space, &dim, NULL),
           "cannot get the shape of `%s`", c->name);
  c->nrows = (int64_t)dim;
  HLM_TRY(hlm_hdf5_string_attr_or_null(c->dset, "hlm_type", &hlm_type));
  HLM_TRY(hlm_hdf5_classify(c->dset, c->ftype, c->name, hlm_type, &c->kind,
                            &c->numeric_override));
  c->type = c->kind == SRC_FLOAT                        ? HLM_COL_NUMERIC
            : c->kind == SRC_INT && c->numeric_override ? HLM_COL_NUMERIC
            : c->kind == SRC_INT                        ? HLM_COL_INTEGER
                                                        : HLM_COL_CATEGORICAL;
  describe_type(c->ftype, c->storage, sizeof c->storage);
  HLM_TRY(describe_layout(c->dset, c->name, c->storage, sizeof c->storage));
cleanup:
  if (space >= 0) {
    H5Sclose(space);
  }
  free(hlm_type);
  free(list);
  return status;
}

/* Error unless all columns have the same length; names them all. */
static hlm_status check_lengths(const info_col *cols, int n, const char *h5,
                                const char *gname)
{
  char list[700] = "";
  size_t used = 0;
  int same = 1;
  for (int j = 1; j < n; j++) {
    same = same && cols[j].nrows == cols[0].nrows;
  }
  if (same) {
    return HLM_OK;
  }
  for (int j = 0; j < n && used + 40 < sizeof list; j++) {
    int w = snprintf(list + used, sizeof list - used, "%s`%s` %" PRId64,
                     j ? ", " : "", cols[j].name, cols[j].nrows);
    used += w > 0 ? (size_t)w : 0;
  }
  if (used + 40 >= sizeof list) {
    snprintf(list + used, sizeof list - used, ", ...");
  }
  return HLM_ERROR(HLM_ERR_DATA,
                   "%s: the columns of group `%s` have different lengths "
                   "(rows: %s); every column must have one value per row",
                   h5, gname, list);
}

static void print_info(FILE *out, const char *h5, const char *gname,
                       const info_col *cols, int n)
{
  int wname = 6, wstore = 9;
  for (int j = 0; j < n; j++) {
    int a = (int)strlen(cols[j].name), b = (int)strlen(cols[j].storage);
    wname = a > wname ? a : wname;
    wstore = b > wstore ? b : wstore;
  }
  fprintf(out, "%s, group /%s: %" PRId64 " row%s, %d column%s\n", h5, gname,
          n ? cols[0].nrows : 0, n && cols[0].nrows == 1 ? "" : "s", n,
          n == 1 ? "" : "s");
  if (n == 0) {
    return;
  }
  fprintf(out, "  %-*s  %-11s  %-*s  %7s  %s\n", wname, "column", "type",
          wstore, "stored as", "missing", "levels");
  for (int j = 0; j < n; j++) {
    const info_col *c = &cols[j];
    fprintf(out, "  %-*s  %-11s  %-*s  %7" PRId64, wname, c->name,
            hlm_coltype_name(c->type), wstore, c->storage, c->nmissing);
    if (c->type == HLM_COL_CATEGORICAL) {
      fprintf(out, "  %" PRId64 "%s", c->nlevels, c->nlevels ? ":" : "");
      for (int64_t k = 0; k < c->nlevels && k < SHOW_LEVELS; k++) {
        const char *s = c->levels[k];
        int cut = (int)strlen(s) > SHOW_CHARS;
        fprintf(out, "%s %.*s%s", k ? "," : "", SHOW_CHARS, s,
                cut ? "..." : "");
      }
      if (c->nlevels > SHOW_LEVELS) {
        fprintf(out, ", ...");
      }
    }
    fprintf(out, "\n");
  }
  fflush(out);
}

/* Rank 0's part of hlm_data_info. */
static hlm_status info_local(const char *h5, const char *group, FILE *out)
{
  hlm_status status = HLM_OK;
  hid_t fapl = H5I_INVALID_HID, fid = H5I_INVALID_HID, g = H5I_INVALID_HID;
  char **names = NULL, *groups = NULL;
  int32_t nnames = 0;
  info_col *cols = NULL;
  FILE *probe = NULL;
  const char *gname = group ? group : "data";
  while (gname[0] == '/' && gname[1] != '\0') {
    gname++;
  }
  HLM_CHECK(h5 != NULL, HLM_ERR_INVALID_ARG, "hlm_data_info: NULL file name");
  probe = fopen(h5, "rb");
  HLM_CHECK(probe != NULL, HLM_ERR_IO, "cannot open data file '%s': %s", h5,
            strerror(errno));
  htri_t is = H5Fis_hdf5(h5);
  H5Eclear2(H5E_DEFAULT);
  HLM_CHECK(is > 0, HLM_ERR_DATA, "'%s' is not an HDF5 file", h5);
  H5_CHECK(fapl = H5Pcreate(H5P_FILE_ACCESS), "cannot make a property list");
  H5_CHECK(H5Pset_fapl_sec2(fapl), "cannot select the sec2 driver");
  H5_CHECK(fid = H5Fopen(h5, H5F_ACC_RDONLY, fapl), "cannot open '%s'", h5);

  H5O_info_t oinfo;
  htri_t exists = H5Oexists_by_name(fid, gname, H5P_DEFAULT);
  if (exists > 0) {
    exists = H5Oget_info_by_name(fid, gname, &oinfo, H5P_DEFAULT) >= 0 &&
             oinfo.type == H5O_TYPE_GROUP;
  }
  H5Eclear2(H5E_DEFAULT);
  if (exists <= 0) {
    HLM_TRY(hlm_hdf5_list_names(fid, H5O_TYPE_GROUP, &groups));
    HLM_CHECK(0, HLM_ERR_DATA,
              "data file '%s' has no group `%s`; groups there: %s (choose "
              "one with --group NAME)",
              h5, gname, groups[0] ? groups : "(none)");
  }
  H5_CHECK(g = H5Gopen2(fid, gname, H5P_DEFAULT),
           "cannot open group `%s` of %s", gname, h5);
  htri_t has_columns = H5Aexists(g, "columns");
  H5_CHECK(has_columns, "cannot look for attribute `columns` of `%s`", gname);
  if (has_columns) {
    HLM_TRY(hlm_hdf5_read_string_attr(g, "columns", &names, &nnames));
  } else {
    HLM_TRY(hlm_hdf5_dataset_names(g, &names, &nnames));
  }
  HLM_ALLOC(cols, nnames);
  for (int32_t j = 0; j < nnames; j++) {
    cols[j].name = names[j];
    cols[j].dset = cols[j].ftype = H5I_INVALID_HID;
  }
  for (int32_t j = 0; j < nnames; j++) {
    HLM_TRY(open_column(g, h5, gname, &cols[j]));
  }
  HLM_TRY(check_lengths(cols, nnames, h5, gname));
  for (int32_t j = 0; j < nnames; j++) {
    HLM_TRY(scan_values(&cols[j], h5));
  }
  if (out != NULL) {
    print_info(out, h5, gname, cols, nnames);
  }
cleanup:
  for (int32_t j = 0; cols != NULL && j < nnames; j++) {
    for (int64_t k = 0; cols[j].levels != NULL && k < cols[j].nlevels; k++) {
      free(cols[j].levels[k]);
    }
    free(cols[j].levels);
    if (cols[j].ftype >= 0) {
      H5Tclose(cols[j].ftype);
    }
    if (cols[j].dset >= 0) {
      H5Dclose(cols[j].dset);
    }
  }
  free(cols);
  for (int32_t j = 0; j < nnames; j++) {
    free(names[j]);
  }
  free(names);
  free(groups);
  if (g >= 0) {
    H5Gclose(g);
  }
  if (fid >= 0) {
    H5Fclose(fid);
  }
  if (fapl >= 0) {
    H5Pclose(fapl);
  }
  if (probe != NULL) {
    fclose(probe);
  }
  H5Eclear2(H5E_DEFAULT);
  return status;
}

hlm_status hlm_data_info(MPI_Comm comm, const char *h5, const char *group,
                         FILE *out)
{
  hlm_status status = HLM_OK;
  int rank = 0;
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    status = info_local(h5, group, out);
  }
  status = hlm_comm_agree(comm, status, "info", NULL);
cleanup:
  return status;
}
