/* results_h5.c: the HDF5 results file (docs/results-format.md), written
 * collectively with parallel HDF5 to a temporary name and renamed into
 * place by rank 0 once every rank agrees; the JSON summary made atomic the
 * same way.  The values are the fit's own (hlm_fit, hlm_infer); the
 * conditional modes are this rank's share of what fit_ranef.c gathers. */
#define _GNU_SOURCE /* O_DIRECTORY, strndup */
#include "hlm/results.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fit_internal.h"
#include "hdf5_util.h"
#include "hlm/comm.h"
#include "hlm/version.h"

#define FORMAT_VERSION 1
#define PAUSE_SECONDS 60

/* ---- atomic files (Local) ------------------------------------------------ */

/* "PATH.tmp.<SLURM_JOB_ID>.<pid>" (without a job id: "PATH.tmp.<pid>"). */
static hlm_status temp_name(const char *path, char **out)
{
  const char *job = getenv("SLURM_JOB_ID");
  size_t len = strlen(path) + (job ? strlen(job) : 0) + 48;
  char *s = malloc(len);
  if (s == NULL) {
    return HLM_ERROR(HLM_ERR_NOMEM, "out of memory");
  }
  snprintf(s, len, "%s.tmp.%s%s%ld", path, job ? job : "", job ? "." : "",
           (long)getpid());
  *out = s;
  return HLM_OK;
}

static char *dir_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    return strdup(".");
  }
  return slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

/* fsync a file or directory; directories that cannot be synced are fine. */
static hlm_status sync_path(const char *path, int dir)
{
  int fd = open(path, O_RDONLY | (dir ? O_DIRECTORY : 0));
  if (fd < 0) {
    return dir ? HLM_OK
               : HLM_ERROR(HLM_ERR_IO, "cannot open %s: %s", path,
                           strerror(errno));
  }
  int rc = fsync(fd), err = errno;
  close(fd);
  if (rc != 0 && !dir) {
    return HLM_ERROR(HLM_ERR_IO, "cannot flush %s to disk: %s", path,
                     strerror(err));
  }
  return HLM_OK;
}

static hlm_status exists_error(const char *path)
{
  return HLM_ERROR(HLM_ERR_IO,
                   "the results file %s exists; remove it, name another "
                   "file in [output] results, or set [output] overwrite = "
                   "true",
                   path);
}

/* Move the complete temporary to path: rename() when overwriting, else
 * link() (which never replaces a file) and unlink the temporary; where
 * hard links are not supported, check and rename. */
static hlm_status publish(const char *tmp, const char *path, int overwrite)
{
  hlm_status status = HLM_OK;
  char *dir = dir_of(path);
  HLM_CHECK(dir != NULL, HLM_ERR_NOMEM, "out of memory");
  HLM_TRY(sync_path(tmp, 0));
  if (overwrite) {
    HLM_CHECK(rename(tmp, path) == 0, HLM_ERR_IO, "cannot rename %s to %s: %s",
              tmp, path, strerror(errno));
  } else if (link(tmp, path) == 0) {
    unlink(tmp);
  } else if (errno == EEXIST || access(path, F_OK) == 0) {
    HLM_TRY(exists_error(path));
  } else {
    HLM_CHECK(rename(tmp, path) == 0, HLM_ERR_IO, "cannot rename %s to %s: %s",
              tmp, path, strerror(errno));
  }
  HLM_TRY(sync_path(dir, 1));
cleanup:
  free(dir);
  return status;
}

hlm_status hlm_results_write_json(const hlm_fit *f, const hlm_infer *inf,
                                  const char *path)
{
  hlm_status status = HLM_OK;
  char *tmp = NULL;
  json_t *o = NULL;
  HLM_TRY(temp_name(path, &tmp));
  /* one object, written once: a summary with every random effect can be
   * tens of MB, too big to write, read back and write again */
  o = hlm_fit_json(f);
  HLM_CHECK(o != NULL, HLM_ERR_NOMEM, "cannot build the JSON summary");
  if (inf) {
    json_object_set_new(o, "inference", hlm_infer_json(inf));
  }
  HLM_CHECK(json_dump_file(o, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) ==
                0,
            HLM_ERR_IO, "cannot write the JSON summary to %s", tmp);
  HLM_CHECK(rename(tmp, path) == 0, HLM_ERR_IO,
            "cannot write the JSON summary %s (renaming %s: %s)", path, tmp,
            strerror(errno));
cleanup:
  if (status != HLM_OK && tmp) {
    unlink(tmp);
  }
  json_decref(o);
  free(tmp);
  return status;
}

/* ---- before the fit ------------------------------------------------------ */

/* Rank 0: the results file can be written and does not exist (or may be
 * replaced). */
static hlm_status check_target_local(const hlm_config *cfg)
{
  hlm_status status = HLM_OK;
  struct stat st;
  char *dir = dir_of(cfg->results);
  HLM_CHECK(dir != NULL, HLM_ERR_NOMEM, "out of memory");
  HLM_CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), HLM_ERR_IO,
            "%s: [output] results: the directory %s of %s does not exist",
            cfg->path, dir, cfg->results);
  HLM_CHECK(access(dir, W_OK | X_OK) == 0, HLM_ERR_IO,
            "%s: [output] results: cannot write in the directory %s: %s",
            cfg->path, dir, strerror(errno));
  if (stat(cfg->results, &st) == 0) {
    HLM_CHECK(!S_ISDIR(st.st_mode), HLM_ERR_IO,
              "%s: [output] results: %s is a directory", cfg->path,
              cfg->results);
    HLM_CHECK(cfg->overwrite, HLM_ERR_IO,
              "%s: [output] results: the file %s exists; remove it, name "
              "another file, or set [output] overwrite = true",
              cfg->path, cfg->results);
  }
