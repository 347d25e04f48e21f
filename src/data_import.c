/* data_import.c: `hlm-mpi import`, a CSV file to the HDF5 layout of
 * docs/data-format.md.  Rank 0 reads the CSV twice, streaming: pass 1 infers
 * the column types, counts the rows and collects the categorical levels;
 * pass 2 converts the values chunk by chunk and writes them. */
#include "hdf5_util.h"
#include "hlm/comm.h"
#include "hlm/data.h"
#include "hlm/error.h"

#include <csv.h>
#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Rows per chunk of the datasets, and per write. */
#define IMPORT_CHUNK_MAX ((int64_t)1 << 20)
/* Distinct values kept for a column that still looks numeric; past this the
 * set is dropped and, should the column turn out categorical after all, an
 * extra pass collects its levels. */
enum { LEVEL_KEEP_MAX = 1 << 16 };
/* Longest value quoted in an error message. */
enum { QUOTE_MAX = 60 };

/* ---- a set of strings (open addressing, FNV-1a) with an int32 per key ---- */

typedef struct strset {
  char **keys; /* cap slots, NULL = empty; owned */
  int32_t *vals;
  size_t cap, n;
} strset;

static uint64_t str_hash(const char *s)
{
  uint64_t h = 14695981039346656037u;
  for (; *s; s++) {
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  }
  return h;
}

static void strset_free(strset *set)
{
  for (size_t i = 0; i < set->cap; i++) {
    free(set->keys[i]);
  }
  free(set->keys);
  free(set->vals);
  set->keys = NULL;
  set->vals = NULL;
  set->cap = set->n = 0;
}

/* Slot of s: where it is, or the empty slot where it would go. */
static size_t strset_slot(const strset *set, const char *s)
{
  size_t i = (size_t)str_hash(s) & (set->cap - 1);
  while (set->keys[i] != NULL && strcmp(set->keys[i], s) != 0) {
    i = (i + 1) & (set->cap - 1);
  }
  return i;
}

static hlm_status strset_grow(strset *set)
{
  hlm_status status = HLM_OK;
  strset big = {NULL, NULL, set->cap ? 2 * set->cap : 64, 0};
  HLM_ALLOC(big.keys, big.cap);
  HLM_ALLOC(big.vals, big.cap);
  for (size_t i = 0; i < set->cap; i++) {
    if (set->keys[i] != NULL) {
      size_t j = strset_slot(&big, set->keys[i]);
      big.keys[j] = set->keys[i];
      big.vals[j] = set->vals[i];
      big.n++;
    }
  }
  free(set->keys);
  free(set->vals);
  *set = big;
  big.keys = NULL;
  big.vals = NULL;
cleanup:
  free(big.keys);
  free(big.vals);
  return status;
}

static hlm_status strset_add(strset *set, const char *s)
{
  hlm_status status = HLM_OK;
  if (2 * (set->n + 1) > set->cap) {
    HLM_TRY(strset_grow(set));
  }
  size_t i = strset_slot(set, s);
  if (set->keys[i] == NULL) {
    set->keys[i] = strdup(s);
    HLM_CHECK(set->keys[i] != NULL, HLM_ERR_NOMEM, "out of memory");
    set->vals[i] = -1;
    set->n++;
  }
cleanup:
  return status;
}

