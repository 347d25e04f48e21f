/* infer_anova.c: joint F tests of the fixed terms, as lmerTest 3.1's
 * anova() (docs/inference.md): the hypothesis matrices of
 * extract_contrasts_type3 (type III; type I, get_contrasts_type1, for
 * models with at most one term, as lmerTest falls back), and contestMD's
 * F statistic with Satterthwaite's df from the eigen-decomposition of
 * L V L'. */
#include <float.h>
#include <gsl/gsl_cdf.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "design_internal.h"
#include "fit_internal.h"
#include "hlm/comm.h"
#include "infer_internal.h"

#define NOTE_CODING                                                            \
  "F tests (type III hypotheses) are not implemented yet (issue 9) for "       \
  "models without an intercept or with a term whose margins are not all in "   \
  "the model (write a * b, not a + a:b)"

/* One column of lmerTest's rdX (all levels of every factor): its term
 * (-1: the intercept) and the level (position among used levels) of each
 * variable of the term (0 for numeric variables). */
typedef struct rdcol {
  int term;
  int lev[16];
} rdcol;

/* R's zapsmall(x, digits = 7) over n values. */
static void zapsmall(double *x, size_t n)
{
  double mx = 0.0;
  for (size_t i = 0; i < n; i++) {
    mx = fabs(x[i]) > mx ? fabs(x[i]) : mx;
  }
  if (mx <= 0.0) {
    return;
  }
  double dig = 7.0 - ceil(log10(mx));
  double sc = pow(10.0, dig < 0 ? 0 : dig);
  for (size_t i = 0; i < n; i++) {
    x[i] = round(x[i] * sc) / sc;
  }
}

static int nlev_of(const hlm_mm_var *v)
{
  return v->factor ? v->nused : 1;
}

/* The X term with exactly the variables vars[0..nv) (any order), or -1. */
static int find_term(const hlm_mm *mm, const int *vars, int nv)
{
  for (int t = 0; t < mm->nterms; t++) {
    int same = mm->t[t].nvars == nv;
    for (int k = 0; same && k < nv; k++) {
      int found = 0;
      for (int i = 0; i < nv; i++) {
        found |= mm->t[t].v[i].fvar == vars[k];
      }
      same = found;
    }
    if (same) {
      return t;
    }
  }
  return -1;
}

/* Column of X for term t with level lev_of(fvar) of each variable
 * (treatment coding: level 0 has no column). */
static int x_column(const hlm_mm *mm, int t, const int *fvar, const int *lev,
                    int nv)
{
  int idx = 0, mult = 1;
  const hlm_mm_term *tm = &mm->t[t];
  for (int k = 0; k < tm->nvars; k++) {
    if (!tm->v[k].factor) {
      continue;
    }
    for (int i = 0; i < nv; i++) {
      if (fvar[i] == tm->v[k].fvar) {
        idx += (lev[i] - 1) * mult;
      }
    }
    mult *= tm->v[k].nused - 1;
  }
  return tm->off + idx;
}

/* Every factor of every term coded by treatment contrasts, an intercept:
 * the codings for which we build type III hypotheses. */
static int treatment_coded(const hlm_mm *mm)
{
  for (int t = 0; t < mm->nterms; t++) {
    for (int k = 0; k < mm->t[t].nvars; k++) {
      if (mm->t[t].v[k].factor && !mm->t[t].v[k].contrasts) {
        return 0;
      }
    }
  }
  return mm->intercept && mm->nterms > 0;
}

/* Row `row` of L' (r x p): rdX column c in the X basis.  I(f = base) =
 * 1 - sum_l I(f = l) and I(f = l) = X's indicator of l; each factor of c's
 * term either drops out (choice 0, base level only) or keeps a level. */