cleanup:
  free(dir);
  return status;
}

/* Rank 0: the whole config file. */
static hlm_status read_text(const char *path, char **out)
{
  hlm_status status = HLM_OK;
  FILE *f = fopen(path, "rb");
  long n = 0;
  HLM_CHECK(f != NULL, HLM_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  HLM_CHECK(fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
                fseek(f, 0, SEEK_SET) == 0,
            HLM_ERR_IO, "cannot read %s", path);
  HLM_ALLOC(*out, n + 1);
  HLM_CHECK(fread(*out, 1, (size_t)n, f) == (size_t)n, HLM_ERR_IO,
            "cannot read %s", path);
cleanup:
  if (f) {
    fclose(f);
  }
  return status;
}

/* Collective: rank 0's string (NULL-safe) on every rank. */
static hlm_status bcast_string(MPI_Comm comm, char **s)
{
  hlm_status status = HLM_OK;
  int rank = 0, n = 0;
  long long len = 0;
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  len = rank == 0 && *s ? (long long)strlen(*s) : 0;
  HLM_MPI(MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, comm));
  if (rank != 0) {
    status = (*s = calloc((size_t)len + 1, 1))
                 ? HLM_OK
                 : HLM_ERROR(HLM_ERR_NOMEM, "out of memory");
  }
  HLM_TRY(hlm_comm_agree(comm, status, "sharing the configuration", NULL));
  HLM_TRY(hlm_to_int(len, "length of the configuration text", &n));
  HLM_MPI(MPI_Bcast(*s, n, MPI_CHAR, 0, comm));
cleanup:
  return status;
}

hlm_status hlm_results_check_target(MPI_Comm comm, const hlm_config *cfg,
                                    char **config_text)
{
  hlm_status status = HLM_OK;
  int rank = 0;
  *config_text = NULL;
  if (cfg->results == NULL) {
    return HLM_OK;
  }
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    status = check_target_local(cfg);
    if (status == HLM_OK) {
      status = read_text(cfg->path, config_text);
    }
  }
  HLM_TRY(hlm_comm_agree(comm, status, "checking the output files", NULL));
  HLM_TRY(bcast_string(comm, config_text));
cleanup:
  if (status != HLM_OK) {
    free(*config_text);
    *config_text = NULL;
  }
  return status;
}

/* ---- HDF5 helpers (Collective on the file's communicator) ---------------- */

typedef struct writer {
  MPI_Comm comm;
  int rank;
  hid_t fid, dxpl;
} writer;

static void close_id(hid_t id, herr_t (*fn)(hid_t))
{
  if (id >= 0) {
    fn(id);
  }
}

/* Create dataset `name` in loc (nd = 0: scalar; else nd <= 2 dims) of file
 * type ft, and write the rows [off, off + cnt) of its first dimension from
 * buf (memory type mt); cnt may be 0.  dcpl may be H5P_DEFAULT. */
static hlm_status put_rows(const writer *w, hid_t loc, const char *name,
                           hid_t ft, hid_t mt, int nd, const hsize_t *dims,
                           hsize_t off, hsize_t cnt, const void *buf,
                           hid_t dcpl)
{
  hlm_status status = HLM_OK;
  hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID, ds = H5I_INVALID_HID;
  hsize_t start[2] = {off, 0}, count[2] = {cnt, nd > 1 ? dims[1] : 1};
  static const double dummy = 0;
  int empty = nd > 0 && (dims[0] == 0 || (nd > 1 && dims[1] == 0));
  H5_CHECK(fs = nd ? H5Screate_simple(nd, dims, NULL) : H5Screate(H5S_SCALAR),
           "cannot make the shape of %s", name);
  H5_CHECK(ds = H5Dcreate2(loc, name, ft, fs, H5P_DEFAULT, dcpl, H5P_DEFAULT),
           "cannot create the dataset %s", name);
  if (empty) { /* nothing to write: every rank skips the transfer */
    goto cleanup;
  }
  if (cnt == 0) {
    H5_CHECK(ms = H5Screate(H5S_SCALAR), "cannot make a dataspace");
    H5_CHECK(H5Sselect_none(ms), "cannot select");
    H5_CHECK(H5Sselect_none(fs), "cannot select");
    buf = &dummy;
  } else if (nd == 0) {
    H5_CHECK(ms = H5Screate(H5S_SCALAR), "cannot make a dataspace");
  } else {
    H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL),
             "cannot select rows of %s", name);
    H5_CHECK(ms = H5Screate_simple(nd, count, NULL), "cannot make a dataspace");
  }
  H5_CHECK(H5Dwrite(ds, mt, ms, fs, w->dxpl, buf), "cannot write %s", name);
cleanup:
  close_id(ms, H5Sclose);
  close_id(fs, H5Sclose);
  close_id(ds, H5Dclose);
  return status;
}

/* Replicated data: every rank creates the dataset, rank 0 writes it. */
static hlm_status put_root(const writer *w, hid_t loc, const char *name,
                           hid_t ft, hid_t mt, int nd, const hsize_t *dims,
                           const void *buf)
{
  hsize_t cnt = w->rank == 0 ? (nd ? dims[0] : 1) : 0;
  return put_rows(w, loc, name, ft, mt, nd, dims, 0, cnt, buf, H5P_DEFAULT);
}

static hlm_status put_doubles(const writer *w, hid_t loc, const char *name,
                              int64_t n, const double *v)
{
  hsize_t dims[1] = {(hsize_t)n};
  return put_root(w, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, dims, v);
}

static hlm_status put_matrix(const writer *w, hid_t loc, const char *name,
                             int64_t rows, int64_t cols, const double *v)
{
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  return put_root(w, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dims, v);
}