/* The value stored with s, or -1 when s is not in the set. */
static int32_t strset_get(const strset *set, const char *s)
{
  if (set->cap == 0) {
    return -1;
  }
  size_t i = strset_slot(set, s);
  return set->keys[i] ? set->vals[i] : -1;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- the CSV reader ---- */

typedef enum pass_mode { PASS_SCAN, PASS_LEVELS, PASS_CONVERT } pass_mode;

typedef struct import_col {
  char *name;
  int declared;     /* 1 if --type set the type */
  hlm_coltype type; /* the declared type; after pass 1 the chosen one */
  int maybe_int;    /* every non-missing field so far is an integer */
  int maybe_num;    /* ... a number */
  strset levels;    /* distinct non-missing values; after pass 1, codes */
  int dropped;      /* levels dropped at LEVEL_KEEP_MAX; rescan if needed */
  char **sorted;    /* categorical: the levels in byte order (keys of levels) */
  int64_t nmissing;
  /* pass 2 */
  hid_t dset;
  double *num;
  int64_t *ival;
  int32_t *code;
} import_col;

typedef struct csv_reader {
  const char *path;
  pass_mode mode;
  hlm_status status; /* first failure in a callback; later ones are ignored */
  int64_t line;      /* physical line being parsed, from 1 */
  int64_t row_line;  /* line where the current record began */
  int64_t end_line;  /* line where the last record ended */
  int field;         /* index of the next field of the current record */
  int64_t nrecords;  /* records completed, the header included */
  /* header: the names while the first record is read */
  char **names;
  int nnames, cap_names;
  /* columns, once the header is complete */
  import_col *cols;
  int ncols;
  const hlm_type_override *overrides;
  int noverrides;
  /* pass 2 */
  int64_t nrows; /* from pass 1 */
  int64_t chunk; /* rows per write */
  int64_t nbuf;  /* rows in the buffers */
  int64_t nwritten;
  const char *h5; /* for messages */
} csv_reader;

static int is_num_missing(const char *s)
{
  return s[0] == '\0' || !strcmp(s, "NA") || !strcmp(s, "NaN") ||
         !strcmp(s, "nan");
}

static int is_cat_missing(const char *s)
{
  return s[0] == '\0' || !strcmp(s, "NA");
}

/* Optional sign and decimal digits, within (INT64_MIN, INT64_MAX]: INT64_MIN
 * itself is the missing value. */
static int parse_int64(const char *s, int64_t *out)
{
  int neg = 0;
  uint64_t v = 0;
  if (*s == '+' || *s == '-') {
    neg = *s == '-';
    s++;
  }
  if (*s < '0' || *s > '9') {
    return 0;
  }
  for (; *s >= '0' && *s <= '9'; s++) {
    unsigned d = (unsigned)(*s - '0');
    if (v > ((uint64_t)INT64_MAX - d) / 10) {
      return 0;
    }
    v = 10 * v + d;
  }
  if (*s != '\0') {
    return 0;
  }
  *out = neg ? -(int64_t)v : (int64_t)v;
  return 1;
}

/* A C floating constant (strtod: inf and nan included), the whole field. */
static int parse_double(const char *s, double *out)
{
  char *end = NULL;
  if (s[0] == '\0' || s[0] == ' ' || s[0] == '\t' || s[0] == '\n' ||
      s[0] == '\r' || s[0] == '\f' || s[0] == '\v') {
    return 0;
  }
  double v = strtod(s, &end);
  if (*end != '\0') {
    return 0;
  }
  *out = v;
  return 1;
}

/* A value for a message: quoted, cut at QUOTE_MAX bytes. */
static const char *quoted(const char *s, char *buf, size_t len)
{
  size_t n = strlen(s);
  if (n > QUOTE_MAX) {
    snprintf(buf, len, "`%.*s...`", QUOTE_MAX, s);
  } else {
    snprintf(buf, len, "`%s`", s);
  }
  return buf;
}

static hlm_status header_field(csv_reader *r, const char *s)
{
  hlm_status status = HLM_OK;
  if (r->nnames == r->cap_names) {
    int cap = r->cap_names ? 2 * r->cap_names : 16;
    char **names = realloc(r->names, (size_t)cap * sizeof *names);
    HLM_CHECK(names != NULL, HLM_ERR_NOMEM, "out of memory reading %s",
              r->path);
    r->names = names;
    r->cap_names = cap;
  }
  if (r->nnames == 0 && strncmp(s, "\xEF\xBB\xBF", 3) == 0) {
    s += 3; /* a UTF-8 byte-order mark */
  }
  r->names[r->nnames] = strdup(s);
  HLM_CHECK(r->names[r->nnames] != NULL, HLM_ERR_NOMEM,
            "out of memory reading %s", r->path);
  r->nnames++;
cleanup:
  return status;
}

/* The header record is complete: check the names, make the columns, apply
 * the --type overrides. */
static hlm_status header_done(csv_reader *r)
{
  hlm_status status = HLM_OK;
  char q[QUOTE_MAX + 8];
  strset seen = {NULL, NULL, 0, 0};
  HLM_ALLOC(r->cols, r->nnames);
  r->ncols = r->nnames;
  for (int j = 0; j < r->ncols; j++) {
    import_col *c = &r->cols[j];
    c->name = r->names[j];
    r->names[j] = NULL;
    c->type = HLM_COL_CATEGORICAL;
    c->maybe_int = c->maybe_num = 1;
    c->dset = H5I_INVALID_HID;
    HLM_CHECK(c->name[0] != '\0', HLM_ERR_DATA,
              "%s:%" PRId64 ": column %d has an empty name", r->path,
              r->row_line, j + 1);
    HLM_CHECK(strchr(c->name, '/') == NULL && strcmp(c->name, ".") != 0,
              HLM_ERR_DATA,
              "%s:%" PRId64 ": column name %s cannot be an HDF5 dataset name "
              "(no '/', not '.')",
              r->path, r->row_line, quoted(c->name, q, sizeof q));
    int32_t prev = strset_get(&seen, c->name);
    HLM_CHECK(prev < 0, HLM_ERR_DATA,
              "%s:%" PRId64 ": column name %s appears twice (columns %d and "
              "%d)",
              r->path, r->row_line, quoted(c->name, q, sizeof q), prev + 1,
              j + 1);
    HLM_TRY(strset_add(&seen, c->name));
    seen.vals[strset_slot(&seen, c->name)] = j;
  }
  for (int k = 0; k < r->noverrides; k++) {
    const hlm_type_override *o = &r->overrides[k];
    int32_t j = strset_get(&seen, o->column);
    if (j < 0) {
      char list[600] = "";
      size_t used = 0;
      for (int i = 0; i < r->ncols && used + 8 < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                         r->cols[i].name);
        used += w > 0 ? (size_t)w : 0;
      }
      HLM_CHECK(0, HLM_ERR_DATA,
                "--type names column %s, which %s does not have (its "
                "columns: %s)",
                quoted(o->column, q, sizeof q), r->path, list);
    }
    HLM_CHECK(!r->cols[j].declared || r->cols[j].type == o->type, HLM_ERR_USAGE,
              "--type gives column %s two types",
              quoted(o->column, q, sizeof q));
    r->cols[j].declared = 1;
    r->cols[j].type = o->type;
  }
cleanup:
  strset_free(&seen);
  return status;
}

