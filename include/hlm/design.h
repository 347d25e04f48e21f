/*
 * hlm/design.h: the model's matrices, cluster by cluster.
 *
 * From a parsed formula and a table partitioned by cluster
 * (hlm_partition_by_cluster), hlm_design_create() builds, for every cluster
 * j this rank owns,
 *
 *   - X_j: the fixed-effect model matrix, coded as R's model.matrix codes it
 *     (treatment contrasts with the first level as baseline, indicators
 *     where a term's margin is absent, interaction columns with the first
 *     variable varying fastest) and named as lme4 names the coefficients
 *     ("(Intercept)", "genotypeB", "nitro:VarietyMarvellous");
 *   - y_j: the response;
 *   - Z_j: for each random term, its effect columns times the levels of its
 *     grouping factor that occur in the cluster (levels of an interaction
 *     a:b are the combinations that occur).
 *
 * Rows keep their order.  Random terms are ordered as lme4 orders them
 * (by decreasing number of levels, when not already so), which fixes the
 * order of theta.  Every grouping factor must be nested in the clusters
 * (each of its levels in one cluster only) for its term to be local; a
 * term whose factor is not (a crossed factor such as penicillin's sample,
 * or a factor coarser than the clusters) is global: its effects join the
 * fixed effects in the global system (docs/estimation.md).
 *
 * The design does not keep a pointer to the table or the formula: both may
 * be destroyed after hlm_design_create().
 */
#ifndef HLM_DESIGN_H
#define HLM_DESIGN_H

#include <mpi.h>
#include <stdint.h>

#include "hlm/data.h"
#include "hlm/error.h"
#include "hlm/formula.h"
#include "hlm/partition.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hlm_design hlm_design;

/* Collective on comm.  Prepare a freshly read table for the design: make
 * every integer column that the formula uses as a grouping variable a factor
 * (hlm_table_make_factor), so that it can be the partition column.  Call it
 * before hlm_table_drop_missing and hlm_partition_by_cluster.  Errors: a
 * grouping variable that is missing from the table or numeric
 * (HLM_ERR_DATA). */
hlm_status hlm_design_prepare_table(MPI_Comm comm, const hlm_formula *f,
                                    hlm_table *t);

/* Collective on comm.  Build the design of formula f on table t, whose rows
 * are grouped into the clusters cl (from hlm_partition_by_cluster on the
 * same comm).  Every grouping variable must be categorical (see
 * hlm_design_prepare_table); rows with missing values must have been
 * dropped.  Errors, agreed on all ranks: a column the formula names that the
 * table lacks, a numeric grouping variable, a missing value (HLM_ERR_DATA);
 * a rank-deficient fixed-effect matrix, naming the dependent columns
 * (HLM_ERR_DATA); global terms with more than 4000 effects in all
 * (HLM_ERR_NOT_IMPLEMENTED).  *out is owned by the caller
 * (hlm_design_destroy). */
hlm_status hlm_design_create(MPI_Comm comm, const hlm_formula *f,
                             const hlm_table *t, const hlm_clusters *cl,
                             hlm_design **out);

/* Residual variance structure, Var[e_i] (docs/estimation.md):
 *   - neither set: sigma^2 (sigma estimated);
 *   - weights: the numeric column of lme4's precision weights w_i,
 *     Var[e_i] = sigma^2 / w_i (sigma estimated);
 *   - known_sd: the numeric column of known residual SDs s_i,
 *     Var[e_i] = s_i^2 (sigma fixed at 1; the group-means model).
 * Every value must be finite and positive. */
typedef struct hlm_design_options {
  const char *weights;
  const char *known_sd;
} hlm_design_options;

/* Collective on comm.  hlm_design_create with the residual variance
 * structure of o (NULL: sigma^2 I).  Errors as hlm_design_create, and a
 * weight or SD column that is missing, not numeric, or holds a value that
 * is not finite and positive (HLM_ERR_DATA, naming the column and the row
 * of the file). */
hlm_status hlm_design_create_opt(MPI_Comm comm, const hlm_formula *f,
                                 const hlm_table *t, const hlm_clusters *cl,
                                 const hlm_design_options *o, hlm_design **out);

/* Local.  Solve the global system g = (v_global, beta) distributed
 * (ScaLAPACK) when its dimension exceeds n, replicated (LAPACK) otherwise
 * ([estimation] scalapack_threshold; default 2000, or the environment's
 * HLM_SCALAPACK_THRESHOLD; 0 always distributes it). */
void hlm_design_set_scalapack_threshold(hlm_design *d, int64_t n);

/* Local.  1 when sigma is fixed at 1 (known_sd). */
int hlm_design_known_sd(const hlm_design *d);

/* Local.  Free a design (NULL-safe; sets *d to NULL). */
void hlm_design_destroy(hlm_design **d);

/* Local accessors (the same on every rank unless noted). */
/* The formula's text. */
const char *hlm_design_formula(const hlm_design *d);
int hlm_design_nfixed(const hlm_design *d);
/* Name of fixed-effect column j, as lme4 prints it. */
const char *hlm_design_fixed_name(const hlm_design *d, int j);
/* Number of random terms and of variance parameters theta. */
int hlm_design_nterms(const hlm_design *d);
int hlm_design_ntheta(const hlm_design *d);
/* Grouping factor of random term r ("Subject", "firm:sector"), its number
 * of effect columns and their names, and its number of levels. */
const char *hlm_design_term_group(const hlm_design *d, int r);
int hlm_design_term_ncols(const hlm_design *d, int r);
const char *hlm_design_term_colname(const hlm_design *d, int r, int k);
int64_t hlm_design_term_nlevels(const hlm_design *d, int r);
/* Rows over all ranks; rows and clusters on this rank (differ by rank). */
int64_t hlm_design_nobs(const hlm_design *d);
int64_t hlm_design_local_rows(const hlm_design *d);
int64_t hlm_design_local_clusters(const hlm_design *d);

#ifdef __cplusplus
}
#endif
#endif /* HLM_DESIGN_H */