static hlm_status put_double(const writer *w, hid_t loc, const char *name,
                             double x)
{
  return put_root(w, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &x);
}

static hlm_status put_int(const writer *w, hid_t loc, const char *name,
                          int64_t x)
{
  return put_root(w, loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, &x);
}

/* n strings packed as fixed-length strings of *len bytes (the longest plus
 * its NUL, at least 1 byte); NULL entries are written as "". */
static hlm_status pack_strings(const char *const *s, int64_t n, size_t *len,
                               char **out)
{
  hlm_status status = HLM_OK;
  size_t m = 1;
  for (int64_t i = 0; i < n; i++) {
    size_t l = s[i] ? strlen(s[i]) + 1 : 1;
    m = l > m ? l : m;
  }
  HLM_ALLOC(*out, (size_t)n * m);
  for (int64_t i = 0; i < n; i++) {
    memcpy(*out + (size_t)i * m, s[i] ? s[i] : "", s[i] ? strlen(s[i]) : 0);
  }
  *len = m;
cleanup:
  return status;
}

static hlm_status put_strings(const writer *w, hid_t loc, const char *name,
                              const char *const *s, int64_t n)
{
  hlm_status status = HLM_OK;
  char *buf = NULL;
  size_t len = 1;
  hid_t t = H5I_INVALID_HID;
  hsize_t dims[1] = {(hsize_t)n};
  HLM_TRY(pack_strings(s, n, &len, &buf));
  H5_CHECK(t = hlm_hdf5_string_type(len), "cannot make a string type");
  HLM_TRY(put_root(w, loc, name, t, t, 1, dims, buf));
cleanup:
  close_id(t, H5Tclose);
  free(buf);
  return status;
}

static hlm_status group_create(hid_t loc, const char *name, hid_t *g)
{
  hlm_status status = HLM_OK;
  H5_CHECK(*g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
           "cannot create the group %s", name);
cleanup:
  return status;
}

/* ---- the replicated parts ------------------------------------------------ */

static hlm_status write_root_attrs(const writer *w, const hlm_results_input *in)
{
  hlm_status status = HLM_OK;
  const hlm_config *cfg = in->cfg;
  char when[64] = "";
  time_t now = time(NULL);
  int size = 1;
  long long stamp = (long long)now;
  HLM_MPI(MPI_Bcast(&stamp, 1, MPI_LONG_LONG, 0, w->comm));
  HLM_MPI(MPI_Comm_size(w->comm, &size));
  now = (time_t)stamp;
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  HLM_TRY(hlm_hdf5_attr_string(w->fid, "format", "hlm-mpi results"));
  HLM_TRY(hlm_hdf5_attr_int(w->fid, "format_version", FORMAT_VERSION));
  HLM_TRY(hlm_hdf5_attr_string(w->fid, "program", "hlm-mpi"));
  HLM_TRY(hlm_hdf5_attr_string(w->fid, "version", HLM_VERSION_STRING));
  HLM_TRY(hlm_hdf5_attr_string(w->fid, "created", when));
  HLM_TRY(hlm_hdf5_attr_string(w->fid, "formula", cfg->formula));
  HLM_TRY(hlm_hdf5_attr_string(w->fid, "method",
                               hlm_fit_reml(in->fit) ? "REML" : "ML"));
  HLM_TRY(hlm_hdf5_attr_string(w->fid, "config_path", cfg->path));
  HLM_TRY(hlm_hdf5_attr_string(w->fid, "config",
                               in->config_text ? in->config_text : ""));
  HLM_TRY(hlm_hdf5_attr_string(w->fid, "data_file", cfg->data_file));
  HLM_TRY(hlm_hdf5_attr_string(w->fid, "data_group", cfg->data_group));
  HLM_TRY(hlm_hdf5_attr_int(w->fid, "ranks", size));
cleanup:
  return status;
}

static hlm_status write_fit(const writer *w, const hlm_fit *f)
{
  hlm_status status = HLM_OK;
  hid_t g = H5I_INVALID_HID;
  HLM_TRY(group_create(w->fid, "fit", &g));
  HLM_TRY(hlm_hdf5_attr_string(g, "criterion_name",
                               f->reml ? "REML criterion" : "deviance"));
  HLM_TRY(put_int(w, g, "reml", f->reml));
  HLM_TRY(put_double(w, g, "criterion", f->crit));
  HLM_TRY(put_double(w, g, "logLik", f->loglik));
  HLM_TRY(put_double(w, g, "AIC", f->aic));
  HLM_TRY(put_double(w, g, "BIC", f->bic));
  HLM_TRY(put_double(w, g, "sigma", f->sigma));
  HLM_TRY(put_int(w, g, "known_sd", f->known_sd));
  HLM_TRY(put_int(w, g, "nobs", f->nobs));
  HLM_TRY(put_int(w, g, "npar", f->npar));
  HLM_TRY(put_int(w, g, "df_resid", f->nobs - f->npar));
  HLM_TRY(put_int(w, g, "singular", f->singular));
  HLM_TRY(put_int(w, g, "converged", f->converged));
  HLM_TRY(put_doubles(w, g, "theta", f->ntheta, f->theta));
cleanup:
  close_id(g, H5Gclose);
  return status;
}

static hlm_status write_groups(const writer *w, const hlm_fit *f)
{
  hlm_status status = HLM_OK;
  hid_t g = H5I_INVALID_HID;
  hsize_t dims[1] = {(hsize_t)f->ngroups};
  HLM_TRY(group_create(w->fid, "ngrps", &g));
  HLM_TRY(put_strings(w, g, "name", (const char *const *)f->group_name,
                      f->ngroups));
  HLM_TRY(put_root(w, g, "nlevels", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, dims,
                   f->group_nlev));
cleanup:
  close_id(g, H5Gclose);
  return status;
}