/* Pass 1: check a declared type, or narrow the inferred one; collect
 * levels. */
static hlm_status scan_value(csv_reader *r, import_col *c, const char *s,
                             int64_t line)
{
  hlm_status status = HLM_OK;
  char q[QUOTE_MAX + 8];
  int64_t iv = 0;
  double dv = 0;
  if (c->declared && c->type != HLM_COL_CATEGORICAL) {
    if (is_num_missing(s)) {
      return HLM_OK;
    }
    if (c->type == HLM_COL_NUMERIC) {
      HLM_CHECK(parse_double(s, &dv), HLM_ERR_DATA,
                "%s:%" PRId64 ": column `%s`: %s is not a number", r->path,
                line, c->name, quoted(s, q, sizeof q));
    } else {
      HLM_CHECK(parse_int64(s, &iv), HLM_ERR_DATA,
                "%s:%" PRId64 ": column `%s`: %s is not an integer%s", r->path,
                line, c->name, quoted(s, q, sizeof q),
                parse_double(s, &dv) ? "" : " (nor a number)");
    }
    return HLM_OK;
  }
  if (!c->declared && c->maybe_num && !is_num_missing(s)) {
    if (c->maybe_int && !parse_int64(s, &iv)) {
      c->maybe_int = 0;
    }
    if (!c->maybe_int && !parse_double(s, &dv)) {
      c->maybe_num = 0;
    }
  }
  if (!c->dropped && !is_cat_missing(s)) {
    HLM_TRY(strset_add(&c->levels, s));
    if (!c->declared && c->maybe_num && c->levels.n > LEVEL_KEEP_MAX) {
      strset_free(&c->levels);
      c->dropped = 1;
    }
  }
cleanup:
  return status;
}

/* Pass 2: one value into the column's buffer. */
static hlm_status convert_value(csv_reader *r, import_col *c, const char *s,
                                int64_t line)
{
  hlm_status status = HLM_OK;
  int64_t i = r->nbuf;
  switch (c->type) {
  case HLM_COL_NUMERIC:
    if (is_num_missing(s)) {
      c->num[i] = NAN;
    } else {
      HLM_CHECK(parse_double(s, &c->num[i]), HLM_ERR_DATA,
                "%s:%" PRId64 ": column `%s` changed while it was imported",
                r->path, line, c->name);
    }
    if (isnan(c->num[i])) {
      c->nmissing++;
    }
    break;
  case HLM_COL_INTEGER:
    if (is_num_missing(s)) {
      c->ival[i] = HLM_INT_MISSING;
      c->nmissing++;
    } else {
      HLM_CHECK(parse_int64(s, &c->ival[i]), HLM_ERR_DATA,
                "%s:%" PRId64 ": column `%s` changed while it was imported",
                r->path, line, c->name);
    }
    break;
  case HLM_COL_CATEGORICAL:
    if (is_cat_missing(s)) {
      c->code[i] = HLM_CODE_MISSING;
      c->nmissing++;
    } else {
      c->code[i] = strset_get(&c->levels, s);
      HLM_CHECK(c->code[i] >= 0, HLM_ERR_DATA,
                "%s:%" PRId64 ": column `%s` changed while it was imported",
                r->path, line, c->name);
    }
    break;
  }
cleanup:
  return status;
}

