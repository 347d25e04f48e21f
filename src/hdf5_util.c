/* hdf5_util.c: HDF5 helpers of the data layer: error text, names, string
 * attributes and datasets, column classification. */
#include "hdf5_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static herr_t innermost(unsigned n, const H5E_error2_t *err, void *data)
{
  if (n == 0 && err->desc) {
    snprintf((char *)data, 256, "%s", err->desc);
  }
  return 0;
}

hlm_status hlm_hdf5_error(const char *fmt, ...)
{
  char msg[1024], detail[256] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, detail);
  H5Eclear2(H5E_DEFAULT);
  if (detail[0]) {
    return HLM_ERROR(HLM_ERR_HDF5, "%s (HDF5: %s)", msg, detail);
  }
  return HLM_ERROR(HLM_ERR_HDF5, "%s", msg);
}

typedef struct name_list {
  H5O_type_t type;
  char **names;
  int32_t n, cap;
  int failed;
} name_list;

static herr_t collect_name(hid_t g, const char *name, const H5L_info_t *info,
                           void *data)
{
  name_list *l = data;
  H5O_info_t oinfo;
  (void)info;
  if (H5Oget_info_by_name2(g, name, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
      oinfo.type != l->type) {
    H5Eclear2(H5E_DEFAULT);
    return 0;
  }
  if (l->n == l->cap) {
    int32_t cap = l->cap ? 2 * l->cap : 16;
    char **grown = realloc(l->names, (size_t)cap * sizeof *grown);
    if (grown == NULL) {
      l->failed = 1;
      return -1;
    }
    l->names = grown;
    l->cap = cap;
  }
  l->names[l->n] = strdup(name);
  if (l->names[l->n] == NULL) {
    l->failed = 1;
    return -1;
  }
  l->n++;
  return 0;
}

static hlm_status collect_names(hid_t loc, H5O_type_t type, name_list *l)
{
  l->type = type;
  if (H5Literate(loc, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, l) < 0) {
    if (l->failed) {
      return HLM_ERROR(HLM_ERR_NOMEM, "out of memory listing names");
    }
    return hlm_hdf5_error("cannot list the objects of an HDF5 group");
  }
  return HLM_OK;
}

static void free_names(char **names, int32_t n)
{
  for (int32_t i = 0; names && i < n; i++) {
    free(names[i]);
  }
  free(names);
}

hlm_status hlm_hdf5_dataset_names(hid_t grp, char ***names, int32_t *n)
{
  name_list l = {H5O_TYPE_DATASET, NULL, 0, 0, 0};
  hlm_status status = collect_names(grp, H5O_TYPE_DATASET, &l);
  if (status != HLM_OK) {
    free_names(l.names, l.n);
    return status;
  }
  *names = l.names;
  *n = l.n;
  return HLM_OK;
}

hlm_status hlm_hdf5_list_names(hid_t loc, H5O_type_t type, char **out)
{
  hlm_status status = HLM_OK;
  name_list l = {type, NULL, 0, 0, 0};
  size_t len = 1;
  char *text = NULL;
  HLM_TRY(collect_names(loc, type, &l));
  for (int32_t i = 0; i < l.n; i++) {
    len += strlen(l.names[i]) + 2;
  }
  HLM_ALLOC(text, len);
  for (int32_t i = 0; i < l.n; i++) {
    strcat(text, i ? ", " : "");
    strcat(text, l.names[i]);
  }
  *out = text;
cleanup:
  free_names(l.names, l.n);
  return status;
}

/* Copy a fixed-length string of `size` bytes, dropping NUL or space padding. */
static char *fixed_string(const char *p, size_t size, H5T_str_t pad)
{
  size_t len = strnlen(p, size);
  while (pad == H5T_STR_SPACEPAD && len > 0 && p[len - 1] == ' ') {
    len--;
  }
  char *s = malloc(len + 1);
  if (s) {
    memcpy(s, p, len);
    s[len] = '\0';
  }
  return s;
}

/* A memory type for reading strings of the file type ftype. */
static hid_t string_memtype(hid_t ftype)
{
  hid_t mt = H5Tcopy(H5T_C_S1);
  if (H5Tis_variable_str(ftype) > 0) {
    H5Tset_size(mt, H5T_VARIABLE);
  } else {
    H5Tset_size(mt, H5Tget_size(ftype));
    H5Tset_strpad(mt, H5Tget_strpad(ftype));
  }
  H5Tset_cset(mt, H5Tget_cset(ftype));
  return mt;
}

/* Turn a raw buffer of n strings (variable: char*[n]; fixed: n*size bytes)
 * into malloc'ed copies. */
static hlm_status copy_strings(hid_t mt, const void *buf, int64_t n, char **out)
{
  int vlen = H5Tis_variable_str(mt) > 0;
  size_t size = H5Tget_size(mt);
  H5T_str_t pad = H5Tget_strpad(mt);
  for (int64_t i = 0; i < n; i++) {
    if (vlen) {
      const char *s = ((char *const *)buf)[i];
      out[i] = strdup(s ? s : "");
    } else {
      out[i] = fixed_string((const char *)buf + (size_t)i * size, size, pad);
    }
    if (out[i] == NULL) {
      return HLM_ERROR(HLM_ERR_NOMEM, "out of memory reading strings");
    }
  }
  return HLM_OK;
}

hlm_status hlm_hdf5_read_string_attr(hid_t obj, const char *name, char ***out,
                                     int32_t *n)
{
  hlm_status status = HLM_OK;
  hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
  hid_t atype = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
  hid_t space = attr >= 0 ? H5Aget_space(attr) : H5I_INVALID_HID;
  hid_t mt = H5I_INVALID_HID;
  void *buf = NULL;
  char **strs = NULL;
  hssize_t npts = 0;
  HLM_CHECK(attr >= 0 && atype >= 0 && space >= 0, HLM_ERR_HDF5,
            "cannot open the attribute `%s`", name);
  HLM_CHECK(H5Tget_class(atype) == H5T_STRING, HLM_ERR_DATA,
            "the attribute `%s` does not hold strings", name);
  npts = H5Sget_simple_extent_npoints(space);
  HLM_CHECK(npts >= 0 && npts < INT32_MAX, HLM_ERR_DATA,
            "the attribute `%s` has an unusable size", name);
  mt = string_memtype(atype);
  buf = calloc((size_t)(npts ? npts : 1), H5Tget_size(mt));
  HLM_ALLOC(strs, npts);
  HLM_CHECK(buf != NULL, HLM_ERR_NOMEM, "out of memory");
  if (H5Aread(attr, mt, buf) < 0) {
    status = hlm_hdf5_error("cannot read the attribute `%s`", name);
    goto cleanup;
  }
  status = copy_strings(mt, buf, npts, strs);
  if (H5Tis_variable_str(mt) > 0) {
    H5Dvlen_reclaim(mt, space, H5P_DEFAULT, buf);
  }
  HLM_TRY(status);
  *out = strs;
  *n = (int32_t)npts;
  strs = NULL;
cleanup:
  free_names(strs, (int32_t)npts);
  free(buf);
  if (mt >= 0) {
    H5Tclose(mt);
  }
  if (space >= 0) {
    H5Sclose(space);
  }
  if (atype >= 0) {
    H5Tclose(atype);
  }
  if (attr >= 0) {
    H5Aclose(attr);
  }
  return status;
}

hlm_status hlm_hdf5_string_attr_or_null(hid_t obj, const char *name, char **out)
{
  char **strs = NULL;
  int32_t n = 0;
  *out = NULL;
  if (H5Aexists(obj, name) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return HLM_OK;
  }
  hlm_status status = hlm_hdf5_read_string_attr(obj, name, &strs, &n);
  if (status == HLM_OK && n > 0) {
    *out = strs[0];
    strs[0] = NULL;
  }
  free_names(strs, n);
  return status;
}

static const char *class_name(H5T_class_t cls)
{
  switch (cls) {
  case H5T_TIME:
    return "time";
  case H5T_BITFIELD:
    return "bitfield";
  case H5T_OPAQUE:
    return "opaque";
  case H5T_COMPOUND:
    return "compound";
  case H5T_REFERENCE:
    return "reference";
  case H5T_ENUM:
    return "enum (booleans from h5py are enums)";
  case H5T_VLEN:
    return "variable-length sequence";
  case H5T_ARRAY:
    return "array";
  default:
    return "unknown";
  }
}

hlm_status hlm_hdf5_classify(hid_t dset, hid_t ftype, const char *name,
                             const char *hlm_type, hlm_src_kind *kind,
                             int *numeric_override)
{
  H5T_class_t cls = H5Tget_class(ftype);
  const char *t = hlm_type ? hlm_type : "";
  int want_num = !strcmp(t, "numeric"), want_int = !strcmp(t, "integer");
  int want_cat = !strcmp(t, "categorical");
  int has_levels = H5Aexists(dset, "levels") > 0;
  *numeric_override = 0;
  if (hlm_type && !want_num && !want_int && !want_cat) {
    return HLM_ERROR(HLM_ERR_DATA,
                     "column `%s`: attribute hlm_type is '%s'; expected "
                     "numeric, integer or categorical",
                     name, hlm_type);
  }
  if (cls == H5T_FLOAT && !want_int && !want_cat) {
    *kind = SRC_FLOAT;
  } else if (cls == H5T_INTEGER && has_levels && !want_num && !want_int) {
    *kind = SRC_CODED;
  } else if (cls == H5T_INTEGER && !has_levels && !want_cat) {
    *kind = SRC_INT;
    *numeric_override = want_num;
  } else if (cls == H5T_STRING && !want_num && !want_int) {
    *kind = SRC_STRING;
  } else if (cls == H5T_INTEGER || cls == H5T_FLOAT || cls == H5T_STRING) {
    return HLM_ERROR(HLM_ERR_DATA,
                     "column `%s`: its hlm_type '%s' does not fit its data "
                     "(%s%s)",
                     name, t,
                     cls == H5T_FLOAT    ? "floating point"
                     : cls == H5T_STRING ? "strings"
                                         : "integers",
                     cls == H5T_INTEGER && !has_levels
                         ? " without a `levels` attribute"
                         : "");
  } else {
    return HLM_ERROR(HLM_ERR_DATA,
                     "column `%s` has an HDF5 datatype hlm-mpi cannot read "
                     "(%s); store numbers as float64 or int64 and categories "
                     "as strings or integer codes with a `levels` attribute",
                     name, class_name(cls));
  }
  return HLM_OK;
}

hlm_status hlm_hdf5_read_strings(hid_t dset, hid_t ftype, int64_t start,
                                 int64_t count, char **text)
{
  hlm_status status = HLM_OK;
  hid_t mt = string_memtype(ftype), fspace = H5Dget_space(dset);
  hid_t mspace = H5I_INVALID_HID;
  hsize_t off = (hsize_t)start, cnt = (hsize_t)count;
  void *buf = NULL;
  if (count == 0) {
    goto cleanup;
  }
  buf = calloc((size_t)count, H5Tget_size(mt));
  HLM_CHECK(buf != NULL, HLM_ERR_NOMEM, "out of memory reading strings");
  mspace = H5Screate_simple(1, &cnt, NULL);
  H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &off, NULL, &cnt, NULL);
  if (H5Dread(dset, mt, mspace, fspace, H5P_DEFAULT, buf) < 0) {
    status = hlm_hdf5_error("cannot read strings");
    goto cleanup;
  }
  status = copy_strings(mt, buf, count, text);
  if (H5Tis_variable_str(mt) > 0) {
    H5Dvlen_reclaim(mt, mspace, H5P_DEFAULT, buf);
  }
cleanup:
  free(buf);
  if (mspace >= 0) {
    H5Sclose(mspace);
  }
  H5Sclose(fspace);
  H5Tclose(mt);
  return status;
}