static hlm_status write_fixed(const writer *w, const hlm_fit *f)
{
  hlm_status status = HLM_OK;
  hid_t g = H5I_INVALID_HID;
  double *v = NULL;
  int p = f->p;
  HLM_ALLOC(v, (size_t)p * p);
  for (int i = 0; i < p; i++) {
    for (int j = 0; j < p; j++) {
      v[(size_t)i * p + j] = f->vcov[i + (size_t)p * j]; /* row-major */
    }
  }
  HLM_TRY(group_create(w->fid, "fixed", &g));
  HLM_TRY(put_strings(w, g, "name", (const char *const *)f->fixed_name, p));
  HLM_TRY(put_doubles(w, g, "estimate", p, f->beta));
  HLM_TRY(put_doubles(w, g, "se", p, f->se));
  HLM_TRY(put_matrix(w, g, "vcov", p, p, v));
cleanup:
  close_id(g, H5Gclose);
  free(v);
  return status;
}

static hlm_status write_varcorr(const writer *w, const hlm_fit *f)
{
  hlm_status status = HLM_OK;
  hid_t g = H5I_INVALID_HID;
  int n = f->nvc;
  const char **s = NULL;
  double *x = NULL;
  HLM_ALLOC(s, 3 * n);
  HLM_ALLOC(x, 2 * n);
  for (int i = 0; i < n; i++) {
    s[i] = f->vc[i].grp;
    s[n + i] = f->vc[i].var1;
    s[2 * n + i] = f->vc[i].var2;
    x[i] = f->vc[i].vcov;
    x[n + i] = f->vc[i].sdcor;
  }
  HLM_TRY(group_create(w->fid, "varcorr", &g));
  HLM_TRY(put_strings(w, g, "grp", s, n));
  HLM_TRY(put_strings(w, g, "var1", s + n, n));
  HLM_TRY(put_strings(w, g, "var2", s + 2 * n, n));
  HLM_TRY(put_doubles(w, g, "vcov", n, x));
  HLM_TRY(put_doubles(w, g, "sdcor", n, x + n));
cleanup:
  close_id(g, H5Gclose);
  free(s);
  free(x);
  return status;
}

static hlm_status write_optimizer(const writer *w, const hlm_fit *f)
{
  hlm_status status = HLM_OK;
  hid_t g = H5I_INVALID_HID;
  HLM_TRY(group_create(w->fid, "optimizer", &g));
  HLM_TRY(hlm_hdf5_attr_string(g, "name", hlm_fit_optimizer_name(f)));
  HLM_TRY(put_int(w, g, "evaluations", f->evaluations));
  HLM_TRY(put_int(w, g, "code", f->nlopt_result));
  HLM_TRY(put_int(w, g, "converged", f->converged));
  HLM_TRY(put_double(w, g, "seconds", f->seconds));
  HLM_TRY(put_int(w, g, "ranks", f->ranks));
  HLM_TRY(put_matrix(w, g, "history", f->nhistory, (int64_t)f->ntheta + 1,
                     f->history));
cleanup:
  close_id(g, H5Gclose);
  return status;
}

/* One table of tests: name and the seven numbers of each test. */
static hlm_status write_tests(const writer *w, hid_t g,
                              const hlm_infer_test *const *t, int n)
{
  hlm_status status = HLM_OK;
  static const char *const col[] = {"estimate", "se",    "df",   "t",
                                    "p",        "lower", "upper"};
  const char **name = NULL;
  double *x = NULL;
  HLM_ALLOC(name, n);
  HLM_ALLOC(x, 7 * n);
  for (int i = 0; i < n; i++) {
    const double v[7] = {t[i]->estimate, t[i]->se,    t[i]->df,   t[i]->t,
                         t[i]->p,        t[i]->lower, t[i]->upper};
    name[i] = t[i]->name;
    for (int c = 0; c < 7; c++) {
      x[c * n + i] = v[c];
    }
  }
  HLM_TRY(put_strings(w, g, "name", name, n));
  for (int c = 0; c < 7; c++) {
    HLM_TRY(put_doubles(w, g, col[c], n, x + c * n));
  }
cleanup:
  free(name);
  free(x);
  return status;
}

static hlm_status write_test_group(const writer *w, hid_t parent,
                                   const char *name, const hlm_infer *inf,
                                   int contrasts)
{
  hlm_status status = HLM_OK;
  hid_t g = H5I_INVALID_HID;
  int n = contrasts ? hlm_infer_ncontrast(inf) : hlm_infer_nfixed(inf);
  const hlm_infer_test **t = NULL;
  HLM_ALLOC(t, n);
  for (int i = 0; i < n; i++) {
    t[i] =
        contrasts ? hlm_infer_contrast_test(inf, i) : hlm_infer_fixed(inf, i);
  }
  HLM_TRY(group_create(parent, name, &g));
  HLM_TRY(write_tests(w, g, t, n));
cleanup:
  close_id(g, H5Gclose);
  free(t);
  return status;
}