/* Write the buffered rows of every column at rows nwritten.. */
static hlm_status flush_rows(csv_reader *r)
{
  hlm_status status = HLM_OK;
  hid_t mspace = H5I_INVALID_HID, fspace = H5I_INVALID_HID;
  hsize_t start = (hsize_t)r->nwritten, count = (hsize_t)r->nbuf;
  if (r->nbuf == 0) {
    return HLM_OK;
  }
  for (int j = 0; j < r->ncols; j++) {
    import_col *c = &r->cols[j];
    hid_t mtype = c->type == HLM_COL_NUMERIC   ? H5T_NATIVE_DOUBLE
                  : c->type == HLM_COL_INTEGER ? H5T_NATIVE_INT64
                                               : H5T_NATIVE_INT32;
    const void *buf = c->type == HLM_COL_NUMERIC   ? (const void *)c->num
                      : c->type == HLM_COL_INTEGER ? (const void *)c->ival
                                                   : (const void *)c->code;
    H5_CHECK(mspace = H5Screate_simple(1, &count, NULL),
             "cannot make a dataspace for `%s`", c->name);
    H5_CHECK(fspace = H5Dget_space(c->dset),
             "cannot get the dataspace of `%s` in %s", c->name, r->h5);
    H5_CHECK(
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL),
        "cannot select rows of `%s`", c->name);
    H5_CHECK(H5Dwrite(c->dset, mtype, mspace, fspace, H5P_DEFAULT, buf),
             "cannot write column `%s` to %s", c->name, r->h5);
    H5Sclose(mspace);
    H5Sclose(fspace);
    mspace = fspace = H5I_INVALID_HID;
  }
  r->nwritten += r->nbuf;
  r->nbuf = 0;
cleanup:
  if (mspace >= 0) {
    H5Sclose(mspace);
  }
  if (fspace >= 0) {
    H5Sclose(fspace);
  }
  return status;
}

static void on_field(void *s_, size_t len, void *data)
{
  csv_reader *r = data;
  const char *s = s_ ? s_ : "";
  hlm_status status = HLM_OK;
  int64_t line = r->line;
  if (r->status != HLM_OK) {
    return;
  }
  for (size_t k = 0; k < len; k++) {
    line -= s[k] == '\n'; /* the field began that many lines up */
  }
  if (r->field == 0) {
    r->row_line = line;
  }
  HLM_CHECK(len == 0 || memchr(s, '\0', len) == NULL, HLM_ERR_DATA,
            "%s:%" PRId64 ": a field holds a NUL byte (not a text file?)",
            r->path, line);
  if (r->nrecords == 0) {
    if (r->mode == PASS_SCAN) {
      HLM_TRY(header_field(r, s));
    }
  } else if (r->field < r->ncols) {
    import_col *c = &r->cols[r->field];
    if (r->mode == PASS_SCAN) {
      HLM_TRY(scan_value(r, c, s, line));
    } else if (r->mode == PASS_LEVELS) {
      if (c->dropped && !is_cat_missing(s)) {
        HLM_TRY(strset_add(&c->levels, s));
      }
    } else {
      HLM_TRY(convert_value(r, c, s, line));
    }
  }
  r->field++;
cleanup:
  r->status = status;
}

static void on_row(int term, void *data)
{
  csv_reader *r = data;
  hlm_status status = HLM_OK;
  (void)term;
  if (r->status != HLM_OK) {
    return;
  }
  if (r->nrecords == 0) {
    if (r->mode == PASS_SCAN) {
      HLM_TRY(header_done(r));
    } else {
      HLM_CHECK(r->field == r->ncols, HLM_ERR_DATA,
                "%s: the header changed while the file was imported", r->path);
    }
  } else {
    HLM_CHECK(r->field == r->ncols, HLM_ERR_DATA,
              "%s:%" PRId64 ": %d field%s, but the header has %d column%s",
              r->path, r->row_line, r->field, r->field == 1 ? "" : "s",
              r->ncols, r->ncols == 1 ? "" : "s");
    if (r->mode == PASS_CONVERT) {
      HLM_CHECK(r->nwritten + r->nbuf < r->nrows, HLM_ERR_DATA,
                "%s: rows were added while the file was imported", r->path);
      r->nbuf++;
      if (r->nbuf == r->chunk) {
        HLM_TRY(flush_rows(r));
      }
    }
  }
  r->nrecords++;
  r->field = 0;
  r->end_line = r->line;
cleanup:
  r->status = status;
}

/* One pass over the CSV file, fed to libcsv a line at a time so that the
 * callbacks know the line number. */
