/* config_schema.c: every section and key of config.toml, in one table.
 * docs/config.md documents exactly these (tests/config checks it). */
#include <stddef.h>

#include "config_internal.h"

#define F(member) offsetof(hlm_config, member)
#define NONE ((size_t)-1)

const hlm_section_spec hlm_sections[] = {
    {"data", 0, NULL, "where the data are and how they are grouped"},
    {"model", 0, NULL, "the model formula and the estimation method"},
    {"estimation", 0, NULL, "optimizer settings"},
    {"inference", 0, "issue 9", "degrees of freedom and intervals"},
    {"output", 0, NULL, "what to write and where"},
    {"checkpoint", 0, "issue 10", "checkpoints for long fits"},
    {"contrast", 1, "issue 9", "linear combinations of fixed effects"},
    {"lrt", 1, "issue 9", "likelihood-ratio tests against other models"},
    {"bayes", 0, "issue 11", "the Bayesian fit"},
    {"bayes.prior", 0, "issue 11", "priors of the Bayesian fit"},
    {"survey", 0, "issue 13", "sampling weights and design"},
    {"simulate", 0, "issue 14", "synthetic data (hlm-mpi simulate's file)"},
};
const int hlm_nsections = sizeof hlm_sections / sizeof hlm_sections[0];

