/* smallblas.c: plain loops for tiny BLAS and LAPACK calls (smallblas.h). */
#include "smallblas.h"

#include <lapacke.h>
#include <math.h>
#include <stddef.h>

/* Calls of at most this many multiply-adds, with a triangle of at most
 * SMALL_TRI rows, are done here. */
#define SMALL_FLOPS 4096.0
#define SMALL_TRI 32

static int small(double flops)
{
  return flops <= SMALL_FLOPS;
}

/* Element (i, l) of op(A). */
static double op_elem(const double *a, int lda, int trans, int i, int l)
{
  return trans ? a[l + (size_t)lda * i] : a[i + (size_t)lda * l];
}

void hlm_dgemm(CBLAS_LAYOUT layout, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb,
               int m, int n, int k, double alpha, const double *a, int lda,
               const double *b, int ldb, double beta, double *c, int ldc)
{
  if (layout != CblasColMajor || alpha == 0.0 || !small((double)m * n * k)) {
    cblas_dgemm(layout, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  int at = ta != CblasNoTrans, bt = tb != CblasNoTrans;
  for (int j = 0; j < n; j++) {
    for (int i = 0; i < m; i++) {
      double s = 0.0;
      for (int l = 0; l < k; l++) {
        s += op_elem(a, lda, at, i, l) * op_elem(b, ldb, bt, l, j);
      }
      double *cij = &c[i + (size_t)ldc * j];
      *cij = beta == 0.0 ? alpha * s : alpha * s + beta * *cij;
    }
  }
}

void hlm_dgemv(CBLAS_LAYOUT layout, CBLAS_TRANSPOSE ta, int m, int n,
               double alpha, const double *a, int lda, const double *x,
               int incx, double beta, double *y, int incy)
{
  if (layout != CblasColMajor || alpha == 0.0 || !small((double)m * n) ||
      incx < 1 || incy < 1) {
    cblas_dgemv(layout, ta, m, n, alpha, a, lda, x, incx, beta, y, incy);
    return;
  }
  int at = ta != CblasNoTrans, ny = at ? n : m, nx = at ? m : n;
  for (int i = 0; i < ny; i++) {
    double s = 0.0;
    for (int l = 0; l < nx; l++) {
      s += op_elem(a, lda, at, i, l) * x[(size_t)incx * l];
    }
    double *yi = &y[(size_t)incy * i];
    *yi = beta == 0.0 ? alpha * s : alpha * s + beta * *yi;
  }
}

void hlm_dsyrk(CBLAS_LAYOUT layout, CBLAS_UPLO uplo, CBLAS_TRANSPOSE trans,
               int n, int k, double alpha, const double *a, int lda,
               double beta, double *c, int ldc)
{
  if (layout != CblasColMajor || alpha == 0.0 ||
      !small(0.5 * n * (n + 1.0) * k)) {
    cblas_dsyrk(layout, uplo, trans, n, k, alpha, a, lda, beta, c, ldc);
    return;
  }
  /* C = alpha op(A) op(A)' + beta C: op(A) is A (n x k) or A' */
  int at = trans != CblasNoTrans, lower = uplo == CblasLower;
  for (int j = 0; j < n; j++) {
    for (int i = lower ? j : 0; i < (lower ? n : j + 1); i++) {
      double s = 0.0;
      for (int l = 0; l < k; l++) {
        s += op_elem(a, lda, at, i, l) * op_elem(a, lda, at, j, l);
      }
      double *cij = &c[i + (size_t)ldc * j];
      *cij = beta == 0.0 ? alpha * s : alpha * s + beta * *cij;
    }
  }
}

/* op(A) of a triangular A, as a lower (eff_lower) or upper triangle. */
typedef struct tri {
  const double *a;
  int lda, trans, lower, unit;
} tri;

static tri tri_make(const double *a, int lda, CBLAS_UPLO uplo,
                    CBLAS_TRANSPOSE ta, CBLAS_DIAG diag)
{
  tri t = {a, lda, ta != CblasNoTrans, 0, diag == CblasUnit};
  t.lower = (uplo == CblasLower) != t.trans;
  return t;
}

static double tri_elem(const tri *t, int i, int l)
{
  if (i == l && t->unit) {
    return 1.0;
  }
  return op_elem(t->a, t->lda, t->trans, i, l);
}

/* x (n entries, stride inc) := alpha op(A) x, through tmp. */
static void tri_mul(const tri *t, int n, double alpha, double *x, size_t inc,
                    double *tmp)
{
  for (int l = 0; l < n; l++) {
    tmp[l] = x[inc * l];
  }
  for (int i = 0; i < n; i++) {
    double s = 0.0;
    for (int l = t->lower ? 0 : i; l < (t->lower ? i + 1 : n); l++) {
      s += tri_elem(t, i, l) * tmp[l];
    }
    x[inc * i] = alpha * s;
  }
}

/* x := alpha x op(A) (x a row of n entries, stride inc), through tmp. */
static void tri_mul_right(const tri *t, int n, double alpha, double *x,
                          size_t inc, double *tmp)
{
  for (int l = 0; l < n; l++) {
    tmp[l] = x[inc * l];
  }
  for (int j = 0; j < n; j++) {
    double s = 0.0; /* sum over l of x_l op(A)_{l j} */
    for (int l = t->lower ? j : 0; l < (t->lower ? n : j + 1); l++) {
      s += tmp[l] * tri_elem(t, l, j);
    }
    x[inc * j] = alpha * s;
  }
}

/* Solve op(A) y = alpha x in place. */
static void tri_solve(const tri *t, int n, double alpha, double *x, size_t inc)
{
  for (int s = 0; s < n; s++) {
    int i = t->lower ? s : n - 1 - s;
    double v = alpha * x[inc * i];
    for (int l = t->lower ? 0 : i + 1; l < (t->lower ? i : n); l++) {
      v -= tri_elem(t, i, l) * x[inc * l];
    }
    x[inc * i] = v / tri_elem(t, i, i);
  }
}

/* Solve y op(A) = alpha x in place (x a row). */
static void tri_solve_right(const tri *t, int n, double alpha, double *x,
                            size_t inc)
{
  for (int s = 0; s < n; s++) {
    int j = t->lower ? n - 1 - s : s;
    double v = alpha * x[inc * j];
    for (int l = t->lower ? j + 1 : 0; l < (t->lower ? n : j); l++) {
      v -= x[inc * l] * tri_elem(t, l, j);
    }
    x[inc * j] = v / tri_elem(t, j, j);
  }
}

void hlm_dtrmm(CBLAS_LAYOUT layout, CBLAS_SIDE side, CBLAS_UPLO uplo,
               CBLAS_TRANSPOSE ta, CBLAS_DIAG diag, int m, int n, double alpha,
               const double *a, int lda, double *b, int ldb)
{
  int left = side == CblasLeft, na = left ? m : n;
  if (layout != CblasColMajor || na > SMALL_TRI ||
      !small(0.5 * na * (double)m * n)) {
    cblas_dtrmm(layout, side, uplo, ta, diag, m, n, alpha, a, lda, b, ldb);
    return;
  }
  double tmp[SMALL_TRI];
  tri t = tri_make(a, lda, uplo, ta, diag);
  if (left) {
    for (int j = 0; j < n; j++) {
      tri_mul(&t, m, alpha, &b[(size_t)ldb * j], 1, tmp);
    }
  } else {
    for (int i = 0; i < m; i++) {
      tri_mul_right(&t, n, alpha, &b[i], (size_t)ldb, tmp);
    }
  }
}

void hlm_dtrsm(CBLAS_LAYOUT layout, CBLAS_SIDE side, CBLAS_UPLO uplo,
               CBLAS_TRANSPOSE ta, CBLAS_DIAG diag, int m, int n, double alpha,
               const double *a, int lda, double *b, int ldb)
{
  int left = side == CblasLeft, na = left ? m : n;
  if (layout != CblasColMajor || na > SMALL_TRI ||
      !small(0.5 * na * (double)m * n)) {
    cblas_dtrsm(layout, side, uplo, ta, diag, m, n, alpha, a, lda, b, ldb);
    return;
  }
  tri t = tri_make(a, lda, uplo, ta, diag);
  if (left) {
    for (int j = 0; j < n; j++) {
      tri_solve(&t, m, alpha, &b[(size_t)ldb * j], 1);
    }
  } else {
    for (int i = 0; i < m; i++) {
      tri_solve_right(&t, n, alpha, &b[i], (size_t)ldb);
    }
  }
}

void hlm_dtrmv(CBLAS_LAYOUT layout, CBLAS_UPLO uplo, CBLAS_TRANSPOSE ta,
               CBLAS_DIAG diag, int n, const double *a, int lda, double *x,
               int incx)
{
  if (layout != CblasColMajor || n > SMALL_TRI || incx < 1) {
    cblas_dtrmv(layout, uplo, ta, diag, n, a, lda, x, incx);
    return;
  }
  double tmp[SMALL_TRI];
  tri t = tri_make(a, lda, uplo, ta, diag);
  tri_mul(&t, n, 1.0, x, (size_t)incx, tmp);
}

void hlm_dtrsv(CBLAS_LAYOUT layout, CBLAS_UPLO uplo, CBLAS_TRANSPOSE ta,
               CBLAS_DIAG diag, int n, const double *a, int lda, double *x,
               int incx)
{
  if (layout != CblasColMajor || n > SMALL_TRI || incx < 1) {
    cblas_dtrsv(layout, uplo, ta, diag, n, a, lda, x, incx);
    return;
  }
  tri t = tri_make(a, lda, uplo, ta, diag);
  tri_solve(&t, n, 1.0, x, (size_t)incx);
}

/* ---- LAPACK ---------------------------------------------------------- */

/* Element (i, j) of the lower triangle of a symmetric matrix stored in the
 * uplo triangle. */
static double *sym_at(double *a, int lda, int lower, int i, int j)
{
  return lower ? &a[i + (size_t)lda * j] : &a[j + (size_t)lda * i];
}

int hlm_dpotrf(int layout, char uplo, int n, double *a, int lda)
{
  if (layout != LAPACK_COL_MAJOR || n > SMALL_TRI) {
    return LAPACKE_dpotrf(layout, uplo, n, a, lda);
  }
  int lower = uplo == 'L' || uplo == 'l';
  for (int j = 0; j < n; j++) {
    double d = *sym_at(a, lda, lower, j, j);
    for (int l = 0; l < j; l++) {
      double v = *sym_at(a, lda, lower, j, l);
      d -= v * v;
    }
    if (!(d > 0.0)) { /* also NaN */
      return j + 1;
    }
    d = sqrt(d);
    *sym_at(a, lda, lower, j, j) = d;
    for (int i = j + 1; i < n; i++) {
      double v = *sym_at(a, lda, lower, i, j);
      for (int l = 0; l < j; l++) {
        v -= *sym_at(a, lda, lower, i, l) * *sym_at(a, lda, lower, j, l);
      }
      *sym_at(a, lda, lower, i, j) = v / d;
    }
  }
  return 0;
}

int hlm_dtrtri(int layout, char uplo, char diag, int n, double *a, int lda)
{
  /* upper: the same loops on the transpose (sym_at) */
  if (layout != LAPACK_COL_MAJOR || n > SMALL_TRI || diag != 'N') {
    return LAPACKE_dtrtri(layout, uplo, diag, n, a, lda);
  }
  int lower = uplo == 'L' || uplo == 'l';
  for (int j = 0; j < n; j++) {
    if (*sym_at(a, lda, lower, j, j) == 0.0) {
      return j + 1;
    }
  }
  /* lower: X = L^-1 column by column, from the last (column j of X needs
   * the columns of L only, and L's column j is replaced last) */
  for (int j = n - 1; j >= 0; j--) {
    double *ajj = sym_at(a, lda, lower, j, j);
    double xjj = 1.0 / *ajj;
    /* X_ij = -(sum_{l=j+1..i} X_il L_lj) / ... with X_il known (l > j) */
    double col[SMALL_TRI];
    for (int i = j + 1; i < n; i++) {
      double s = 0.0;
      for (int l = j + 1; l <= i; l++) {
        s += *sym_at(a, lda, lower, i, l) * *sym_at(a, lda, lower, l, j);
      }
      col[i] = -s * xjj;
    }
    for (int i = j + 1; i < n; i++) {
      *sym_at(a, lda, lower, i, j) = col[i];
    }
    *ajj = xjj;
  }
  return 0;
}

int hlm_dpotri(int layout, char uplo, int n, double *a, int lda)
{
  if (layout != LAPACK_COL_MAJOR || n > SMALL_TRI) {
    return LAPACKE_dpotri(layout, uplo, n, a, lda);
  }
  int lower = uplo == 'L' || uplo == 'l';
  int info = hlm_dtrtri(layout, uplo, 'N', n, a, lda);
  if (info != 0) {
    return info;
  }
  /* A^-1 = X' X with X = L^-1 lower: (i, j), i >= j, = sum_{l >= i} X_li X_lj;
   * ascending columns and rows only read entries not yet overwritten */
  for (int j = 0; j < n; j++) {
    for (int i = j; i < n; i++) {
      double s = 0.0;
      for (int l = i; l < n; l++) {
        s += *sym_at(a, lda, lower, l, i) * *sym_at(a, lda, lower, l, j);
      }
      *sym_at(a, lda, lower, i, j) = s;
    }
  }
  return 0;
}