static hlm_status write_inference(const writer *w, const hlm_results_input *in)
{
  hlm_status status = HLM_OK;
  static const char *const how[] = {"satterthwaite", "residual", "asymptotic",
                                    "design"};
  const hlm_infer *inf = in->infer;
  hid_t g = H5I_INVALID_HID, c = H5I_INVALID_HID;
  int nc = hlm_infer_ncontrast(inf), p = hlm_infer_nfixed(inf);
  int nvp = hlm_infer_nvarpar(inf);
  const double *A = hlm_infer_varpar_cov(inf);
  static const double none = 0;
  HLM_TRY(group_create(w->fid, "inference", &g));
  HLM_TRY(hlm_hdf5_attr_string(g, "df_method", how[in->io->df]));
  HLM_TRY(hlm_hdf5_attr_double(g, "confidence_level", in->io->level));
  HLM_TRY(write_test_group(w, g, "fixed", inf, 0));
  HLM_TRY(write_test_group(w, g, "contrasts", inf, 1));
  H5_CHECK(c = H5Gopen2(g, "contrasts", H5P_DEFAULT), "cannot open contrasts");
  HLM_TRY(put_matrix(w, c, "coefficients", nc, p,
                     in->contrast_L && nc ? in->contrast_L : &none));
  if (A && nvp > 0) { /* symmetric: column-major is row-major */
    HLM_TRY(put_matrix(w, g, "varpar_cov", nvp, nvp, A));
  }
cleanup:
  close_id(c, H5Gclose);
  close_id(g, H5Gclose);
  return status;
}

/* ---- the distributed parts ----------------------------------------------- */

/* This rank's first row and the total over ranks of n (exclusive prefix
 * sum; rank order is the global cluster order). */
static hlm_status offsets(MPI_Comm comm, int64_t n, int64_t *off,
                          int64_t *total)
{
  hlm_status status = HLM_OK;
  int rank = 0;
  *off = 0;
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  HLM_MPI(MPI_Exscan(&n, off, 1, MPI_INT64_T, MPI_SUM, comm));
  if (rank == 0) {
    *off = 0;
  }
  HLM_MPI(MPI_Allreduce(&n, total, 1, MPI_INT64_T, MPI_SUM, comm));
cleanup:
  return status;
}

/* The longest label (with its NUL) of this rank's part. */
static long long longest_label(const hlm_ranef_part *tp)
{
  const char *lab = tp->lab;
  long long m = 1;
  for (int64_t l = 0; l < tp->nlev; l++) {
    long long n = (long long)strlen(lab) + 1;
    m = n > m ? n : m;
    lab += n;
  }
  return m;
}

/* Local.  This rank's labels as fixed-length strings of m bytes, and its
 * modes then its conditional variances (n x k each, level-major). */
static hlm_status term_buffers(const hlm_ranef_part *tp, int k, size_t m,
                               char **lab, double **v)
{
  hlm_status status = HLM_OK;
  int64_t n = tp->nlev;
  const char *s = tp->lab;
  HLM_ALLOC(*lab, (size_t)n * m);
  HLM_ALLOC(*v, 2 * n * k);
  for (int64_t l = 0; l < n; l++) {
    memcpy(*lab + (size_t)l * m, s, strlen(s));
    s += strlen(s) + 1;
    memcpy(&(*v)[l * k], &tp->val[l * 2 * k], (size_t)k * sizeof **v);
    memcpy(&(*v)[(n + l) * k], &tp->val[l * 2 * k + k], (size_t)k * sizeof **v);
  }
cleanup:
  return status;
}

/* "Subject", or "Subject.1" for the second term of that factor (R's
 * make.unique), for the group of term r. */
static void term_name(const hlm_fit *f, int r, char *buf, size_t len)
{
  int seen = 0;
  for (int s = 0; s < r; s++) {
    seen += strcmp(f->term[s].group, f->term[r].group) == 0;
  }
  if (seen) {
    snprintf(buf, len, "%s.%d", f->term[r].group, seen);
  } else {
    snprintf(buf, len, "%s", f->term[r].group);
  }
}

/* Rows [off, off + n) of levels, values and condvar of one term. */
static hlm_status write_term_rows(const writer *w, hid_t g,
                                  const hlm_ranef_part *tp, int k, int64_t off,
                                  int64_t total)
{
  hlm_status status = HLM_OK;
  char *lab = NULL;
  double *v = NULL;
  long long len = longest_label(tp);
  hid_t t = H5I_INVALID_HID;
  hsize_t dims[2] = {(hsize_t)total, (hsize_t)k};
  int64_t n = tp->nlev;
  HLM_MPI(
      MPI_Allreduce(MPI_IN_PLACE, &len, 1, MPI_LONG_LONG, MPI_MAX, w->comm));
  HLM_TRY(hlm_comm_agree(w->comm, term_buffers(tp, k, (size_t)len, &lab, &v),
                         "writing the results file", NULL));
  H5_CHECK(t = hlm_hdf5_string_type((size_t)len), "cannot make a string type");
  HLM_TRY(put_rows(w, g, "levels", t, t, 1, dims, (hsize_t)off, (hsize_t)n, lab,
                   H5P_DEFAULT));
  HLM_TRY(put_rows(w, g, "values", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dims,
                   (hsize_t)off, (hsize_t)n, v, H5P_DEFAULT));
  HLM_TRY(put_rows(w, g, "condvar", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dims,
                   (hsize_t)off, (hsize_t)n, v + n * k, H5P_DEFAULT));
cleanup:
  close_id(t, H5Tclose);
  free(lab);
  free(v);
  return status;
}

static hlm_status write_term(const writer *w, hid_t parent, const hlm_fit *f,
                             const hlm_design *d, const hlm_ranef_part *tp,
                             int r)
{
  hlm_status status = HLM_OK;
  hid_t g = H5I_INVALID_HID;
  char name[512];
  int64_t off = 0, total = 0;
  const hlm_fit_term *t = &f->term[r];
  HLM_TRY(offsets(w->comm, tp->nlev, &off, &total));
  term_name(f, r, name, sizeof name);
  HLM_TRY(group_create(parent, name, &g));
  HLM_TRY(hlm_hdf5_attr_string(g, "group", t->group));
  HLM_TRY(hlm_hdf5_attr_int(g, "term", r));
  HLM_TRY(hlm_hdf5_attr_int(g, "global", d->term[r].global));
  HLM_TRY(put_strings(w, g, "columns", (const char *const *)t->colname, t->k));
  HLM_TRY(write_term_rows(w, g, tp, t->k, off, total));
cleanup:
  close_id(g, H5Gclose);
  return status;
}