hlm_status hlm_hdf5_dataset_length(const char *path, const char *group,
                                   const char *name, int64_t *n)
{
  hlm_status status = HLM_OK;
  hid_t fapl = H5I_INVALID_HID, fid = H5I_INVALID_HID;
  hid_t g = H5I_INVALID_HID, ds = H5I_INVALID_HID, sp = H5I_INVALID_HID;
  hsize_t dims[H5S_MAX_RANK] = {0};
  H5_CHECK(fapl = H5Pcreate(H5P_FILE_ACCESS), "cannot make a property list");
  H5_CHECK(H5Pset_fapl_sec2(fapl), "cannot select the sec2 driver");
  H5_CHECK(fid = H5Fopen(path, H5F_ACC_RDONLY, fapl), "cannot open '%s'", path);
  H5_CHECK(g = H5Gopen2(fid, group, H5P_DEFAULT), "no group '%s' in '%s'",
           group, path);
  H5_CHECK(ds = H5Dopen2(g, name, H5P_DEFAULT), "no column '%s' in '%s'", name,
           path);
  H5_CHECK(sp = H5Dget_space(ds), "cannot read the shape of '%s'", name);
  H5_CHECK(H5Sget_simple_extent_dims(sp, dims, NULL),
           "cannot read the shape of '%s'", name);
  *n = (int64_t)dims[0];
cleanup:
  if (sp >= 0) {
    H5Sclose(sp);
  }
  if (ds >= 0) {
    H5Dclose(ds);
  }
  if (g >= 0) {
    H5Gclose(g);
  }
  if (fid >= 0) {
    H5Fclose(fid);
  }
  if (fapl >= 0) {
    H5Pclose(fapl);
  }
  return status;
}