static hlm_status run_pass(csv_reader *r, FILE *f, pass_mode mode)
{
  hlm_status status = HLM_OK;
  struct csv_parser p;
  int inited = 0;
  char *buf = NULL;
  const size_t bufsize = 1 << 16;
  size_t n;
  HLM_ALLOC(buf, bufsize);
  HLM_CHECK(fseek(f, 0, SEEK_SET) == 0, HLM_ERR_IO, "cannot rewind %s: %s",
            r->path, strerror(errno));
  HLM_CHECK(csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) == 0,
            HLM_ERR_NOMEM, "out of memory starting the CSV parser");
  inited = 1;
  r->mode = mode;
  r->line = 1;
  r->row_line = 1;
  r->end_line = 0;
  r->field = 0;
  r->nrecords = 0;
  while ((n = fread(buf, 1, bufsize, f)) > 0) {
    size_t off = 0;
    while (off < n) {
      const char *nl = memchr(buf + off, '\n', n - off);
      size_t len = nl ? (size_t)(nl - (buf + off)) + 1 : n - off;
      size_t used = csv_parse(&p, buf + off, len, on_field, on_row, r);
      HLM_TRY(r->status);
      HLM_CHECK(used == len,
                csv_error(&p) == CSV_EPARSE ? HLM_ERR_DATA : HLM_ERR_NOMEM,
                "%s:%" PRId64 ": %s", r->path, r->line,
                csv_error(&p) == CSV_EPARSE
                    ? "malformed CSV: a quote inside an unquoted field, or "
                      "text after a closing quote"
                    : csv_strerror(csv_error(&p)));
      off += len;
      r->line += nl != NULL;
    }
  }
  HLM_CHECK(!ferror(f), HLM_ERR_IO, "cannot read %s: %s", r->path,
            strerror(errno));
  int rc = csv_fini(&p, on_field, on_row, r);
  HLM_TRY(r->status);
  HLM_CHECK(rc == 0, HLM_ERR_DATA,
            "%s:%" PRId64 ": a quoted field is not closed by the end of the "
            "file",
            r->path, r->end_line + 1);
cleanup:
  if (inited) {
    csv_free(&p);
  }
  free(buf);
  return status;
}

/* ---- the HDF5 output ---- */

/* Write a string attribute (variable-length UTF-8): a scalar when
 * scalar != 0, else a 1-D array of n strings. */
static hlm_status write_str_attr(hid_t obj, const char *what, const char *attr,
                                 const char *const *strs, size_t n, int scalar)
{
  hlm_status status = HLM_OK;
  hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, a = H5I_INVALID_HID;
  hsize_t dim = (hsize_t)n;
  H5_CHECK(type = H5Tcopy(H5T_C_S1), "cannot make a string type");
  H5_CHECK(H5Tset_size(type, H5T_VARIABLE), "cannot make a string type");
  H5_CHECK(H5Tset_cset(type, H5T_CSET_UTF8), "cannot make a string type");
  H5_CHECK(space =
               scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL),
           "cannot make a dataspace for attribute %s of %s", attr, what);
  H5_CHECK(a = H5Acreate2(obj, attr, type, space, H5P_DEFAULT, H5P_DEFAULT),
           "cannot create attribute %s of %s", attr, what);
  if (n > 0) {
    H5_CHECK(H5Awrite(a, type, strs), "cannot write attribute %s of %s", attr,
             what);
  }
cleanup:
  if (a >= 0) {
    H5Aclose(a);
  }
  if (space >= 0) {
    H5Sclose(space);
  }
  if (type >= 0) {
    H5Tclose(type);
  }
  return status;
}

/* Create the dataset of column c in group g, with its attributes. */
static hlm_status create_column(hid_t g, hid_t lcpl, import_col *c,
                                int64_t nrows, int64_t chunk, const char *where)
{
  hlm_status status = HLM_OK;
  hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
  hsize_t dim = (hsize_t)nrows, cdim = (hsize_t)chunk;
  const double nan_fill = NAN;
  const int64_t int_fill = HLM_INT_MISSING;
  const int32_t code_fill = HLM_CODE_MISSING;
  hid_t ftype = c->type == HLM_COL_NUMERIC   ? H5T_IEEE_F64LE
                : c->type == HLM_COL_INTEGER ? H5T_STD_I64LE
                                             : H5T_STD_I32LE;
  hid_t mtype = c->type == HLM_COL_NUMERIC   ? H5T_NATIVE_DOUBLE
                : c->type == HLM_COL_INTEGER ? H5T_NATIVE_INT64
                                             : H5T_NATIVE_INT32;
  const void *fill = c->type == HLM_COL_NUMERIC   ? (const void *)&nan_fill
                     : c->type == HLM_COL_INTEGER ? (const void *)&int_fill
                                                  : (const void *)&code_fill;
  const char *type = hlm_coltype_name(c->type);
  H5_CHECK(space = H5Screate_simple(1, &dim, NULL),
           "cannot make a dataspace of %" PRId64 " rows", nrows);
  H5_CHECK(dcpl = H5Pcreate(H5P_DATASET_CREATE), "cannot make a property list");
  H5_CHECK(H5Pset_chunk(dcpl, 1, &cdim), "cannot set chunks");
  H5_CHECK(H5Pset_fill_value(dcpl, mtype, fill), "cannot set fill value");
  H5_CHECK(c->dset =
               H5Dcreate2(g, c->name, ftype, space, lcpl, dcpl, H5P_DEFAULT),
           "cannot create dataset `%s` in %s", c->name, where);
  HLM_TRY(write_str_attr(c->dset, c->name, "hlm_type",
                         (const char *const *)&type, 1, 1));
  if (c->type == HLM_COL_CATEGORICAL) {
    HLM_TRY(write_str_attr(c->dset, c->name, "levels",
                           (const char *const *)c->sorted, c->levels.n, 0));
  }
cleanup:
  if (dcpl >= 0) {
    H5Pclose(dcpl);
  }
  if (space >= 0) {
    H5Sclose(space);
  }
  return status;
}

