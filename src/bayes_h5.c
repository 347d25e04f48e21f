/* bayes_h5.c: the HDF5 results file of a Bayesian fit ([output] results
 * with method = "bayes"; layout in docs/bayes.md).  Everything in it is
 * replicated on every rank, so rank 0 writes it alone (serial HDF5) to
 * PATH.tmp.<pid> and renames it to PATH once it is closed: a reader never
 * sees a half-written file. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bayes.h"
#include "hdf5_util.h"
#include "hlm/version.h"

/* A float64 dataset of rows x cols (cols 0: a vector). */
static hlm_status put_doubles(hid_t loc, const char *name, const double *x,
                              int64_t rows, int64_t cols)
{
  hlm_status status = HLM_OK;
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  hid_t sp = H5I_INVALID_HID, d = H5I_INVALID_HID;
  H5_CHECK(sp = H5Screate_simple(cols > 0 ? 2 : 1, dims, NULL),
           "cannot create the dataspace of %s", name);
  H5_CHECK(d = H5Dcreate2(loc, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT,
                          H5P_DEFAULT, H5P_DEFAULT),
           "cannot create the dataset %s", name);
  if (rows > 0) {
    H5_CHECK(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x),
             "cannot write the dataset %s", name);
  }
cleanup:
  if (d >= 0)
    H5Dclose(d);
  if (sp >= 0)
    H5Sclose(sp);
  return status;
}

/* Fixed-length UTF-8 strings, one per element. */
static hlm_status put_strings(hid_t loc, const char *name, const char *const *s,
                              int64_t n)
{
  hlm_status status = HLM_OK;
  size_t len = 1;
  char *buf = NULL;
  hsize_t dims[1] = {(hsize_t)n};
  hid_t t = H5I_INVALID_HID, sp = H5I_INVALID_HID, d = H5I_INVALID_HID;
  for (int64_t i = 0; i < n; i++) {
    len = strlen(s[i]) + 1 > len ? strlen(s[i]) + 1 : len;
  }
  buf = calloc((size_t)(n > 0 ? n : 1), len);
  HLM_CHECK(buf != NULL, HLM_ERR_NOMEM, "out of memory writing %s", name);
  for (int64_t i = 0; i < n; i++) {
    memcpy(buf + (size_t)i * len, s[i], strlen(s[i]));
  }
  H5_CHECK(t = hlm_hdf5_string_type(len), "cannot create the string type of %s",
           name);
  H5_CHECK(sp = H5Screate_simple(1, dims, NULL),
           "cannot create the dataspace of %s", name);
  H5_CHECK(
      d = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      "cannot create the dataset %s", name);
  if (n > 0) {
    H5_CHECK(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf),
             "cannot write the dataset %s", name);
  }
cleanup:
  if (d >= 0)
    H5Dclose(d);
  if (sp >= 0)
    H5Sclose(sp);
  if (t >= 0)
    H5Tclose(t);
  free(buf);
  return status;
}

static hlm_status write_root(hid_t f, const hlm_config *cfg, const char *text,
                             const hlm_bayes *b)
{
  hlm_status status = HLM_OK;
  HLM_TRY(hlm_hdf5_attr_string(f, "format", "hlm-mpi results"));
  HLM_TRY(hlm_hdf5_attr_string(f, "program", "hlm-mpi"));
  HLM_TRY(hlm_hdf5_attr_string(f, "version", HLM_VERSION_STRING));
  HLM_TRY(hlm_hdf5_attr_string(f, "formula", cfg->formula));
  HLM_TRY(hlm_hdf5_attr_string(f, "method", "bayes"));
  HLM_TRY(hlm_hdf5_attr_string(f, "config_path", cfg->path));
  HLM_TRY(hlm_hdf5_attr_string(f, "config", text ? text : ""));
  HLM_TRY(hlm_hdf5_attr_string(f, "data_file", cfg->data_file));
  HLM_TRY(hlm_hdf5_attr_int(f, "chains", b->chains));
  HLM_TRY(hlm_hdf5_attr_int(f, "iterations", b->iterations));
  HLM_TRY(hlm_hdf5_attr_int(f, "warmup", b->warmup));
  HLM_TRY(hlm_hdf5_attr_int(f, "thin", b->thin));
  HLM_TRY(hlm_hdf5_attr_int(f, "draws_per_chain", b->nkeep));
  HLM_TRY(hlm_hdf5_attr_int(f, "seed", (int64_t)b->seed));
  HLM_TRY(hlm_hdf5_attr_int(f, "fixed_variances", b->fixed));
cleanup:
  return status;
}

