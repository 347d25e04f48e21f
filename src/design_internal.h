/* design_internal.h: the representation of hlm_design, shared by design.c,
 * design_model.c, design_groups.c, mme.c and fit.c.  Not installed. */
#ifndef HLM_DESIGN_INTERNAL_H
#define HLM_DESIGN_INTERNAL_H

#include <mpi.h>
#include <stdint.h>

#include "hlm/data.h"
#include "hlm/design.h"
#include "hlm/formula.h"

/* ---- model matrices from terms (design_model.c) ------------------------ */

/* One variable of a model-matrix term. */
typedef struct hlm_mm_var {
  int col;            /* column of the table */
  int fvar;           /* index among the formula's variables */
  int factor;         /* 1 when categorical */
  int contrasts;      /* factor: 1 = treatment contrasts, 0 = indicators */
  int32_t *upos;      /* factor: code -> position among used levels, or -1 */
  int32_t nused;      /* factor: levels that occur in the data */
  int32_t *used;      /* factor: codes of the used levels, ascending */
  int32_t ncodes;     /* factor: number of codes (table levels) */
  const double *dval; /* a derived variable (cwc(x, g), ...): its values
                         per row, owned by the design; col is then -1 */
} hlm_mm_var;

/* One term (a variable or an interaction) of a model matrix. */
typedef struct hlm_mm_term {
  int nvars;
  hlm_mm_var *v;
  int ncols; /* columns of the term (first variable varies fastest) */
  int off;   /* its first column in the model matrix */
} hlm_mm_term;

/* The columns of a model matrix (R's model.matrix) built from terms. */
typedef struct hlm_mm {
  int intercept;
  int nterms;
  hlm_mm_term *t;
  int ncols;
  char **name; /* column names as R prints them */
} hlm_mm;

/* Collective on comm.  Build the column layout for `intercept` plus the
 * terms term[0..nterms), with R's coding rules (treatment contrasts where
 * the term's margin is in the model, indicators otherwise) and the levels
 * used on any rank.  dvals[v] holds the values of derived formula variable
 * v (hlm_design_derived; dvals may be NULL when f has none); the layout
 * keeps pointers into it. */
hlm_status hlm_mm_build(MPI_Comm comm, const hlm_formula *f, const hlm_table *t,
                        double *const *dvals, int intercept,
                        const hlm_formula_term *term, int nterms, hlm_mm *mm);
void hlm_mm_free(hlm_mm *mm);
/* Local.  Row i of the model matrix into out[0..ncols). */
void hlm_mm_row(const hlm_mm *mm, const hlm_table *t, int64_t i, double *out);

/* ---- the design ---------------------------------------------------------- */

/* Largest global system (v_global and beta) the replicated dense solve
 * takes. */
#define HLM_DESIGN_MAX_GLOBAL 4000
/* Default [estimation] scalapack_threshold: larger global systems are
 * distributed (issue 15). */
#define HLM_DESIGN_SCALAPACK_THRESHOLD 2000

/* One random term, in lme4's order (decreasing number of levels). */
typedef struct hlm_reterm {
  char *group;       /* grouping factor as lme4 names it ("Variety:Block") */
  int ngvars;        /* variables of the grouping factor */
  char ***glevels;   /* per grouping variable: its level labels (copied) */
  int32_t *gnlevels; /* per grouping variable: number of labels */
  hlm_mm mm;         /* the effect columns ("(Intercept)", "Days") */
  int k;             /* number of effect columns */
  int correlated;    /* from the formula (|| gives 0) */
  int ntheta;        /* k (k + 1) / 2 */
  int theta_off;     /* first theta of this term */
  int64_t nlevels;   /* levels of the grouping factor over all ranks */
  int formula_index; /* position in the formula's random terms */
  int global;        /* 1: not nested in the clusters (crossed): its effects
                        are global unknowns, v_global */
  int64_t gfirst;    /* global: its first column in v_global */
  int64_t *gkeys;    /* global: the level keys, ascending (nlevels) */
} hlm_reterm;

/* One cluster's random-effect layout.  Columns of Z_j: for each local term
 * in order, for each of its levels present in the cluster (order of first
 * appearance), the term's k effect columns.  Global terms have nlev 0 here:
 * their columns belong to v_global (zlev then holds the global level). */