const hlm_key_spec hlm_keys[] = {
    /* [data] */
    {"data", "file", KEY_PATH, NULL, NULL, NULL, F(data_file),
     "HDF5 data file (docs/data-format.md), relative to the config file"},
    {"data", "group", KEY_STRING, "data", NULL, NULL, F(data_group),
     "group of the data set inside the file"},
    {"data", "cluster", KEY_STRING, NULL, NULL, NULL, F(cluster),
     "partition factor: rows are split over ranks by its levels"},
    {"data", "weights", KEY_STRING, NULL, NULL, "issue 8", NONE,
     "precision weights column (lme4's weights=)"},
    {"data", "known_sd", KEY_STRING, NULL, NULL, "issue 8", NONE,
     "known residual SD column (group-means model)"},
    /* [model] */
    {"model", "formula", KEY_STRING, NULL, NULL, NULL, F(formula),
     "lme4 model formula (docs/formula.md)"},
    {"model", "method", KEY_CHOICE, "reml", "reml|ml|bayes:issue 11", NULL,
     F(method), "estimation method"},
    /* [estimation] */
    {"estimation", "tolerance", KEY_FLOAT, "1e-10", NULL, NULL, F(tolerance),
     "convergence tolerance on each variance parameter theta (absolute)"},
    {"estimation", "max_iterations", KEY_INT, "10000", NULL, NULL,
     F(max_iterations), "most criterion evaluations before giving up"},
    {"estimation", "optimizer", KEY_CHOICE, "bobyqa", "bobyqa|newton:issue 7",
     NULL, F(optimizer), "optimizer of the variance parameters"},
    {"estimation", "accept_nonconvergence", KEY_BOOL, "false", NULL, "issue 7",
     NONE, "report a fit that did not converge with exit status 0"},
    {"estimation", "scalapack_threshold", KEY_INT, "2000", NULL, "issue 15",
     NONE, "dimension of the global system above which ScaLAPACK solves it"},
    /* [inference] */
    {"inference", "df", KEY_CHOICE, "satterthwaite",
     "satterthwaite|residual|asymptotic", "issue 9", NONE,
     "denominator degrees of freedom"},
    {"inference", "confidence_level", KEY_FLOAT, "0.95", NULL, "issue 9", NONE,
     "level of confidence intervals"},
    /* [output] */
    {"output", "summary", KEY_PATH, NULL, NULL, NULL, F(summary_json),
     "JSON summary file (docs/results-json.md)"},
    {"output", "results", KEY_PATH, NULL, NULL, "issue 10", NONE,
     "HDF5 results file"},
    {"output", "fitted", KEY_BOOL, "false", NULL, "issue 10", NONE,
     "write fitted values and residuals per row"},
    /* [checkpoint] */
    {"checkpoint", "path", KEY_PATH, NULL, NULL, "issue 10", NONE,
     "checkpoint file"},
    {"checkpoint", "interval", KEY_INT, "10", NULL, "issue 10", NONE,
     "iterations between checkpoints"},
    /* [[contrast]] */
    {"contrast", "name", KEY_STRING, NULL, NULL, "issue 9", NONE,
     "label of the contrast"},
    {"contrast", "coefficients", KEY_NUMBER_TABLE, NULL, NULL, "issue 9", NONE,
     "multipliers by fixed-effect name, e.g. { genotypeB = 1 }"},
    /* [[lrt]] */
    {"lrt", "name", KEY_STRING, NULL, NULL, "issue 9", NONE,
     "label of the test"},
    {"lrt", "formula", KEY_STRING, NULL, NULL, "issue 9", NONE,
     "the other (nested) model"},
    {"lrt", "drop", KEY_STRING, NULL, NULL, "issue 9", NONE,
     "a term to drop instead of a second formula"},
    /* [bayes] */
    {"bayes", "chains", KEY_INT, "4", NULL, "issue 11", NONE,
     "independent chains"},
    {"bayes", "iterations", KEY_INT, "2000", NULL, "issue 11", NONE,
     "draws per chain, warm-up included"},
    {"bayes", "warmup", KEY_INT, "1000", NULL, "issue 11", NONE,
     "draws discarded at the start of each chain"},
    {"bayes", "thin", KEY_INT, "1", NULL, "issue 11", NONE,
     "keep every thin-th draw"},
    {"bayes", "seed", KEY_INT, "1", NULL, "issue 11", NONE,
     "seed of the counter-based random numbers"},
    {"bayes", "fixed_variances", KEY_BOOL, "false", NULL, "issue 11", NONE,
     "test mode: hold variances at given values, draw only the rest"},
    /* [bayes.prior] */
    {"bayes.prior", "beta_mean", KEY_NUMBER_TABLE, NULL, NULL, "issue 11", NONE,
     "prior mean b of the fixed effects, by name (default 0)"},
    {"bayes.prior", "beta_variance", KEY_NUMBER_TABLE, NULL, NULL, "issue 11",
     NONE, "prior variances (diagonal of B), by name (default flat)"},
    {"bayes.prior", "variance_shape", KEY_FLOAT, NULL, NULL, "issue 11", NONE,
     "inverse-gamma shape of each variance component"},
    {"bayes.prior", "variance_scale", KEY_FLOAT, NULL, NULL, "issue 11", NONE,
     "inverse-gamma scale of each variance component"},
    {"bayes.prior", "residual_shape", KEY_FLOAT, NULL, NULL, "issue 11", NONE,
     "inverse-gamma shape of the residual variance"},
    {"bayes.prior", "residual_scale", KEY_FLOAT, NULL, NULL, "issue 11", NONE,
     "inverse-gamma scale of the residual variance"},
    {"bayes.prior", "group_sd", KEY_CHOICE, "inverse-gamma",
     "inverse-gamma|half-cauchy|half-t", "issue 12", NONE,
     "prior family of group standard deviations"},
    {"bayes.prior", "group_sd_scale", KEY_FLOAT, NULL, NULL, "issue 12", NONE,
     "scale of the half-Cauchy / half-t prior"},
    /* [survey] */
    {"survey", "weight1", KEY_STRING, NULL, NULL, "issue 13", NONE,
     "level-1 weight column (conditional on the cluster)"},
    {"survey", "weight2", KEY_STRING, NULL, NULL, "issue 13", NONE,
     "level-2 (cluster) weight column"},
    {"survey", "scaling", KEY_CHOICE, "size", "size|effective|none", "issue 13",
     NONE, "scaling of level-1 weights"},
    {"survey", "strata", KEY_STRING, NULL, NULL, "issue 13", NONE,
     "stratum column"},
    {"survey", "psu", KEY_STRING, NULL, NULL, "issue 13", NONE,
     "primary sampling unit column (default: the cluster)"},
    /* [simulate] (in hlm-mpi simulate's own file) */
    {"simulate", "rows", KEY_INT, NULL, NULL, "issue 14", NONE,
     "number of rows"},
    {"simulate", "clusters", KEY_INT, NULL, NULL, "issue 14", NONE,
     "number of top-level clusters"},
    {"simulate", "subclusters", KEY_INT, "0", NULL, "issue 14", NONE,
     "nested sub-clusters per cluster"},
    {"simulate", "crossed_levels", KEY_INT, "0", NULL, "issue 14", NONE,
     "levels of a crossed factor"},
    {"simulate", "covariates", KEY_INT, "1", NULL, "issue 14", NONE,
     "number of covariates"},
    {"simulate", "seed", KEY_INT, "1", NULL, "issue 14", NONE, "random seed"},
};
const int hlm_nkeys = sizeof hlm_keys / sizeof hlm_keys[0];