/* /bayes: parameters, draws, summary, held variances, random effects. */
static hlm_status write_bayes(hid_t f, const hlm_bayes *b)
{
  hlm_status status = HLM_OK;
  hid_t g = H5I_INVALID_HID;
  double *sum = NULL;
  HLM_ALLOC(sum, (size_t)b->npar * 8);
  for (int i = 0; i < b->npar; i++) {
    const hlm_bayes_stat *s = &b->stat[i];
    double row[8] = {s->mean, s->sd,   s->q025, s->q50,
                     s->q975, s->rhat, s->ess,  s->mcse};
    memcpy(&sum[(size_t)i * 8], row, sizeof row);
  }
  H5_CHECK(g = H5Gcreate2(f, "bayes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
           "cannot create the group /bayes");
  HLM_TRY(put_strings(g, "parameters", (const char *const *)b->name, b->npar));
  HLM_TRY(put_doubles(g, "draws", b->draws, b->npar,
                      (int64_t)b->chains * b->nkeep));
  HLM_TRY(put_doubles(g, "summary", sum, b->npar, 8));
  HLM_TRY(put_strings(g, "summary_columns",
                      (const char *const[]){"mean", "sd", "q2.5", "q50",
                                            "q97.5", "rhat", "ess", "mcse"},
                      8));
  if (b->fixed) {
    HLM_TRY(put_strings(g, "held_names", (const char *const *)b->vc_name,
                        b->nvc + 1 + b->ncor));
    HLM_TRY(put_doubles(g, "held_variances", b->held, b->nvc + 1 + b->ncor, 0));
  }
  HLM_TRY(
      put_strings(g, "ranef_group", (const char *const *)b->re_group, b->nre));
  HLM_TRY(put_strings(g, "ranef_effect", (const char *const *)b->re_effect,
                      b->nre));
  HLM_TRY(
      put_strings(g, "ranef_level", (const char *const *)b->re_label, b->nre));
  HLM_TRY(put_doubles(g, "ranef_mean", b->re_mean, b->nre, 0));
  HLM_TRY(put_doubles(g, "ranef_sd", b->re_sd, b->nre, 0));
cleanup:
  if (g >= 0)
    H5Gclose(g);
  free(sum);
  return status;
}

hlm_status hlm_bayes_write_h5(const hlm_bayes *b, const hlm_config *cfg,
                              const char *config_text)
{
  hlm_status status = HLM_OK;
  char tmp[4096];
  hid_t f = H5I_INVALID_HID;
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", cfg->results, (long)getpid());
  H5_CHECK(f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
           "cannot create the results file %s", tmp);
  HLM_TRY(write_root(f, cfg, config_text, b));
  HLM_TRY(write_bayes(f, b));
  herr_t rc = H5Fclose(f);
  f = H5I_INVALID_HID;
  H5_CHECK(rc, "cannot close the results file %s", tmp);
  if (!cfg->overwrite && access(cfg->results, F_OK) == 0) {
    HLM_CHECK(0, HLM_ERR_IO,
              "the results file %s appeared during the fit; the new "
              "results are in %s",
              cfg->results, tmp);
  }
  HLM_CHECK(rename(tmp, cfg->results) == 0, HLM_ERR_IO,
            "cannot rename %s to %s", tmp, cfg->results);
cleanup:
  if (f >= 0) {
    H5Fclose(f);
  }
  if (status != HLM_OK && status != HLM_ERR_IO) {
    unlink(tmp);
  }
  return status;
}