static hlm_status write_ranef(const writer *w, const hlm_results_input *in,
                              const hlm_ranef_part *tp)
{
  hlm_status status = HLM_OK;
  hid_t g = H5I_INVALID_HID;
  const hlm_fit *f = in->fit;
  HLM_TRY(group_create(w->fid, "ranef", &g));
  HLM_TRY(hlm_hdf5_attr_int(g, "nterms", f->nterms));
  for (int r = 0; r < f->nterms; r++) {
    HLM_TRY(hlm_comm_agree(w->comm, write_term(w, g, f, in->design, &tp[r], r),
                           "writing the results file", NULL));
  }
cleanup:
  close_id(g, H5Gclose);
  return status;
}

/* One row's fitted value and residual, at its row of the input. */
typedef struct row_value {
  int64_t index;
  double v[2]; /* fitted, residual */
} row_value;

static int by_index(const void *a, const void *b)
{
  int64_t x = ((const row_value *)a)->index, y = ((const row_value *)b)->index;
  return (x > y) - (x < y);
}

/* Collective.  The global terms' modes (rank 0 holds them) on every rank:
 * gval[r] has nlevels x 2k values for a global term r, NULL otherwise. */
static hlm_status global_modes(MPI_Comm comm, const hlm_design *d,
                               const hlm_ranef_part *tp, double **gval)
{
  hlm_status status = HLM_OK;
  int rank = 0, cnt = 0;
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  for (int r = 0; r < d->nterms; r++) {
    int64_t n = d->term[r].global ? d->term[r].nlevels * 2 * d->term[r].k : 0;
    if (n == 0) {
      continue;
    }
    status = hlm_to_int(n, "global random effects", &cnt);
    if (status == HLM_OK) {
      gval[r] = calloc((size_t)n, sizeof *gval[r]);
      status = gval[r] ? HLM_OK : HLM_ERROR(HLM_ERR_NOMEM, "out of memory");
    }
    HLM_TRY(hlm_comm_agree(comm, status, "writing the results file", NULL));
    if (rank == 0) {
      memcpy(gval[r], tp[r].val, (size_t)n * sizeof *gval[r]);
    }
    HLM_MPI(MPI_Bcast(gval[r], cnt, MPI_DOUBLE, 0, comm));
  }
cleanup:
  return status;
}

/* Local.  x_i' beta + z_i' u of local row i, with the weights taken out;
 * next[r] is the position of the row's cluster's first level of local
 * term r in tp[r]. */
static void row_fitted(const hlm_design *d, const hlm_fit *f,
                       const hlm_ranef_part *tp, double *const *gval,
                       const int64_t *next, int64_t i, row_value *out)
{
  double v = 0, w = d->sqrtw ? d->sqrtw[i] : 1.0;
  int off = 0;
  for (int a = 0; a < d->p; a++) {
    v += d->X[i * d->p + a] * f->beta[a];
  }
  for (int r = 0; r < d->nterms; r++) {
    int k = d->term[r].k;
    int64_t l = d->zlev[i * d->nterms + r];
    const double *z = &d->zval[i * d->zwidth + off];
    const double *u = d->term[r].global ? &gval[r][l * 2 * k]
                                        : &tp[r].val[(next[r] + l) * 2 * k];
    for (int c = 0; c < k; c++) {
      v += z[c] * u[c];
    }
    off += k;
  }
  /* a row of zero survey weight (docs/survey.md) has lost its values */
  out->v[0] = w > 0 ? v / w : NAN;
  out->v[1] = w > 0 ? d->y[i] / w - v / w : NAN;
}

/* Local.  Every local row's fitted value and residual, sorted by input
 * row. */
static hlm_status fitted_rows(const hlm_results_input *in,
                              const hlm_ranef_part *tp, double *const *gval,
                              row_value **out)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = in->design;
  const int64_t *index = hlm_table_row_index(in->table);
  int64_t *next = NULL;
  HLM_CHECK(hlm_table_nrows(in->table) == d->n, HLM_ERR_INTERNAL,
            "the results file got a table that is not the design's");
  HLM_ALLOC(*out, d->n);
  HLM_ALLOC(next, d->nterms);
  for (int64_t j = 0; j < d->ncl; j++) {
    const hlm_dcluster *c = &d->cl[j];
    for (int64_t i = c->start; i < c->start + c->n; i++) {
      (*out)[i].index = index[i];
      row_fitted(d, in->fit, tp, gval, next, i, &(*out)[i]);
    }
    for (int r = 0; r < d->nterms; r++) {
      next[r] += c->nlev[r];
    }
  }
  qsort(*out, (size_t)d->n, sizeof **out, by_index);
cleanup:
  free(next);
  return status;
}

/* Select the rows idx of the file space (runs of consecutive rows). */
static hlm_status select_rows(hid_t fs, const row_value *rv, int64_t n)
{
  hlm_status status = HLM_OK;
  H5_CHECK(H5Sselect_none(fs), "cannot select");
  for (int64_t a = 0, b = 0; a < n; a = b) {
    for (b = a + 1; b < n && rv[b].index == rv[b - 1].index + 1; b++) {
    }
    hsize_t start = (hsize_t)rv[a].index, count = (hsize_t)(b - a);
    H5_CHECK(H5Sselect_hyperslab(fs, a == 0 ? H5S_SELECT_SET : H5S_SELECT_OR,
                                 &start, NULL, &count, NULL),
             "cannot select rows");
  }
cleanup:
  return status;
}

