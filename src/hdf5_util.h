/* hdf5_util.h: small HDF5 helpers shared by the data layer (reading,
 * import, info).  All Local; not installed. */
#ifndef HLM_HDF5_UTIL_H
#define HLM_HDF5_UTIL_H

#include <hdf5.h>
#include <stdint.h>

#include "hlm/error.h"

/* What a column holds in the file (docs/data-format.md). */
typedef enum hlm_src_kind {
  SRC_FLOAT,  /* floating point -> numeric */
  SRC_INT,    /* integer -> integer (numeric when hlm_type says so) */
  SRC_CODED,  /* integer codes + `levels` attribute -> categorical */
  SRC_STRING, /* strings -> categorical */
} hlm_src_kind;

/* Record an HLM_ERR_HDF5 error: the formatted message, then the innermost
 * description on HDF5's error stack (which is then cleared). */
hlm_status hlm_hdf5_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* H5_CHECK(expr, fmt, ...): an HDF5 call (or an assignment of its result)
 * that is negative on failure; records HLM_ERR_HDF5 with the message and the
 * HDF5 error stack's detail, and jumps to the function's `cleanup:` label
 * with `status` set. */
#define H5_CHECK(expr, ...)                                                    \
  do {                                                                         \
    if ((expr) < 0) {                                                          \
      status = hlm_hdf5_error(__VA_ARGS__);                                    \
      hlm_error_trace(__FILE__, __LINE__, __func__);                           \
      goto cleanup;                                                            \
    }                                                                          \
  } while (0)

/* Comma-separated names of the objects of `type` directly in loc ("" when
 * none); *out is malloc'ed. */
hlm_status hlm_hdf5_list_names(hid_t loc, H5O_type_t type, char **out);

/* Names of the datasets directly in grp, by name; *names malloc'ed. */
hlm_status hlm_hdf5_dataset_names(hid_t grp, char ***names, int32_t *n);

/* Read a string attribute (scalar or 1-D; fixed or variable length) into
 * *out (n malloc'ed strings). */
hlm_status hlm_hdf5_read_string_attr(hid_t obj, const char *name, char ***out,
                                     int32_t *n);

/* The scalar (or first) string of attribute `name`, or NULL if absent. */
hlm_status hlm_hdf5_string_attr_or_null(hid_t obj, const char *name,
                                        char **out);

/* Decide how to read a column from its datatype, `levels` attribute and
 * `hlm_type` attribute (may be NULL); errors name the column. */
hlm_status hlm_hdf5_classify(hid_t dset, hid_t ftype, const char *name,
                             const char *hlm_type, hlm_src_kind *kind,
                             int *numeric_override);

/* Read rows [start, start+count) of a string dataset (fixed or variable
 * length) into text[0..count), each malloc'ed; independent transfer. */
hlm_status hlm_hdf5_read_strings(hid_t dset, hid_t ftype, int64_t start,
                                 int64_t count, char **text);

/* The length (first dimension) of dataset `name` in group `group` of the
 * file `path`, opened read-only with the serial (sec2) driver. */
hlm_status hlm_hdf5_dataset_length(const char *path, const char *group,
                                   const char *name, int64_t *n);

/* Fixed-length UTF-8 strings of len bytes (at least 1), NUL-terminated;
 * H5I_INVALID_HID on failure.  The caller closes it. */
hid_t hlm_hdf5_string_type(size_t len);

/* Scalar attributes of obj, written by this process: a string (stored as
 * fixed-length UTF-8), a 64-bit integer, a double. */
hlm_status hlm_hdf5_attr_string(hid_t obj, const char *name, const char *v);
hlm_status hlm_hdf5_attr_int(hid_t obj, const char *name, int64_t v);
hlm_status hlm_hdf5_attr_double(hid_t obj, const char *name, double v);

#endif /* HLM_HDF5_UTIL_H */
