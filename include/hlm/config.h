/*
 * hlm/config.h: a user's config.toml turned into validated settings.
 *
 * One schema (src/config_schema.c) lists every key: its section, type,
 * default, allowed values and whether it is implemented.  It is the single
 * source of truth: the validator, the run header and docs/config.md (checked
 * by a test) all follow it.  Keys of features that are not built yet are
 * known to the validator and refused with "not implemented yet"; unknown
 * keys are errors that list the valid keys and suggest the closest one.
 *
 * All functions here are Local: every rank reads the (small) config file
 * itself; callers agree on the outcome with hlm_comm_agree.
 */
#ifndef HLM_CONFIG_H
#define HLM_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "hlm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hlm_method {
  HLM_METHOD_REML = 0,
  HLM_METHOD_ML,
  HLM_METHOD_BAYES
} hlm_method;

/* In the order of the schema's choices ("newton|bobyqa"). */
typedef enum hlm_optimizer {
  HLM_OPTIMIZER_NEWTON = 0,
  HLM_OPTIMIZER_BOBYQA
} hlm_optimizer;

/* [inference] df: denominator degrees of freedom of t tests. */
typedef enum hlm_df_method {
  HLM_DF_SATTERTHWAITE = 0,
  HLM_DF_RESIDUAL,
  HLM_DF_ASYMPTOTIC,
  HLM_DF_DESIGN /* not a choice of [inference] df: a survey design's
                   PSUs minus strata (docs/survey.md) */
} hlm_df_method;

/* One [[contrast]]: sum_k coef[k] * (fixed effect coef_name[k]).  Names
 * are checked against the model's fixed effects after the design is built
 * (hlm_infer); line/column say where each name was written. */
typedef struct hlm_config_contrast {
  char *name;
  int line, column; /* of the [[contrast]] table */
  int ncoef;
  char **coef_name;
  double *coef;
  int *coef_line, *coef_column;
} hlm_config_contrast;

/* One [[lrt]]: a likelihood-ratio test of the model against another,
 * nested one, given by its formula or by a term of the model to drop
 * (exactly one of formula and drop is set; docs/inference.md). */
typedef struct hlm_config_lrt {
  char *name;
  char *formula;
  char *drop;
  int line, column; /* of the [[lrt]] table */
} hlm_config_lrt;

/* An inline table of numbers by name ({ genotypeB = 1, x = 2.5 }), with
 * where each name was written. */
typedef struct hlm_config_numtab {
  int n;
  char **name;
  double *value;
  int *line, *column;
} hlm_config_numtab;

/* An array of arrays of numbers ([[1, 0.5], [0.5, 2]]), row by row, with
 * where the array and each row were written (src/config_matrix.c). */
typedef struct hlm_config_matrix {
  int nrow;
  int *ncol;     /* nrow: length of each row */
  double *value; /* the rows one after another */
  int line, column;
  int *row_line, *row_column; /* nrow */
  int number; /* a single number s was written (meaning s I): value[0],
                 nrow 0 (KEY_SCALE_MATRIX) */
} hlm_config_matrix;

/* Validated settings of the features built so far; later issues add
 * fields as they turn their keys on.  Strings are owned by the config (NULL
 * when unset and without default).  Paths are resolved relative to the
 * config file's directory. */