static int expand_rdcol(const hlm_mm *mm, const rdcol *c, double *row)
{
  const hlm_mm_term *tm = &mm->t[c->term];
  int nv = tm->nvars, ch[16] = {0}, fv[16], lv[16];
  for (;;) {
    double coef = 1.0;
    int nk = 0, ok = 1;
    for (int k = 0; k < nv; k++) {
      const hlm_mm_var *v = &tm->v[k];
      if (v->factor && c->lev[k] > 0 && ch[k] != c->lev[k]) {
        ok = 0;
      }
      if (v->factor && c->lev[k] == 0 && ch[k] > 0) {
        coef = -coef;
      }
      if (!v->factor || ch[k] > 0) {
        fv[nk] = v->fvar;
        lv[nk++] = ch[k];
      }
    }
    if (ok && nk == 0) {
      row[0] += coef;
    } else if (ok) {
      int t = find_term(mm, fv, nk);
      if (t < 0) {
        return -1;
      }
      row[x_column(mm, t, fv, lv, nk)] += coef;
    }
    int k = 0;
    while (k < nv && (!tm->v[k].factor || ++ch[k] == tm->v[k].nused)) {
      ch[k++] = 0;
    }
    if (k == nv) {
      return 0;
    }
  }
}

/* The rdX columns: the intercept, then each term's level combinations,
 * first variable fastest. */
static hlm_status rdx_columns(const hlm_mm *mm, rdcol **out, int *r)
{
  hlm_status status = HLM_OK;
  int n = 1;
  for (int t = 0; t < mm->nterms; t++) {
    int w = 1;
    HLM_CHECK(mm->t[t].nvars <= 16, HLM_ERR_NOT_IMPLEMENTED,
              "F tests of interactions of more than 16 variables");
    for (int k = 0; k < mm->t[t].nvars; k++) {
      w *= nlev_of(&mm->t[t].v[k]);
    }
    n += w;
  }
  HLM_ALLOC(*out, n);
  (*out)[0].term = -1;
  *r = 1;
  for (int t = 0; t < mm->nterms; t++) {
    rdcol c = {.term = t};
    int nv = mm->t[t].nvars, k = 0;
    do {
      (*out)[(*r)++] = c;
      for (k = 0; k < nv && ++c.lev[k] == nlev_of(&mm->t[t].v[k]); k++) {
        c.lev[k] = 0;
      }
    } while (k < nv);
  }
cleanup:
  return status;
}

/* lmerTest's term_contain: a's variables a proper subset of b's, with the
 * same numeric variables. */
static int contains(const hlm_mm_term *a, const hlm_mm_term *b)
{
  if (b->nvars <= a->nvars) {
    return 0;
  }
  for (int k = 0; k < a->nvars; k++) {
    int found = 0;
    for (int i = 0; i < b->nvars; i++) {
      found |= b->v[i].fvar == a->v[k].fvar;
    }
    if (!found) {
      return 0;
    }
  }
  int na = 0, nb = 0;
  for (int k = 0; k < a->nvars; k++) {
    na += !a->v[k].factor;
  }
  for (int k = 0; k < b->nvars; k++) {
    nb += !b->v[k].factor;
  }
  return na == nb;
}

/* Columns cols[0..nc) of Lt (r x p, column-major) replaced by their
 * residuals from the least-squares fit on columns by[0..nb) (lm.fit's
 * resid), then zapsmall'ed together. */
