/*
 * hlm/simulate.h: synthetic cluster-sampled data (`hlm-mpi simulate SIM.toml
 * OUT.h5`), written in parallel in the layout of docs/data-format.md, with
 * the true parameters beside the data (docs/simulate.md).
 *
 * The data depend only on the settings and the seed, never on the rank
 * count: every random number comes from Philox (Random123) keyed by (seed,
 * stream) with the cluster and the row inside the cluster as the counter.
 */
#ifndef HLM_SIMULATE_H
#define HLM_SIMULATE_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "hlm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The [simulate] section of SIM.toml (keys: src/config_schema.c). */
typedef struct hlm_sim_config {
  char *path; /* the SIM.toml file */
  int64_t rows, clusters, subclusters, crossed_levels, covariates, seed;
  double size_sd;                           /* SD of log cluster size */
  double intercept, slope;                  /* beta_0; beta_k = slope / k */
  double cluster_sd, slope_sd, correlation; /* (1 + x1 | school) */
  double subcluster_sd;                     /* (1 | school:class) */
  double crossed_sd;                        /* (1 | rater) */
  double residual_sd;                       /* sigma */
  int weights;                              /* write precision weights `w` */
  unsigned char *given;                     /* keys given, by schema index */
} hlm_sim_config;

/* Local.  Read and validate SIM.toml (only a [simulate] section); errors
 * name file:line:column, suggest the closest key for a misspelt one. */
hlm_status hlm_sim_config_load(const char *path, hlm_sim_config **out);

/* Local.  The same from memory (tests); `name` is used in messages. */
hlm_status hlm_sim_config_load_string(const char *text, const char *name,
                                      hlm_sim_config **out);

/* Local.  NULL-safe; sets *cfg to NULL. */
void hlm_sim_config_destroy(hlm_sim_config **cfg);

/* Local.  The lme4 formula of the generating model, e.g.
 * "y ~ x1 + x2 + (1 + x1 | school)", into buf (len bytes). */
void hlm_sim_formula(const hlm_sim_config *cfg, char *buf, size_t len);

/* Collective on comm.  Generate the data set and write it to `out_path`
 * (which must not exist) with collective MPI-IO; rank 0 prints a summary
 * to `log` (may be NULL).  Ends with an agreement across ranks. */
hlm_status hlm_simulate(MPI_Comm comm, const hlm_sim_config *cfg,
                        const char *out_path, FILE *log);

#ifdef __cplusplus
}
#endif
#endif /* HLM_SIMULATE_H */
