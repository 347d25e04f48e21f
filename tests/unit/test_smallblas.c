/* test_smallblas.c: the plain loops of src/smallblas.c against the real
 * BLAS and LAPACK, for every transpose/side/triangle variant, sizes 1 to 7
 * (and sizes that fall through to the BLAS), on random matrices. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <cmocka.h>
#include <lapacke.h>

#include "smallblas.h"

#define MAXN 48
#define LD (MAXN + 3) /* leading dimensions larger than the matrices */

static uint64_t seed = 12345;

static double unif(void)
{
  seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(seed >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static void fill(double *a, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    a[i] = unif();
  }
}

/* A triangular-friendly matrix: diagonal away from zero. */
static void fill_tri(double *a, int n)
{
  fill(a, (size_t)LD * LD);
  for (int i = 0; i < n; i++) {
    a[i + (size_t)LD * i] = 1.5 + fabs(unif());
  }
}

static void expect_close(const double *x, const double *y, size_t n, double tol)
{
  for (size_t i = 0; i < n; i++) {
    double scale = fmax(1.0, fabs(y[i]));
    if (!(fabs(x[i] - y[i]) <= tol * scale)) {
      fail_msg("entry %zu: %.17g vs BLAS %.17g", i, x[i], y[i]);
    }
  }
}

static const CBLAS_TRANSPOSE tr[2] = {CblasNoTrans, CblasTrans};
static const CBLAS_UPLO ul[2] = {CblasLower, CblasUpper};
static const CBLAS_SIDE sd[2] = {CblasLeft, CblasRight};
static const int sizes[] = {1, 2, 3, 5, 7, 20, 40};
#define NSIZES (int)(sizeof sizes / sizeof sizes[0])

static double A[LD * LD], B[LD * LD], C1[LD * LD], C2[LD * LD];

static void test_gemm_gemv_syrk(void **state)
{
  (void)state;
  for (int im = 0; im < NSIZES; im++) {
    for (int in = 0; in < NSIZES; in++) {
      int m = sizes[im], n = sizes[in], k = sizes[(im + in) % NSIZES];
      for (int t = 0; t < 4; t++) {
        fill(A, LD * LD);
        fill(B, LD * LD);
        fill(C1, LD * LD);
        memcpy(C2, C1, sizeof C1);
        double beta = t == 3 ? 0.0 : 0.7;
        hlm_dgemm(CblasColMajor, tr[t & 1], tr[t >> 1], m, n, k, -1.3, A, LD, B,
                  LD, beta, C1, LD);
        cblas_dgemm(CblasColMajor, tr[t & 1], tr[t >> 1], m, n, k, -1.3, A, LD,
                    B, LD, beta, C2, LD);
        expect_close(C1, C2, LD * LD, 1e-13);
        hlm_dgemv(CblasColMajor, tr[t & 1], m, n, 0.9, A, LD, B, 2, beta, C1,
                  3);
        cblas_dgemv(CblasColMajor, tr[t & 1], m, n, 0.9, A, LD, B, 2, beta, C2,
                    3);
        expect_close(C1, C2, LD * LD, 1e-13);
        hlm_dsyrk(CblasColMajor, ul[t & 1], tr[t >> 1], m, n, 1.1, A, LD, beta,
                  C1, LD);
        cblas_dsyrk(CblasColMajor, ul[t & 1], tr[t >> 1], m, n, 1.1, A, LD,
                    beta, C2, LD);
        expect_close(C1, C2, LD * LD, 1e-13);
      }
    }
  }
}

static void test_triangular(void **state)
{
  (void)state;
  for (int im = 0; im < NSIZES; im++) {
    for (int in = 0; in < NSIZES; in++) {
      int m = sizes[im], n = sizes[in];
      for (int v = 0; v < 16; v++) {
        CBLAS_SIDE side = sd[v & 1];
        CBLAS_UPLO uplo = ul[(v >> 1) & 1];
        CBLAS_TRANSPOSE ta = tr[(v >> 2) & 1];
        CBLAS_DIAG diag = (v >> 3) ? CblasUnit : CblasNonUnit;
        fill_tri(A, side == CblasLeft ? m : n);
        fill(C1, LD * LD);
        memcpy(C2, C1, sizeof C1);
        hlm_dtrmm(CblasColMajor, side, uplo, ta, diag, m, n, 0.8, A, LD, C1,
                  LD);
        cblas_dtrmm(CblasColMajor, side, uplo, ta, diag, m, n, 0.8, A, LD, C2,
                    LD);
        expect_close(C1, C2, LD * LD, 1e-13);
        hlm_dtrsm(CblasColMajor, side, uplo, ta, diag, m, n, -0.6, A, LD, C1,
                  LD);
        cblas_dtrsm(CblasColMajor, side, uplo, ta, diag, m, n, -0.6, A, LD, C2,
                    LD);
        expect_close(C1, C2, LD * LD, 1e-12);
        hlm_dtrmv(CblasColMajor, uplo, ta, diag, m, A, LD, C1, 2);
        cblas_dtrmv(CblasColMajor, uplo, ta, diag, m, A, LD, C2, 2);
        expect_close(C1, C2, LD * LD, 1e-12);
        hlm_dtrsv(CblasColMajor, uplo, ta, diag, m, A, LD, C1, 3);
        cblas_dtrsv(CblasColMajor, uplo, ta, diag, m, A, LD, C2, 3);
        expect_close(C1, C2, LD * LD, 1e-12);
      }
    }
  }
}

/* A symmetric positive definite matrix in both triangles. */
static void fill_spd(double *a, int n)
{
  fill(B, LD * LD);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0, B, LD, B,
              LD, 0.0, a, LD);
  for (int i = 0; i < n; i++) {
    a[i + (size_t)LD * i] += 0.5;
  }
}