/* Check that group path gpath is not in f; *created gets the first
 * component that does not exist (to delete on failure), e.g. "a" of "a/b". */
static hlm_status check_group_free(hid_t f, const char *h5, const char *gpath,
                                   char **created)
{
  hlm_status status = HLM_OK;
  char *prefix = strdup(gpath);
  char *groups = NULL;
  HLM_CHECK(prefix != NULL, HLM_ERR_NOMEM, "out of memory");
  for (char *slash = prefix;; slash++) {
    slash = strchr(slash, '/');
    if (slash) {
      *slash = '\0';
    }
    htri_t e = H5Lexists(f, prefix, H5P_DEFAULT);
    H5_CHECK(e, "cannot look for `/%s` in %s", prefix, h5);
    if (!e) {
      *created = prefix;
      prefix = NULL;
      break;
    }
    if (slash == NULL) {
      HLM_TRY(hlm_hdf5_list_names(f, H5O_TYPE_GROUP, &groups));
      HLM_CHECK(0, HLM_ERR_DATA,
                "%s already holds `/%s`, which import never overwrites "
                "(groups there: %s); choose another with --group NAME",
                h5, gpath, groups[0] ? groups : "(none)");
    }
    *slash = '/';
  }
cleanup:
  free(groups);
  free(prefix);
  return status;
}

static hlm_status check_group_name(const char *group, const char **gpath)
{
  hlm_status status = HLM_OK;
  while (*group == '/') {
    group++;
  }
  size_t n = strlen(group);
  HLM_CHECK(n > 0 && group[n - 1] != '/' && !strstr(group, "//") &&
                strcmp(group, ".") != 0 && strncmp(group, "./", 2) != 0 &&
                !strstr(group, "/./") &&
                (n < 2 || strcmp(group + n - 2, "/.") != 0),
            HLM_ERR_USAGE, "bad group name `%s`", group);
  *gpath = group;
cleanup:
  return status;
}

static int file_exists(const char *path)
{
  return access(path, F_OK) == 0;
}

/* Put the finished temporary file at its name, never over an existing file:
 * link() fails if the name exists; where hard links are not supported,
 * fall back to rename() after a last check. */
static hlm_status publish(const char *tmp, const char *h5)
{
  hlm_status status = HLM_OK;
  if (link(tmp, h5) == 0) {
    unlink(tmp);
    return HLM_OK;
  }
  HLM_CHECK(errno != EEXIST, HLM_ERR_IO,
            "%s appeared while the import ran; it was left alone", h5);
  HLM_CHECK(!file_exists(h5), HLM_ERR_IO,
            "%s appeared while the import ran; it was left alone", h5);
  HLM_CHECK(rename(tmp, h5) == 0, HLM_ERR_IO, "cannot rename %s to %s: %s", tmp,
            h5, strerror(errno));
cleanup:
  return status;
}

static void print_report(FILE *report, const csv_reader *r, const char *h5,
                         const char *gpath)
{
  fprintf(report, "%s: %" PRId64 " row%s, %d column%s -> %s, group /%s\n",
          r->path, r->nrows, r->nrows == 1 ? "" : "s", r->ncols,
          r->ncols == 1 ? "" : "s", h5, gpath);
  for (int j = 0; j < r->ncols; j++) {
    const import_col *c = &r->cols[j];
    fprintf(report, "  %s: %s", c->name, hlm_coltype_name(c->type));
    if (c->type == HLM_COL_CATEGORICAL) {
      fprintf(report, " (%zu level%s)", c->levels.n,
              c->levels.n == 1 ? "" : "s");
    }
    if (c->nmissing > 0) {
      fprintf(report, ", %" PRId64 " missing", c->nmissing);
    }
    fprintf(report, "%s\n", c->declared ? " [--type]" : "");
  }
  fflush(report);
}

static void reader_free(csv_reader *r)
{
  for (int j = 0; j < r->nnames; j++) {
    free(r->names[j]);
  }
  free(r->names);
  for (int j = 0; j < r->ncols; j++) {
    import_col *c = &r->cols[j];
    free(c->name);
    free(c->sorted);
    strset_free(&c->levels);
    free(c->num);
    free(c->ival);
    free(c->code);
    if (c->dset >= 0) {
      H5Dclose(c->dset);
    }
  }
  free(r->cols);
}

