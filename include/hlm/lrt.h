/*
 * hlm/lrt.h: likelihood-ratio tests of the model against nested models
 * ([[lrt]] in the config; docs/inference.md), as lme4's anova(m0, m1).
 *
 * Each test fits both models on the same rows and partition.  Models that
 * differ in their fixed effects are compared by ML (REML fits are refitted
 * by ML, as lme4's anova does); models that differ only in their random
 * terms are compared by the config's method (REML by default, as lme4's
 * anova(m0, m1, refit = FALSE)).  The reference distribution is
 * chi-square(df), or, when the larger model adds one variance (a new
 * random term with one effect) or one correlated effect to a random term
 * with k effects, the boundary mixture 50:50 chi-square(k) /
 * chi-square(k + 1) (k = 0 for a single variance).
 */
#ifndef HLM_LRT_H
#define HLM_LRT_H

#include <mpi.h>
#include <stdio.h>

#include "hlm/config.h"
#include "hlm/data.h"
#include "hlm/design.h"
#include "hlm/error.h"
#include "hlm/fit.h"
#include "hlm/formula.h"
#include "hlm/partition.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hlm_lrt hlm_lrt;

/* One model of a test: its formula and lme4's anova() columns. */
typedef struct hlm_lrt_model {
  const char *formula;
  int npar;
  double aic, bic, loglik, deviance; /* deviance: -2 logLik (REML or ML) */
} hlm_lrt_model;

typedef struct hlm_lrt_test {
  const char *name;
  int reml;              /* 1: both compared by REML; 0: by ML */
  hlm_lrt_model m0;      /* the smaller model */
  hlm_lrt_model m1;      /* the larger model */
  double chisq;          /* deviance(m0) - deviance(m1) */
  int df;                /* npar(m1) - npar(m0) */
  double p_chisq;        /* P(chi-square(df) > chisq), as lme4 prints */
  int mix;               /* -1: chi-square(df); else 50:50 mixture of
                            chi-square(mix) and chi-square(mix + 1) */
  double p;              /* p-value from the reference distribution */
  const char *reference; /* the reference distribution in words */
} hlm_lrt_test;

/* Collective on comm.  Run every [[lrt]] of cfg against the model f, on
 * table t partitioned into clusters cl (as hlm_design_create_opt, with the
 * residual structure dopt), fitting with the options fo (its reml flag is
 * set per test).  A formula that does not parse, a term to drop that is
 * not in the model, models that are not nested or that use variables the
 * model does not: HLM_ERR_CONFIG naming the config file and the test.
 * *out is owned by the caller.  Errors are agreed on all ranks. */
hlm_status hlm_lrt_run(MPI_Comm comm, const hlm_config *cfg,
                       const hlm_formula *f, const hlm_table *t,
                       const hlm_clusters *cl, const hlm_design_options *dopt,
                       const hlm_fit_options *fo, hlm_lrt **out);

/* Local.  NULL-safe; sets *l to NULL. */
void hlm_lrt_destroy(hlm_lrt **l);

int hlm_lrt_count(const hlm_lrt *l);
const hlm_lrt_test *hlm_lrt_get(const hlm_lrt *l, int i);

/* Local (rank 0).  The tests as tables like lme4's anova(m0, m1). */
hlm_status hlm_lrt_print(const hlm_lrt *l, FILE *out);

/* Local (rank 0).  Add an "lrt" array (docs/results-json.md) to the JSON
 * summary at path. */
hlm_status hlm_lrt_write_json(const hlm_lrt *l, const char *path);

/* Local (rank 0).  hlm_lrt_print to out, then, when json_path is not
 * NULL, hlm_lrt_write_json. */
hlm_status hlm_lrt_output(const hlm_lrt *l, FILE *out, const char *json_path);

#ifdef __cplusplus
}
#endif
#endif /* HLM_LRT_H */