static hlm_status orthogonalize(double *Lt, int r, const int *cols, int nc,
                                const int *by, int nb)
{
  hlm_status status = HLM_OK;
  double *X = NULL, *Y = NULL, *s = NULL;
  lapack_int rank = 0;
  HLM_ALLOC(X, (size_t)r * nb);
  HLM_ALLOC(Y, (size_t)r * nc);
  HLM_ALLOC(s, nb);
  for (int j = 0; j < nb; j++) {
    memcpy(&X[(size_t)r * j], &Lt[(size_t)r * by[j]], r * sizeof *X);
  }
  for (int j = 0; j < nc; j++) {
    memcpy(&Y[(size_t)r * j], &Lt[(size_t)r * cols[j]], r * sizeof *Y);
  }
  int info =
      LAPACKE_dgelsd(LAPACK_COL_MAJOR, r, nb, nc, X, r, Y, r, s, 1e-7, &rank);
  HLM_LAPACK_CHECK(info, "dgelsd", "orthogonalizing a type III hypothesis");
  for (int j = 0; j < nc; j++) {
    double *col = &Lt[(size_t)r * cols[j]];
    for (int i = 0; i < r; i++) {
      double fit = 0.0;
      for (int k = 0; k < nb; k++) {
        fit += Lt[(size_t)r * by[k] + i] * Y[(size_t)r * j + k];
      }
      col[i] -= fit;
    }
  }
  /* zapsmall over the residual block as a whole */
  for (int j = 0; j < nc; j++) {
    memcpy(&Y[(size_t)r * j], &Lt[(size_t)r * cols[j]], r * sizeof *Y);
  }
  zapsmall(Y, (size_t)r * nc);
  for (int j = 0; j < nc; j++) {
    memcpy(&Lt[(size_t)r * cols[j]], &Y[(size_t)r * j], r * sizeof *Y);
  }
cleanup:
  free(X);
  free(Y);
  free(s);
  return status;
}

/* Type III orthogonalization, higher-order terms first: each term's
 * columns of Lt against those of the terms that contain it. */
static hlm_status orthogonalize_terms(const hlm_mm *mm, double *Lt, int r)
{
  hlm_status status = HLM_OK;
  int *cols = NULL, *by = NULL, maxorder = 0;
  HLM_ALLOC(cols, mm->ncols);
  HLM_ALLOC(by, mm->ncols);
  for (int t = 0; t < mm->nterms; t++) {
    maxorder = mm->t[t].nvars > maxorder ? mm->t[t].nvars : maxorder;
  }
  for (int order = maxorder; order >= 1; order--) {
    for (int t = 0; t < mm->nterms; t++) {
      const hlm_mm_term *a = &mm->t[t];
      int nb = 0;
      if (a->nvars != order) {
        continue;
      }
      for (int u = 0; u < mm->nterms; u++) {
        for (int c = 0; contains(a, &mm->t[u]) && c < mm->t[u].ncols; c++) {
          by[nb++] = mm->t[u].off + c;
        }
      }
      for (int c = 0; c < a->ncols; c++) {
        cols[c] = a->off + c;
      }
      if (nb > 0) {
        HLM_TRY(orthogonalize(Lt, r, cols, a->ncols, by, nb));
      }
    }
  }
cleanup:
  free(cols);
  free(by);
  return status;
}

/* The rdX column named as X column j: the same term, non-base levels. */
static int rd_of_x(const hlm_mm *mm, const rdcol *rd, int r, int j)
{
  if (j == 0) {
    return 0;
  }
  for (int i = 1; i < r; i++) {
    const hlm_mm_term *tm = &mm->t[rd[i].term];
    int idx = 0, mult = 1, base = 0;
    for (int k = 0; k < tm->nvars; k++) {
      if (tm->v[k].factor) {
        base |= rd[i].lev[k] == 0;
        idx += (rd[i].lev[k] - 1) * mult;
        mult *= tm->v[k].nused - 1;
      }
    }
    if (!base && tm->off + idx == j) {
      return i;
    }
  }
  return -1;
}

/* Term t's hypothesis: row a (a column of the term) is column a of Lt
 * restricted to the rows named as X's columns; zero rows dropped. */
