/* design_model.c: model-matrix columns from formula terms, as R's
 * model.matrix builds them (coding rules of R's TermCode, names of lme4's
 * coefficients). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "design_internal.h"
#include "hlm/comm.h"

static int table_col(const hlm_table *t, const char *name)
{
  for (int j = 0; j < hlm_table_ncols(t); j++) {
    if (!strcmp(hlm_table_column(t, j)->name, name)) {
      return j;
    }
  }
  return -1;
}

/* Levels of factor variable v used on any rank. */
static hlm_status mm_used_levels(MPI_Comm comm, const hlm_table *t,
                                 hlm_mm_var *v)
{
  hlm_status status = HLM_OK;
  const hlm_column *c = hlm_table_column(t, v->col);
  int *flag = NULL;
  v->ncodes = c->nlevels;
  HLM_ALLOC(flag, c->nlevels);
  for (int64_t i = 0; i < hlm_table_nrows(t); i++) {
    if (c->code[i] >= 0 && c->code[i] < c->nlevels) {
      flag[c->code[i]] = 1;
    }
  }
  HLM_MPI(
      MPI_Allreduce(MPI_IN_PLACE, flag, c->nlevels, MPI_INT, MPI_MAX, comm));
  HLM_ALLOC(v->upos, c->nlevels);
  HLM_ALLOC(v->used, c->nlevels);
  v->nused = 0;
  for (int32_t l = 0; l < c->nlevels; l++) {
    v->upos[l] = flag[l] ? v->nused : -1;
    if (flag[l]) {
      v->used[v->nused++] = l;
    }
  }
cleanup:
  free(flag);
  return status;
}

static int term_has(const hlm_formula_term *t, int fvar)
{
  for (int k = 0; k < t->nvars; k++) {
    if (t->var[k] == fvar) {
      return 1;
    }
  }
  return 0;
}

/* R's TermCode: factor `drop` of term j is coded by contrasts when the term
 * without it is empty or contained in a preceding term. */
static int term_code_contrasts(const hlm_formula_term *term, int j, int drop)
{
  const hlm_formula_term *tj = &term[j];
  if (tj->nvars == 1) {
    return 1;
  }
  for (int i = 0; i < j; i++) {
    int inside = 1;
    for (int k = 0; k < tj->nvars && inside; k++) {
      if (tj->var[k] != drop && !term_has(&term[i], tj->var[k])) {
        inside = 0;
      }
    }
    if (inside) {
      return 1;
    }
  }
  return 0;
}

/* R's model.matrix without an intercept: the first factor of the first term
 * that has one (variables in model-frame order) gets indicators. */
static void mm_no_intercept_rule(hlm_mm *mm)
{
  for (int j = 0; j < mm->nterms; j++) {
    hlm_mm_var *best = NULL;
    for (int k = 0; k < mm->t[j].nvars; k++) {
      hlm_mm_var *v = &mm->t[j].v[k];
      if (v->factor && v->nused > 1 && (!best || v->fvar < best->fvar)) {
        best = v;
      }
    }
    if (best) {
      best->contrasts = 0;
      return;
    }
  }
}

static int var_width(const hlm_mm_var *v)
{
  if (!v->factor) {
    return 1;
  }
  return v->contrasts ? v->nused - 1 : v->nused;
}

/* Name of column `idx` of term tm: variables joined by ':', first fastest;
 * a factor's name followed by the level's label. */
static hlm_status mm_col_name(const hlm_formula *f, const hlm_table *t,
                              const hlm_mm_term *tm, int idx, char **out)
{
  hlm_status status = HLM_OK;
  size_t len = 1;
  char *s = NULL;
  for (int k = 0; k < tm->nvars; k++) {
    len += strlen(hlm_formula_variable(f, tm->v[k].fvar)->name) + 1;
    if (tm->v[k].factor) {
      const hlm_column *c = hlm_table_column(t, tm->v[k].col);
      int w = var_width(&tm->v[k]);
      int pos = idx % w + (tm->v[k].contrasts ? 1 : 0);
      len += strlen(c->levels[tm->v[k].used[pos]]);
    }
  }
  HLM_ALLOC(s, len);
  for (int k = 0; k < tm->nvars; k++) {
    int w = var_width(&tm->v[k]);
    if (k > 0) {
      strcat(s, ":");
    }
    strcat(s, hlm_formula_variable(f, tm->v[k].fvar)->name);
    if (tm->v[k].factor) {
      const hlm_column *c = hlm_table_column(t, tm->v[k].col);
      int pos = idx % w + (tm->v[k].contrasts ? 1 : 0);
      strcat(s, c->levels[tm->v[k].used[pos]]);
    }
    idx /= w;
  }
  *out = s;
cleanup:
  return status;
}