/* Decide the types after pass 1; sort the levels and number them. */
static void settle_types(csv_reader *r, int *rescan)
{
  *rescan = 0;
  for (int j = 0; j < r->ncols; j++) {
    import_col *c = &r->cols[j];
    if (!c->declared) {
      c->type = c->maybe_int   ? HLM_COL_INTEGER
                : c->maybe_num ? HLM_COL_NUMERIC
                               : HLM_COL_CATEGORICAL;
    }
    if (c->type != HLM_COL_CATEGORICAL) {
      strset_free(&c->levels);
      c->dropped = 0;
    } else if (c->dropped) {
      *rescan = 1;
    }
  }
}

static hlm_status number_levels(csv_reader *r)
{
  hlm_status status = HLM_OK;
  char q[QUOTE_MAX + 8];
  for (int j = 0; j < r->ncols; j++) {
    import_col *c = &r->cols[j];
    if (c->type != HLM_COL_CATEGORICAL) {
      continue;
    }
    HLM_CHECK(c->levels.n <= INT32_MAX, HLM_ERR_DATA,
              "%s: column %s has %zu levels, more than int32 codes can hold",
              r->path, quoted(c->name, q, sizeof q), c->levels.n);
    HLM_ALLOC(c->sorted, c->levels.n);
    size_t k = 0;
    for (size_t i = 0; i < c->levels.cap; i++) {
      if (c->levels.keys[i] != NULL) {
        c->sorted[k++] = c->levels.keys[i];
      }
    }
    qsort(c->sorted, c->levels.n, sizeof *c->sorted, cmp_str);
    for (size_t i = 0; i < c->levels.n; i++) {
      c->levels.vals[strset_slot(&c->levels, c->sorted[i])] = (int32_t)i;
    }
  }
cleanup:
  return status;
}