static hlm_status term_hypothesis(const hlm_mm *mm, const rdcol *rd, int r,
                                  const double *Lt, int t, hlm_infer *inf)
{
  hlm_status status = HLM_OK;
  int p = mm->ncols, n = 0;
  double *L = NULL;
  HLM_ALLOC(L, (size_t)mm->t[t].ncols * p);
  for (int a = 0; a < mm->t[t].ncols; a++) {
    double *row = &L[(size_t)n * p], sum = 0.0;
    for (int j = 0; j < p; j++) {
      int i = rd_of_x(mm, rd, r, j);
      HLM_CHECK(i >= 0, HLM_ERR_INTERNAL, "no rdX column for X column %d", j);
      row[j] = Lt[i + (size_t)r * (mm->t[t].off + a)];
      sum += fabs(row[j]);
    }
    n += sum > 1e-8;
  }
  inf->anova[t].nrow = n;
  inf->anova_L[t] = L;
  L = NULL;
cleanup:
  free(L);
  return status;
}

/* lmerTest's extract_contrasts_type3 for treatment-coded X. */
static hlm_status type3(const hlm_mm *mm, hlm_infer *inf)
{
  hlm_status status = HLM_OK;
  rdcol *rd = NULL;
  double *Lt = NULL;
  int r = 0, p = mm->ncols;
  HLM_TRY(rdx_columns(mm, &rd, &r));
  HLM_ALLOC(Lt, (size_t)r * p);
  for (int i = 0; i < r; i++) {
    double *row = NULL;
    HLM_ALLOC(row, p);
    int bad = rd[i].term >= 0 ? expand_rdcol(mm, &rd[i], row) : 0;
    if (rd[i].term < 0) {
      row[0] = 1.0;
    }
    for (int j = 0; j < p; j++) {
      Lt[i + (size_t)r * j] = row[j];
    }
    free(row);
    if (bad) {
      HLM_TRY(hlm_fit_strdup(NOTE_CODING, &inf->anova_note));
      goto cleanup;
    }
  }
  zapsmall(Lt, (size_t)r * p);
  HLM_TRY(orthogonalize_terms(mm, Lt, r));
  for (int t = 0; t < mm->nterms; t++) {
    HLM_TRY(term_hypothesis(mm, rd, r, Lt, t, inf));
  }
  inf->anova_type = "III";
cleanup:
  free(rd);
  free(Lt);
  return status;
}

/* Collective.  Unweighted X'X over all ranks (lmerTest's crossprod of
 * model.matrix), p x p column-major. */
static hlm_status crossprod_x(MPI_Comm comm, const hlm_design *d, double *XtX)
{
  hlm_status status = HLM_OK;
  int p = d->p;
  memset(XtX, 0, (size_t)p * p * sizeof *XtX);
  for (int64_t i = 0; i < d->n; i++) {
    const double *x = &d->X[i * p];
    double w = d->sqrtw ? d->sqrtw[i] : 1.0, w2 = w * w;
    for (int b = 0; b < p; b++) {
      for (int a = 0; a < p; a++) {
        XtX[a + (size_t)p * b] += x[a] * x[b] / w2;
      }
    }
  }
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, XtX, p * p, MPI_DOUBLE, MPI_SUM, comm));
  /* the same bits everywhere */
  HLM_MPI(MPI_Bcast(XtX, p * p, MPI_DOUBLE, 0, comm));
cleanup:
  return status;
}

/* lmerTest's get_contrasts_type1: rows of t(L), X'X = L D L' (Doolittle),
 * i.e. row j of the Cholesky factor R (X'X = R'R) over R_jj. */
static hlm_status type1(const hlm_mm *mm, double *XtX, hlm_infer *inf)
{
  hlm_status status = HLM_OK;
  int p = mm->ncols;
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', p, XtX, p);
  HLM_LAPACK_CHECK(info, "dpotrf", "the type I hypotheses (X'X)");
  for (int t = 0; t < mm->nterms; t++) {
    const hlm_mm_term *tm = &mm->t[t];
    HLM_ALLOC(inf->anova_L[t], (size_t)tm->ncols * p);
    inf->anova[t].nrow = tm->ncols;
    for (int a = 0; a < tm->ncols; a++) {
      int j = tm->off + a;
      for (int k = j; k < p; k++) {
        inf->anova_L[t][(size_t)a * p + k] =
            XtX[j + (size_t)p * k] / XtX[j + (size_t)p * j];
      }
    }
  }
  inf->anova_type = "I";
cleanup:
  return status;
}