/* Dataset `name` of nrows values (NaN where no rank writes), component c
 * of rv at rv's rows. */
static hlm_status put_scattered(const writer *w, hid_t g, const char *name,
                                hsize_t nrows, const row_value *rv, int64_t n,
                                int c, hid_t dcpl)
{
  hlm_status status = HLM_OK;
  hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID, ds = H5I_INVALID_HID;
  hsize_t cnt = (hsize_t)(n > 0 ? n : 1);
  double *v = NULL;
  HLM_TRY(hlm_comm_agree(w->comm,
                         (v = calloc(cnt, sizeof *v))
                             ? HLM_OK
                             : HLM_ERROR(HLM_ERR_NOMEM, "out of memory"),
                         "writing the results file", NULL));
  for (int64_t i = 0; i < n; i++) {
    v[i] = rv[i].v[c];
  }
  H5_CHECK(fs = H5Screate_simple(1, &nrows, NULL), "cannot make a dataspace");
  H5_CHECK(ds = H5Dcreate2(g, name, H5T_IEEE_F64LE, fs, H5P_DEFAULT, dcpl,
                           H5P_DEFAULT),
           "cannot create the dataset %s", name);
  H5_CHECK(ms = H5Screate_simple(1, &cnt, NULL), "cannot make a dataspace");
  HLM_TRY(select_rows(fs, rv, n));
  if (n == 0) {
    H5_CHECK(H5Sselect_none(ms), "cannot select");
  }
  H5_CHECK(H5Dwrite(ds, H5T_NATIVE_DOUBLE, ms, fs, w->dxpl, v),
           "cannot write %s", name);
cleanup:
  close_id(ms, H5Sclose);
  close_id(fs, H5Sclose);
  close_id(ds, H5Dclose);
  free(v);
  return status;
}

/* Collective.  The number of rows of the input data set (rank 0 reads its
 * response column's length). */
static hlm_status input_rows(MPI_Comm comm, const hlm_results_input *in,
                             int64_t *nrows)
{
  hlm_status status = HLM_OK;
  int rank = 0;
  long long n = 0;
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    int64_t len = 0;
    status = hlm_hdf5_dataset_length(in->cfg->data_file, in->cfg->data_group,
                                     in->design->response, &len);
    n = (long long)len;
  }
  HLM_TRY(hlm_comm_agree(comm, status, "writing the results file", NULL));
  HLM_MPI(MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, comm));
  *nrows = (int64_t)n;
cleanup:
  return status;
}

/* Fill value NaN, allocated and filled when the dataset is created (rows
 * no rank writes, those not used in the fit, stay NaN). */
static hlm_status nan_dcpl(hid_t *dcpl)
{
  hlm_status status = HLM_OK;
  double nan = NAN;
  H5_CHECK(*dcpl = H5Pcreate(H5P_DATASET_CREATE), "cannot make a property");
  H5_CHECK(H5Pset_fill_value(*dcpl, H5T_NATIVE_DOUBLE, &nan),
           "cannot set a fill value");
  H5_CHECK(H5Pset_alloc_time(*dcpl, H5D_ALLOC_TIME_EARLY),
           "cannot set the allocation time");
  H5_CHECK(H5Pset_fill_time(*dcpl, H5D_FILL_TIME_ALLOC),
           "cannot set the fill time");
cleanup:
  return status;
}

static hlm_status write_rows(const writer *w, const hlm_results_input *in,
                             const hlm_ranef_part *tp)
{
  hlm_status status = HLM_OK;
  const hlm_design *d = in->design;
  double **gval = calloc((size_t)d->nterms + 1, sizeof *gval);
  row_value *rv = NULL;
  int64_t nrows = 0;
  hid_t g = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
  HLM_TRY(hlm_comm_agree(w->comm,
                         gval ? HLM_OK : HLM_ERROR(HLM_ERR_NOMEM, "no memory"),
                         "writing the results file", NULL));
  HLM_TRY(global_modes(w->comm, d, tp, gval));
  HLM_TRY(hlm_comm_agree(w->comm, fitted_rows(in, tp, gval, &rv),
                         "writing the results file", NULL));
  HLM_TRY(input_rows(w->comm, in, &nrows));
  HLM_TRY(hlm_comm_agree(
      w->comm,
      d->n == 0 || rv[d->n - 1].index < nrows
          ? HLM_OK
          : HLM_ERROR(HLM_ERR_INTERNAL, "a row index beyond the input's rows"),
      "writing the results file", NULL));
  HLM_TRY(nan_dcpl(&dcpl));
  HLM_TRY(group_create(w->fid, "rows", &g));
  HLM_TRY(hlm_hdf5_attr_int(g, "nrows", nrows));
  HLM_TRY(hlm_hdf5_attr_int(g, "nobs", in->fit->nobs));
  HLM_TRY(put_scattered(w, g, "fitted", (hsize_t)nrows, rv, d->n, 0, dcpl));
  HLM_TRY(put_scattered(w, g, "residual", (hsize_t)nrows, rv, d->n, 1, dcpl));
cleanup:
  for (int r = 0; gval && r < d->nterms; r++) {
    free(gval[r]);
  }
  free(gval);
  free(rv);
  close_id(dcpl, H5Pclose);
  close_id(g, H5Gclose);
  return status;
}

/* ---- the whole file ------------------------------------------------------ */

/* Collective.  A test hook (docs/results-format.md):
 * HLM_FAULT_INJECT="pausing in the results file@R" makes rank R sleep for
 * a minute with the temporary file flushed but not complete, so that a
 * test can kill the run while it writes. */
