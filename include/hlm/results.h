/*
 * hlm/results.h: the HDF5 results file of a fit (docs/results-format.md)
 * and atomic output files.
 *
 * The results file is written by every rank with parallel HDF5 (MPI-IO):
 * the replicated parts (fixed effects, variance components, statistics,
 * optimizer, inference) by rank 0 in collective transfers, the conditional
 * modes of each rank's clusters and, optionally, the fitted values and
 * residuals of each rank's rows by that rank at offsets from an exclusive
 * prefix sum over ranks.  It is written to a temporary name in the same
 * directory ("PATH.tmp.<job>.<pid>"), closed, and renamed to PATH by rank 0
 * only when every rank agrees that the write succeeded; on any failure the
 * temporary is removed, so PATH holds either nothing, the previous complete
 * file, or the new complete file.
 */
#ifndef HLM_RESULTS_H
#define HLM_RESULTS_H

#include <mpi.h>

#include "hlm/config.h"
#include "hlm/data.h"
#include "hlm/design.h"
#include "hlm/error.h"
#include "hlm/fit.h"
#include "hlm/infer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Collective on comm.  Before the fit: when cfg names a results file,
 * rank 0 checks that its directory exists and is writable and that no
 * file exists under its name (unless [output] overwrite = true); an
 * existing file is HLM_ERR_IO.  Rank 0 also reads the config file's text,
 * which every rank receives in *config_text (malloc'ed; NULL without a
 * results file) for the file's `config` attribute.  Agreed on all ranks. */
hlm_status hlm_results_check_target(MPI_Comm comm, const hlm_config *cfg,
                                    char **config_text);

/* What the results file is made of.  Nothing is owned. */
typedef struct hlm_results_input {
  const hlm_config *cfg;       /* results path, fitted, overwrite, data */
  const char *config_text;     /* the config file's text (may be NULL) */
  const hlm_table *table;      /* this rank's rows (the design's) */
  const hlm_design *design;    /* the design the fit used */
  const hlm_fit *fit;          /* the fit */
  const hlm_infer *infer;      /* tests and contrasts, or NULL */
  const hlm_infer_options *io; /* the options of `infer` (df, level) */
  const double *contrast_L;    /* ncontrast x nfixed, row-major, or NULL */
} hlm_results_input;

/* Collective on comm (the design's).  Write in->cfg->results atomically
 * (see above).  Errors are agreed on all ranks; after a failure no file
 * and no temporary is left under the results name. */
hlm_status hlm_results_write(MPI_Comm comm, const hlm_results_input *in);

/* Local (rank 0).  The JSON summary (docs/results-json.md) of f and, when
 * inf is not NULL, its "inference" object, written to a temporary name in
 * path's directory and renamed to path; the temporary is removed on
 * failure. */
hlm_status hlm_results_write_json(const hlm_fit *f, const hlm_infer *inf,
                                  const char *path);

#ifdef __cplusplus
}
#endif
#endif /* HLM_RESULTS_H */