/* Rank 0's part of hlm_import_csv. */
static hlm_status import_local(const char *csv, const char *h5,
                               const char *group,
                               const hlm_type_override *overrides,
                               int noverrides, FILE *report)
{
  hlm_status status = HLM_OK;
  csv_reader r;
  FILE *f = NULL;
  const char *gpath = NULL;
  char *tmp = NULL, *created = NULL, *where = NULL;
  int new_file = 0, rescan = 0;
  hid_t fapl = H5I_INVALID_HID, fid = H5I_INVALID_HID;
  hid_t lcpl = H5I_INVALID_HID, gcpl = H5I_INVALID_HID, g = H5I_INVALID_HID;
  memset(&r, 0, sizeof r);
  r.path = csv;
  r.h5 = h5;
  r.overrides = overrides;
  r.noverrides = noverrides;

  HLM_CHECK(csv != NULL && h5 != NULL && (overrides != NULL || !noverrides),
            HLM_ERR_INVALID_ARG, "hlm_import_csv: NULL argument");
  HLM_TRY(check_group_name(group ? group : "data", &gpath));
  f = fopen(csv, "rb");
  HLM_CHECK(f != NULL, HLM_ERR_IO, "cannot open CSV file '%s': %s", csv,
            strerror(errno));

  /* Pass 1: header, types, rows, levels. */
  HLM_TRY(run_pass(&r, f, PASS_SCAN));
  HLM_CHECK(r.nrecords > 0, HLM_ERR_DATA,
            "%s is empty: expected a header line of column names", csv);
  HLM_CHECK(r.nrecords > 1, HLM_ERR_DATA,
            "%s has a header but no data rows: nothing to import", csv);
  r.nrows = r.nrecords - 1;
  settle_types(&r, &rescan);
  if (rescan) {
    HLM_TRY(run_pass(&r, f, PASS_LEVELS));
  }
  HLM_TRY(number_levels(&r));

  /* The output: a new file under a temporary name, or a new group in an
   * existing HDF5 file. */
  H5_CHECK(fapl = H5Pcreate(H5P_FILE_ACCESS), "cannot make a property "
                                              "list");
  H5_CHECK(H5Pset_fapl_sec2(fapl), "cannot select the sec2 driver");
  /* 1.8 object headers: attributes over 64 KiB (many levels) go to dense
   * storage instead of failing; readable by HDF5 1.8 and later. */
  H5_CHECK(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18),
           "cannot set the HDF5 format version");
  if (file_exists(h5)) {
    htri_t is = H5Fis_hdf5(h5);
    H5Eclear2(H5E_DEFAULT);
    HLM_CHECK(is > 0, HLM_ERR_IO,
              "%s exists and is not an HDF5 file; import adds to HDF5 files "
              "only and never overwrites other files",
              h5);
    H5_CHECK(fid = H5Fopen(h5, H5F_ACC_RDWR, fapl),
             "cannot open %s for writing", h5);
    HLM_TRY(check_group_free(fid, h5, gpath, &created));
  } else {
    size_t len = strlen(h5) + 32;
    HLM_ALLOC(tmp, len);
    snprintf(tmp, len, "%s.tmp.%ld", h5, (long)getpid());
    H5_CHECK(fid = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl),
             "cannot create %s", tmp);
    new_file = 1;
  }
  size_t wlen = strlen(h5) + strlen(gpath) + 4;
  HLM_ALLOC(where, wlen);
  snprintf(where, wlen, "%s:/%s", h5, gpath);

  H5_CHECK(lcpl = H5Pcreate(H5P_LINK_CREATE), "cannot make a property "
                                              "list");
  H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1),
           "cannot set a link property");
  H5_CHECK(H5Pset_char_encoding(lcpl, H5T_CSET_UTF8),
           "cannot set a link property");
  H5_CHECK(gcpl = H5Pcreate(H5P_GROUP_CREATE), "cannot make a property "
                                               "list");
  H5_CHECK(H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED |
                                                H5P_CRT_ORDER_INDEXED),
           "cannot set a group property");
  H5_CHECK(g = H5Gcreate2(fid, gpath, lcpl, gcpl, H5P_DEFAULT),
           "cannot create group /%s in %s", gpath, h5);
  {
    const char **names = NULL;
    HLM_ALLOC(names, r.ncols);
    for (int j = 0; j < r.ncols; j++) {
      names[j] = r.cols[j].name;
    }
    status = write_str_attr(g, where, "columns", names, (size_t)r.ncols, 0);
    free(names);
    HLM_TRY(status);
  }
  r.chunk = r.nrows < IMPORT_CHUNK_MAX ? r.nrows : IMPORT_CHUNK_MAX;
  for (int j = 0; j < r.ncols; j++) {
    import_col *c = &r.cols[j];
    HLM_TRY(create_column(g, lcpl, c, r.nrows, r.chunk, where));
    if (c->type == HLM_COL_NUMERIC) {
      HLM_ALLOC(c->num, r.chunk);
    } else if (c->type == HLM_COL_INTEGER) {
      HLM_ALLOC(c->ival, r.chunk);
    } else {
      HLM_ALLOC(c->code, r.chunk);
    }
  }
  HLM_TRY(hlm_fault_point("import_write", 0));

  /* Pass 2: convert and write. */
  HLM_TRY(run_pass(&r, f, PASS_CONVERT));
  HLM_TRY(flush_rows(&r));
  HLM_CHECK(r.nwritten == r.nrows, HLM_ERR_DATA,
            "%s: rows were removed while the file was imported", csv);

  for (int j = 0; j < r.ncols; j++) {
    H5_CHECK(H5Dclose(r.cols[j].dset), "cannot close `%s` in %s",
             r.cols[j].name, where);
    r.cols[j].dset = H5I_INVALID_HID;
  }
  H5_CHECK(H5Gclose(g), "cannot close %s", where);
  g = H5I_INVALID_HID;
  H5_CHECK(H5Fclose(fid), "cannot close %s", new_file ? tmp : h5);
  fid = H5I_INVALID_HID;
  if (new_file) {
    HLM_TRY(publish(tmp, h5));
  }
  if (report != NULL) {
    print_report(report, &r, h5, gpath);
  }

cleanup:
  if (f != NULL) {
    fclose(f);
  }
  for (int j = 0; j < r.ncols; j++) {
    if (r.cols[j].dset >= 0) {
      H5Dclose(r.cols[j].dset);
      r.cols[j].dset = H5I_INVALID_HID;
    }
  }
  if (g >= 0) {
    H5Gclose(g);
  }
  if (status != HLM_OK && fid >= 0 && !new_file && created != NULL) {
    H5Ldelete(fid, created, H5P_DEFAULT); /* best effort */
  }
  if (fid >= 0) {
    H5Fclose(fid);
  }
  if (status != HLM_OK && new_file) {
    remove(tmp);
  }
  if (status != HLM_OK) {
    H5Eclear2(H5E_DEFAULT);
  }
  if (gcpl >= 0) {
    H5Pclose(gcpl);
  }
  if (lcpl >= 0) {
    H5Pclose(lcpl);
  }
  if (fapl >= 0) {
    H5Pclose(fapl);
  }
  reader_free(&r);
  free(tmp);
  free(created);
  free(where);
  return status;
}

hlm_status hlm_import_csv(MPI_Comm comm, const char *csv, const char *h5,
                          const char *group, const hlm_type_override *overrides,
                          int noverrides, FILE *report)
{
  hlm_status status = HLM_OK;
  int rank = 0;
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    status = import_local(csv, h5, group, overrides, noverrides, report);
  }
  status = hlm_comm_agree(comm, status, "import", NULL);
cleanup:
  return status;
}