static hlm_status fault_pause(const writer *w)
{
  hlm_status status = HLM_OK;
  int want = hlm_fault_point("pausing in the results file", w->rank) != HLM_OK;
  int any = 0;
  if (want) {
    hlm_error_clear();
  }
  HLM_MPI(MPI_Allreduce(&want, &any, 1, MPI_INT, MPI_MAX, w->comm));
  if (any) {
    H5_CHECK(H5Fflush(w->fid, H5F_SCOPE_GLOBAL), "cannot flush");
  }
  if (want) {
    fprintf(stderr, "rank %d: pausing %d s in the results file (test hook)\n",
            w->rank, PAUSE_SECONDS);
    fflush(stderr);
    sleep(PAUSE_SECONDS);
  }
cleanup:
  return status;
}

static hlm_status write_replicated(const writer *w, const hlm_results_input *in)
{
  hlm_status status = HLM_OK;
  HLM_TRY(write_root_attrs(w, in));
  HLM_TRY(write_fit(w, in->fit));
  HLM_TRY(write_groups(w, in->fit));
  HLM_TRY(write_fixed(w, in->fit));
  HLM_TRY(write_varcorr(w, in->fit));
  HLM_TRY(write_optimizer(w, in->fit));
  if (in->infer && in->io) {
    HLM_TRY(write_inference(w, in));
  }
cleanup:
  return status;
}

static hlm_status write_contents(const writer *w, const hlm_results_input *in,
                                 const hlm_ranef_part *tp)
{
  hlm_status status = HLM_OK;
  const char *phase = "writing the results file";
  HLM_TRY(hlm_comm_agree(w->comm, write_replicated(w, in), phase, NULL));
  HLM_TRY(write_ranef(w, in, tp));
  if (in->cfg->results_fitted) {
    HLM_TRY(write_rows(w, in, tp));
  }
  HLM_TRY(hlm_comm_agree(w->comm, fault_pause(w), phase, NULL));
  HLM_TRY(
      hlm_comm_agree(w->comm, hlm_fault_point(phase, w->rank), phase, NULL));
cleanup:
  return status;
}

/* Collective.  Create the temporary file with the MPI-IO driver. */
static hlm_status create_file(MPI_Comm comm, const char *tmp, hid_t *fid)
{
  hlm_status status = HLM_OK;
  hid_t fapl = H5I_INVALID_HID;
  H5_CHECK(fapl = H5Pcreate(H5P_FILE_ACCESS), "cannot make a property list");
  H5_CHECK(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL),
           "cannot select the MPI-IO driver");
  /* object headers that hold attributes of any size (the config text) */
  H5_CHECK(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18),
           "cannot set the file format");
  H5_CHECK(*fid = H5Fcreate(tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl),
           "cannot create the results file %s", tmp);
cleanup:
  close_id(fapl, H5Pclose);
  return status;
}

/* Collective.  The temporary name, chosen on rank 0. */
static hlm_status shared_temp_name(MPI_Comm comm, const char *path, char **tmp)
{
  hlm_status status = HLM_OK;
  int rank = 0;
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    status = temp_name(path, tmp);
  }
  HLM_TRY(hlm_comm_agree(comm, status, "writing the results file", NULL));
  HLM_TRY(bcast_string(comm, tmp));
cleanup:
  return status;
}

/* Collective.  Close the file; rank 0 moves it into place, or removes it
 * when anything failed. */
static hlm_status finish_file(const writer *w, const char *tmp,
                              const hlm_config *cfg, hlm_status status)
{
  const char *phase = "writing the results file";
  hlm_status closed = HLM_OK;
  if (w->fid >= 0 && H5Fclose(w->fid) < 0) {
    closed = hlm_hdf5_error("cannot close the results file %s", tmp);
  }
  if (status == HLM_OK) {
    status = hlm_comm_agree(w->comm, closed, phase, NULL);
  }
  if (status == HLM_OK) {
    hlm_status moved =
        w->rank == 0 ? publish(tmp, cfg->results, cfg->overwrite) : HLM_OK;
    status = hlm_comm_agree(w->comm, moved, phase, NULL);
  }
  if (status != HLM_OK && w->rank == 0 && tmp) {
    unlink(tmp);
  }
  return status;
}

hlm_status hlm_results_write(MPI_Comm comm, const hlm_results_input *in)
{
  hlm_status status = HLM_OK;
  hlm_ranef_part *tp = NULL;
  char *tmp = NULL;
  writer w = {comm, 0, H5I_INVALID_HID, H5I_INVALID_HID};
  const char *phase = "writing the results file";
  HLM_MPI(MPI_Comm_rank(comm, &w.rank));
  HLM_TRY(hlm_fit_local_ranef(comm, in->design, in->fit, &tp));
  HLM_TRY(shared_temp_name(comm, in->cfg->results, &tmp));
  w.dxpl = H5Pcreate(H5P_DATASET_XFER);
  status = w.dxpl >= 0 && H5Pset_dxpl_mpio(w.dxpl, H5FD_MPIO_COLLECTIVE) >= 0
               ? HLM_OK
               : hlm_hdf5_error("cannot make a transfer property list");
  HLM_TRY(hlm_comm_agree(comm, status, phase, NULL));
  status = hlm_comm_agree(comm, create_file(comm, tmp, &w.fid), phase, NULL);
  if (status == HLM_OK) {
    status = write_contents(&w, in, tp);
  }
  status = finish_file(&w, tmp, in->cfg, status);
cleanup:
  close_id(w.dxpl, H5Pclose);
  hlm_fit_ranef_parts_free(&tp, in->design ? in->design->nterms : 0);
  free(tmp);
  return status;
}
