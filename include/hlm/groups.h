/*
 * hlm/groups.h: the grouping factors of a model's random terms, examined in
 * the data: their levels, whether each is nested in the partition factor
 * (every level occurs inside one cluster: then the term is local to a
 * cluster, otherwise it is global), and the choice of the partition factor
 * when the config does not name one.
 *
 * Nesting is a property of the data, not of the formula: pastes reuses cask
 * labels a, b, c in every batch, so `cask` alone is not nested in `batch`,
 * while `batch:cask` is.
 */
#ifndef HLM_GROUPS_H
#define HLM_GROUPS_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "hlm/data.h"
#include "hlm/error.h"
#include "hlm/formula.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hlm_groups {
  int nfactors;     /* distinct grouping factors of the random terms */
  char **name;      /* "tray", "batch:cask" */
  int64_t *nlevels; /* levels that occur in the data */
  int *nested;      /* 1 if nested in the partition factor */
  char *partition;  /* the partition factor (a column name) */
  int automatic;    /* 1 if chosen from the data, 0 if from the config */
} hlm_groups;

/* Collective on comm.  Make every grouping variable of f a factor (integer
 * columns get levels sorted numerically), then examine the grouping factors
 * in t. `cluster` is the partition factor from the config, or NULL to choose
 * it: the variable, among those of the grouping factors, that every grouping
 * factor nests in (the one with most levels if several); when there is none
 * (crossed factors), the grouping variable with most levels.  Rows with
 * missing values must have been dropped.  Free with hlm_groups_free. */
hlm_status hlm_groups_examine(MPI_Comm comm, hlm_table *t, const hlm_formula *f,
                              const char *cluster, hlm_groups *out);

/* Local. NULL-safe. */
void hlm_groups_free(hlm_groups *g);

/* Local.  Print the grouping factors, their levels and nesting. */
void hlm_groups_print(const hlm_groups *g, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* HLM_GROUPS_H */