typedef struct hlm_config {
  char *path; /* the config file */
  /* [data] */
  char *data_file;
  char *data_group;
  char *cluster;  /* partition factor; NULL = chosen from the data */
  char *weights;  /* precision weights column (lme4's weights=) or NULL */
  char *known_sd; /* known residual SD column (sigma = 1) or NULL */
  /* [model] */
  char *formula;
  int formula_line, formula_column; /* where the formula text starts */
  hlm_method method;
  /* [estimation] */
  double tolerance;
  int64_t max_iterations;
  int64_t scalapack_threshold; /* dim S above it: ScaLAPACK (issue 15) */
  hlm_optimizer optimizer;
  int accept_nonconvergence; /* a fit that did not converge exits 0 */
  double watchdog_seconds;   /* progress deadline; 0: off (issue 17) */
  /* [inference] */
  hlm_df_method infer_df;
  double confidence_level;
  int profile; /* profile-likelihood intervals (src/profile.h) */
  /* [[contrast]] */
  int ncontrast;
  hlm_config_contrast *contrast;
  /* [[lrt]] */
  int nlrt;
  hlm_config_lrt *lrt;
  /* [output] */
  char *summary_json; /* NULL: no JSON summary */
  char *results;      /* HDF5 results file (docs/results-format.md) or NULL */
  char *draws;        /* CSV of the kept draws (method bayes) or NULL */
  int results_fitted; /* write fitted values and residuals per row */
  int overwrite;      /* replace an existing results file */
  /* [checkpoint] */
  char *checkpoint; /* checkpoint file (docs/checkpoints.md) or NULL */
  int64_t checkpoint_interval;
  /* [bayes] and [bayes.prior] (docs/bayes.md) */
  int64_t bayes_chains, bayes_iterations, bayes_warmup, bayes_thin;
  int64_t bayes_seed;
  int bayes_fixed_variances; /* test mode: variances held at the REML fit */
  int bayes_expansion;       /* half-t group SDs: 0 parameter expansion (Gelman
                                2006), 1 auxiliary inverse-gamma mixture */
  hlm_config_numtab prior_beta_mean, prior_beta_variance;
  hlm_config_matrix prior_beta_covariance; /* full B (nrow 0: not given) */
  double prior_variance_shape, prior_variance_scale;
  double prior_residual_shape, prior_residual_scale;
  /* [survey] (docs/survey.md); survey_scaling and survey_se index the
   * schema's choices ("size|effective|none", "robust|model") */
  char *survey_weight1;
  char *survey_weight2;
  int survey_scaling;
  char *survey_strata;
  char *survey_psu;
  char *survey_fpc;
  int survey_se;
  int prior_group_sd; /* 0 inverse-gamma (on the variance), 1 half-Cauchy,
                         2 half-t (on the SD) */
  double prior_group_sd_scale, prior_group_sd_df; /* 0: not given */
  double prior_wishart_df;                        /* 0: not given (k + 1) */
  /* Psi of the inverse-Wishart prior: s I (number) or a matrix */
  hlm_config_matrix prior_wishart_scale;
  /* which keys were given (1) or defaulted (0), by schema index */
  unsigned char *given;
} hlm_config;

/* Read and validate `path`.  On failure *out is NULL and the error record
 * says `file:line:column: what is wrong`; features documented but not built
 * give HLM_ERR_NOT_IMPLEMENTED. */
hlm_status hlm_config_load(const char *path, hlm_config **out);

/* Parse a config from memory (for tests); `name` is used in messages and
 * `dir` is the directory relative paths are resolved against (may be NULL:
 * the current directory). */
hlm_status hlm_config_load_string(const char *text, const char *name,
                                  const char *dir, hlm_config **out);

/* Local.  1 when [survey] gives a design (weight1, weight2, psu or
 * strata): a pseudo-ML fit with design-based SEs (docs/survey.md). */
int hlm_config_survey(const hlm_config *cfg);

/* Free (NULL-safe; sets *cfg to NULL). */
void hlm_config_destroy(hlm_config **cfg);

/* Print every setting with its value, marking defaults, for the run header. */
void hlm_config_print(const hlm_config *cfg, FILE *out);

/* The schema, for docs and tests: number of keys, and key i as
 * "section.key", its type name, default (or "" when none), and status
 * (NULL when implemented, else the reason, e.g. "issue 9"). */
int hlm_config_schema_count(void);
void hlm_config_schema_key(int i, const char **name, const char **type,
                           const char **def, const char **planned);

/* The closest of `n` candidate words to `word` by edit distance, or NULL if
 * none is close enough to be a plausible misspelling. */
const char *hlm_closest_word(const char *word, const char *const *candidates,
                             int n);

#ifdef __cplusplus
}
#endif
#endif /* HLM_CONFIG_H */