typedef struct hlm_dcluster {
  int64_t start, n; /* local rows start .. start + n - 1 */
  int64_t gindex;   /* global cluster position */
  int q;            /* columns of Z_j */
  int *nlev;        /* per term: levels present */
  int *zoff;        /* per term: first column of the term in Z_j */
  int32_t **lcodes; /* per term: nlev * ngvars codes of each level */
} hlm_dcluster;

struct hlm_design {
  char *formula; /* the formula's text */
  int p;
  hlm_mm xmm; /* fixed-effect columns */
  char *response;
  int nterms;
  hlm_reterm *term;
  int ntheta;
  int zwidth; /* sum of k over terms: Z entries per row */
  int64_t n;  /* local rows */
  int64_t nglobal;
  double *X;     /* n x p, row-major */
  double *y;     /* n */
  int32_t *zlev; /* n x nterms: level index within the row's cluster */
  double *zval;  /* n x zwidth: effect values of the row */
  int64_t ncl;
  hlm_dcluster *cl;
  int nfactors;       /* distinct grouping factors (for ngrps) */
  char **factor_name; /* their names, in term order of first use */
  int64_t *factor_nlev;
  int64_t qg;     /* columns of v_global: sum of nlevels * k, global terms */
  double *sqrtw;  /* n: square roots of the precision weights, or NULL;
                     X, y and zval are already multiplied by them */
  double sumlogw; /* sum of log w_i over all ranks (0 without weights) */
  double sumlogw_dd[2]; /* this rank's sum, double-double (ddsum.h) */
  int known_sd; /* 1: w_i = 1 / sd_i^2 from [data] known_sd, sigma = 1 */
  /* [survey] (survey.c): level-1 sampling weights are in sqrtw (rows
   * scaled like precision weights, but without sum log w); cw[j] is
   * cluster j's level-2 weight multiplying its whole contribution, and
   * nw = sum_j cw_j sum_i w_i|j replaces the row count in the criterion
   * (and cwsum = sum_j cw_j the count of levels in the EM step) */
  int survey;
  double *cw;
  double nw, cwsum;
  double **dvals; /* per formula variable: a derived variable's values on
                     this rank's rows (design_derived.c), else NULL */
  int ndvals;     /* formula variables (entries of dvals) */
  int64_t scalapack_threshold; /* G above it: S distributed (issue 15) */
};

/* Local.  The row count of the criterion: the weighted count nw of a
 * survey design, else the number of rows over all ranks. */
double hlm_design_ncrit(const hlm_design *d);

/* ---- derived variables (design_derived.c) -------------------------------- */

/* Collective on comm.  The values, on this rank's rows of t (grouped into
 * the clusters cl), of every derived variable of f: cmean(x, g), cwc(x, g)
 * and gmc(x) (docs/formula.md).  (*out)[v] for formula variable v; NULL for
 * data columns.  Errors, agreed on all ranks and naming the term: an
 * argument missing from the table, a categorical x, a numeric g, a missing
 * value (HLM_ERR_DATA).  Free with hlm_design_derived_free. */
hlm_status hlm_design_derived(MPI_Comm comm, const hlm_formula *f,
                              const hlm_table *t, const hlm_clusters *cl,
                              double ***out);
/* Local.  NULL-safe; sets *vals to NULL. */
void hlm_design_derived_free(double ***vals, int n);

/* ---- grouping factors (design_groups.c) ---------------------------------- */

/* Collective on comm.  Fill the cluster layouts (levels of every term in
 * every cluster, zlev of every row), check that every grouping factor is
 * nested in the clusters, count levels, and order the terms as lme4 does. */
hlm_status hlm_design_groups(MPI_Comm comm, const hlm_formula *f,
                             const hlm_table *t, const hlm_clusters *cl,
                             hlm_design *d);

/* Local.  Label of level l of term r in cluster c ("F1:S1"), written to buf
 * snprintf-style. */
size_t hlm_design_level_label(const hlm_design *d, int r, const hlm_dcluster *c,
                              int l, char *buf, size_t len);

/* Local (design_weights.c).  The precision weights of o (weights, or
 * 1 / known_sd^2) of this rank's rows: d->sqrtw, this rank's sum of
 * log w_i in d->sumlogw, and X, y and zval scaled by sqrt(w_i).  No-op
 * when o is NULL or names neither column. */
hlm_status hlm_design_weights(const hlm_table *t, const hlm_design_options *o,
                              hlm_design *d);

/* Local.  Label of level l (global order) of global term r. */
size_t hlm_design_global_label(const hlm_design *d, int r, int64_t l, char *buf,
                               size_t len);

#endif /* HLM_DESIGN_INTERNAL_H */