static hlm_status mm_term_vars(MPI_Comm comm, const hlm_formula *f,
                               const hlm_table *t, double *const *dvals,
                               const hlm_formula_term *ft, hlm_mm_term *tm)
{
  hlm_status status = HLM_OK;
  HLM_ALLOC(tm->v, ft->nvars);
  tm->nvars = ft->nvars;
  for (int k = 0; k < ft->nvars; k++) {
    hlm_mm_var *v = &tm->v[k];
    const hlm_formula_var *fv = hlm_formula_variable(f, ft->var[k]);
    v->fvar = ft->var[k];
    if (fv->derived != HLM_FORMULA_COLUMN) {
      v->col = -1;
      v->dval = dvals ? dvals[ft->var[k]] : NULL;
      HLM_CHECK(v->dval != NULL, HLM_ERR_INTERNAL,
                "the values of `%s` were not computed", fv->name);
      continue;
    }
    v->col = table_col(t, ft->name[k]);
    if (v->col < 0) {
      status = hlm_formula_error_at(f, fv->offset, HLM_ERR_DATA,
                                    "the data has no column '%s'", ft->name[k]);
      goto cleanup;
    }
    v->factor = hlm_table_column(t, v->col)->type == HLM_COL_CATEGORICAL;
    if (v->factor) {
      HLM_TRY(mm_used_levels(comm, t, v));
    }
  }
cleanup:
  return status;
}

static hlm_status mm_names(const hlm_formula *f, const hlm_table *t, hlm_mm *mm)
{
  hlm_status status = HLM_OK;
  HLM_ALLOC(mm->name, mm->ncols);
  if (mm->intercept) {
    HLM_ALLOC(mm->name[0], 12);
    strcpy(mm->name[0], "(Intercept)");
  }
  for (int j = 0; j < mm->nterms; j++) {
    for (int c = 0; c < mm->t[j].ncols; c++) {
      HLM_TRY(mm_col_name(f, t, &mm->t[j], c, &mm->name[mm->t[j].off + c]));
    }
  }
cleanup:
  return status;
}

hlm_status hlm_mm_build(MPI_Comm comm, const hlm_formula *f, const hlm_table *t,
                        double *const *dvals, int intercept,
                        const hlm_formula_term *term, int nterms, hlm_mm *mm)
{
  hlm_status status = HLM_OK;
  memset(mm, 0, sizeof *mm);
  mm->intercept = intercept;
  HLM_ALLOC(mm->t, nterms);
  mm->nterms = nterms;
  for (int j = 0; j < nterms; j++) {
    HLM_TRY(mm_term_vars(comm, f, t, dvals, &term[j], &mm->t[j]));
    for (int k = 0; k < term[j].nvars; k++) {
      mm->t[j].v[k].contrasts = term_code_contrasts(term, j, term[j].var[k]);
    }
  }
  if (!intercept) {
    mm_no_intercept_rule(mm);
  }
  mm->ncols = intercept ? 1 : 0;
  for (int j = 0; j < nterms; j++) {
    mm->t[j].off = mm->ncols;
    mm->t[j].ncols = 1;
    for (int k = 0; k < mm->t[j].nvars; k++) {
      mm->t[j].ncols *= var_width(&mm->t[j].v[k]);
    }
    mm->ncols += mm->t[j].ncols;
  }
  HLM_TRY(mm_names(f, t, mm));
cleanup:
  return status;
}

void hlm_mm_free(hlm_mm *mm)
{
  if (mm == NULL) {
    return;
  }
  for (int j = 0; j < mm->nterms; j++) {
    for (int k = 0; k < mm->t[j].nvars; k++) {
      free(mm->t[j].v[k].upos);
      free(mm->t[j].v[k].used);
    }
    free(mm->t[j].v);
  }
  free(mm->t);
  for (int c = 0; mm->name && c < mm->ncols; c++) {
    free(mm->name[c]);
  }
  free(mm->name);
  memset(mm, 0, sizeof *mm);
}

static double numeric_value(const hlm_column *c, int64_t i)
{
  return c->type == HLM_COL_NUMERIC ? c->num[i] : (double)c->ival[i];
}

void hlm_mm_row(const hlm_mm *mm, const hlm_table *t, int64_t i, double *out)
{
  memset(out, 0, (size_t)mm->ncols * sizeof *out);
  if (mm->intercept) {
    out[0] = 1.0;
  }
  for (int j = 0; j < mm->nterms; j++) {
    const hlm_mm_term *tm = &mm->t[j];
    int idx = 0, mult = 1, zero = 0;
    double val = 1.0;
    for (int k = 0; k < tm->nvars && !zero; k++) {
      const hlm_mm_var *v = &tm->v[k];
      if (v->dval) {
        val *= v->dval[i];
        continue;
      }
      const hlm_column *c = hlm_table_column(t, v->col);
      if (!v->factor) {
        val *= numeric_value(c, i);
        continue;
      }
      int pos = v->upos[c->code[i]] - (v->contrasts ? 1 : 0);
      zero = pos < 0;
      idx += pos * mult;
      mult *= var_width(v);
    }
    if (!zero) {
      out[tm->off + idx] = val;
    }
  }
}