/* lmerTest's get_Fstat_ddf. */
static double fstat_ddf(const double *nu, int q)
{
  int same = 1;
  double mean = 0.0, E = 0.0;
  for (int m = 0; m < q; m++) {
    /* equal (exactly, for the infinite df of z tests) */
    same &= m == 0 || nu[m] == nu[m - 1] || fabs(nu[m] - nu[m - 1]) < 1e-8;
    mean += nu[m] / q;
  }
  if (q == 1 || same) {
    return q == 1 ? nu[0] : mean;
  }
  for (int m = 0; m < q; m++) {
    if (nu[m] <= 2.0) {
      return 2.0;
    }
    E += nu[m] / (nu[m] - 2.0);
  }
  return 2.0 * E / (E - q);
}

/* Denominator df of the test of row l (p values), by inf->df. */
static hlm_status row_ddf(const hlm_infer *inf, const double *l, double *df)
{
  double var = 0.0;
  if (inf->df == HLM_DF_SATTERTHWAITE) {
    return hlm_infer_satterthwaite(inf, l, &var, df);
  }
  *df = inf->df == HLM_DF_RESIDUAL ? (double)(inf->nobs - inf->p)
        : inf->df == HLM_DF_DESIGN ? inf->design_df
                                   : INFINITY;
  return HLM_OK;
}

/* F, q and the per-direction df: eigen-decomposition of L V L' (lmerTest's
 * contestMD; one row is contest1D's t^2). */
static hlm_status contest_md(const hlm_infer *inf, const double *L, int nr,
                             double *F, int *q, double *nu)
{
  hlm_status status = HLM_OK;
  int p = inf->p;
  double *M = NULL, *w = NULL, *row = NULL;
  HLM_ALLOC(M, (size_t)nr * nr);
  HLM_ALLOC(w, nr);
  HLM_ALLOC(row, p);
  for (int a = 0; a < nr; a++) {
    for (int b = 0; b < nr; b++) {
      double s = 0.0;
      for (int i = 0; i < p; i++) {
        for (int j = 0; j < p; j++) {
          s += L[(size_t)a * p + i] * inf->V[i + (size_t)p * j] *
               L[(size_t)b * p + j];
        }
      }
      M[a + (size_t)nr * b] = s;
    }
  }
  int info = LAPACKE_dsyev(LAPACK_COL_MAJOR, 'V', 'L', nr, M, nr, w);
  HLM_LAPACK_CHECK(info, "dsyev", "eigenvalues of L V L'");
  double tol = fmax(sqrt(DBL_EPSILON) * w[nr - 1], 0.0);
  *q = 0;
  *F = 0.0;
  for (int e = nr - 1; e >= 0 && w[e] > tol; e--) {
    double est = 0.0;
    for (int j = 0; j < p; j++) {
      row[j] = 0.0;
      for (int a = 0; a < nr; a++) {
        row[j] += M[a + (size_t)nr * e] * L[(size_t)a * p + j];
      }
      est += row[j] * inf->beta[j];
    }
    if (nr == 1) {
      memcpy(row, L, p * sizeof *row);
    }
    *F += est * est / w[e];
    HLM_TRY(row_ddf(inf, row, &nu[(*q)++]));
  }
  *F /= *q > 0 ? *q : 1;
cleanup:
  free(M);
  free(w);
  free(row);
  return status;
}