static void test_lapack(void **state)
{
  (void)state;
  const char uplo[2] = {'L', 'U'};
  for (int in = 0; in < NSIZES; in++) {
    int n = sizes[in];
    for (int u = 0; u < 2; u++) {
      fill_spd(C1, n);
      memcpy(C2, C1, sizeof C1);
      assert_int_equal(hlm_dpotrf(LAPACK_COL_MAJOR, uplo[u], n, C1, LD), 0);
      assert_int_equal(LAPACKE_dpotrf(LAPACK_COL_MAJOR, uplo[u], n, C2, LD), 0);
      expect_close(C1, C2, LD * LD, 1e-12);
      memcpy(A, C1, sizeof C1);
      assert_int_equal(hlm_dtrtri(LAPACK_COL_MAJOR, uplo[u], 'N', n, A, LD), 0);
      memcpy(B, C2, sizeof C2);
      assert_int_equal(LAPACKE_dtrtri(LAPACK_COL_MAJOR, uplo[u], 'N', n, B, LD),
                       0);
      expect_close(A, B, LD * LD, 1e-11);
      assert_int_equal(hlm_dpotri(LAPACK_COL_MAJOR, uplo[u], n, C1, LD), 0);
      assert_int_equal(LAPACKE_dpotri(LAPACK_COL_MAJOR, uplo[u], n, C2, LD), 0);
      expect_close(C1, C2, LD * LD, 1e-10);
    }
  }
}

/* Not positive definite: the same leading minor as LAPACK; NaN fails. */
static void test_not_positive_definite(void **state)
{
  (void)state;
  for (int n = 1; n <= 7; n++) {
    for (int bad = 0; bad < n; bad++) {
      fill_spd(C1, n);
      C1[bad + (size_t)LD * bad] = -50.0;
      memcpy(C2, C1, sizeof C1);
      int mine = hlm_dpotrf(LAPACK_COL_MAJOR, 'L', n, C1, LD);
      int lapack = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', n, C2, LD);
      assert_true(mine > 0);
      assert_int_equal(mine, lapack);
    }
    fill_spd(C1, n);
    C1[(n - 1) + (size_t)LD * (n > 1 ? n - 2 : 0)] = NAN;
    assert_true(hlm_dpotrf(LAPACK_COL_MAJOR, 'L', n, C1, LD) != 0);
  }
  memset(C1, 0, sizeof C1);
  C1[0] = 1.0; /* a zero diagonal: singular triangle */
  assert_int_equal(hlm_dtrtri(LAPACK_COL_MAJOR, 'L', 'N', 2, C1, LD), 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gemm_gemv_syrk),
      cmocka_unit_test(test_triangular),
      cmocka_unit_test(test_lapack),
      cmocka_unit_test(test_not_positive_definite),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