hid_t hlm_hdf5_string_type(size_t len)
{
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t >= 0 && (H5Tset_size(t, len > 0 ? len : 1) < 0 ||
                 H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
                 H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
    H5Tclose(t);
    t = H5I_INVALID_HID;
  }
  return t;
}

static hlm_status attr_put(hid_t obj, const char *name, hid_t ft, hid_t mt,
                           const void *v)
{
  hlm_status status = HLM_OK;
  hid_t sp = H5I_INVALID_HID, a = H5I_INVALID_HID;
  H5_CHECK(sp = H5Screate(H5S_SCALAR), "cannot make a dataspace");
  H5_CHECK(a = H5Acreate2(obj, name, ft, sp, H5P_DEFAULT, H5P_DEFAULT),
           "cannot create the attribute %s", name);
  H5_CHECK(H5Awrite(a, mt, v), "cannot write the attribute %s", name);
cleanup:
  if (a >= 0) {
    H5Aclose(a);
  }
  if (sp >= 0) {
    H5Sclose(sp);
  }
  return status;
}

hlm_status hlm_hdf5_attr_string(hid_t obj, const char *name, const char *v)
{
  hlm_status status = HLM_OK;
  hid_t t = H5I_INVALID_HID;
  H5_CHECK(t = hlm_hdf5_string_type(strlen(v) + 1),
           "cannot make a string type");
  HLM_TRY(attr_put(obj, name, t, t, v));
cleanup:
  if (t >= 0) {
    H5Tclose(t);
  }
  return status;
}

hlm_status hlm_hdf5_attr_int(hid_t obj, const char *name, int64_t v)
{
  return attr_put(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

hlm_status hlm_hdf5_attr_double(hid_t obj, const char *name, double v)
{
  return attr_put(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}