static hlm_status one_ftest(hlm_infer *inf, int t)
{
  hlm_status status = HLM_OK;
  hlm_infer_ftest *ft = &inf->anova[t];
  double F = NAN, *nu = NULL;
  int q = 0;
  ft->L = inf->anova_L[t];
  ft->sum_sq = ft->mean_sq = ft->num_df = ft->den_df = ft->F = ft->p = NAN;
  if (ft->nrow == 0) {
    goto cleanup;
  }
  HLM_ALLOC(nu, ft->nrow);
  HLM_TRY(contest_md(inf, ft->L, ft->nrow, &F, &q, nu));
  if (q == 0) {
    goto cleanup;
  }
  ft->F = F;
  ft->num_df = q;
  ft->den_df = fstat_ddf(nu, q);
  ft->mean_sq = F * inf->sigma * inf->sigma;
  ft->sum_sq = ft->mean_sq * q;
  if (isinf(ft->den_df)) {
    ft->p = gsl_cdf_chisq_Q(F * q, q);
  } else {
    ft->p = gsl_cdf_fdist_Q(F, q, ft->den_df);
  }
cleanup:
  free(nu);
  return status;
}

/* Term labels as R's terms() writes them. */
static hlm_status term_labels(const hlm_formula *f, hlm_infer *inf)
{
  hlm_status status = HLM_OK;
  for (int t = 0; t < inf->nanova; t++) {
    const hlm_formula_term *ft = hlm_formula_fixed_term(f, t);
    size_t len = hlm_formula_term_format(ft, NULL, 0) + 1;
    HLM_ALLOC(inf->anova_term[t], len);
    hlm_formula_term_format(ft, inf->anova_term[t], len);
    inf->anova[t].term = inf->anova_term[t];
  }
cleanup:
  return status;
}

hlm_status hlm_infer_anova_run(MPI_Comm comm, const hlm_design *d,
                               const hlm_infer_options *o, hlm_infer *inf)
{
  hlm_status status = HLM_OK;
  const hlm_mm *mm = &d->xmm;
  double *XtX = NULL;
  if (o->formula == NULL || mm->nterms == 0) {
    return HLM_OK;
  }
  HLM_CHECK(hlm_formula_fixed_count(o->formula) == mm->nterms,
            HLM_ERR_INVALID_ARG, "the formula is not the design's");
  inf->nanova = mm->nterms;
  HLM_ALLOC(inf->anova, mm->nterms);
  HLM_ALLOC(inf->anova_term, mm->nterms);
  HLM_ALLOC(inf->anova_L, mm->nterms);
  HLM_TRY(term_labels(o->formula, inf));
  if (mm->ncols <= 1 || mm->nterms <= 1) {
    HLM_ALLOC(XtX, (size_t)mm->ncols * mm->ncols);
    HLM_TRY(crossprod_x(comm, d, XtX));
    HLM_TRY(type1(mm, XtX, inf));
  } else if (treatment_coded(mm)) {
    HLM_TRY(type3(mm, inf));
  } else {
    HLM_TRY(hlm_fit_strdup(NOTE_CODING, &inf->anova_note));
  }
  for (int t = 0; inf->anova_type && t < mm->nterms; t++) {
    HLM_TRY(one_ftest(inf, t));
  }
cleanup:
  free(XtX);
  return status;
}

void hlm_infer_anova_free(hlm_infer *inf)
{
  for (int t = 0; t < inf->nanova; t++) {
    if (inf->anova_term) {
      free(inf->anova_term[t]);
    }
    if (inf->anova_L) {
      free(inf->anova_L[t]);
    }
  }
  free(inf->anova_term);
  free(inf->anova_L);
  free(inf->anova);
  free(inf->anova_note);
}

int hlm_infer_nanova(const hlm_infer *inf)
{
  return inf->anova_type ? inf->nanova : 0;
}

const hlm_infer_ftest *hlm_infer_anova(const hlm_infer *inf, int i)
{
  return i >= 0 && i < hlm_infer_nanova(inf) ? &inf->anova[i] : NULL;
}

const char *hlm_infer_anova_type(const hlm_infer *inf)
{
  return inf->anova_type;
}

const char *hlm_infer_anova_note(const hlm_infer *inf)
{
  return inf->anova_note;
}
